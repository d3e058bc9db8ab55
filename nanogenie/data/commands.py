"""`nanogenie data {generate,info,import,download}`: each takes the parsed flags from nanogenie/cli.py."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nanogenie.data.hdf5 import VideoData, load_dataset, write_dataset
from nanogenie.errors import UserError


def generate(args: argparse.Namespace) -> None:
    """Play a simulator with its behaviour policy and save frames, true actions and episode ends."""
    from nanogenie.data.simulated import simulated_data

    data = simulated_data(args.env, args.frames, args.size, args.seed, args.policy, progress=True)
    write_dataset(args.out, data.frames, data.actions, data.episode_ends, fps=data.fps, source=data.source,
                  action_names=data.action_names)
    print(f"wrote {args.out}: {len(data)} frames of {args.size}x{args.size} at {data.fps} fps, "
          f"{len(data.episode_ends)} episodes, actions: {', '.join(data.action_names)}")


def info(args: argparse.Namespace) -> None:
    """Summarise a dataset; with --preview also save a contact sheet of frames sampled across it, with --colours
    list the colours of the small things that move in it."""
    data = load_dataset(args.file)
    print(describe(data))
    if args.colours:
        print(colours_text(data))
    if args.preview:
        from nanogenie.data.preview import save_contact_sheet

        try:
            save_contact_sheet(data.frames, args.preview)
        except OSError as err:
            raise UserError(f"{args.preview}: could not write the preview ({err}); check the folder exists")
        print(f"preview   {args.preview}")


def colours_text(data: VideoData) -> str:
    """The colours of small things that move in `data`, one line each with the flag that trains on it."""
    from nanogenie.data.colours import frame_pairs, sprite_colours

    pairs = frame_pairs(data.episodes())
    found = sprite_colours(data.frames[pairs], data.frames[pairs + 1])
    if not found:
        return ("colours   nothing small moves in a colour of its own (each colour of the frames is larger than a "
                "sprite, rarely shown or still)")
    lines = ["colours   of small things that move, the most often moving first (the player is usually one; "
             "train the latent actions on it with the flag beside it):"]
    for c in found:
        lines.append(f"  {c.rgb[0]:3d},{c.rgb[1]:3d},{c.rgb[2]:3d}   moves in {c.moving:4.0%} of frames, shown in "
                     f"{c.present:4.0%}, covers {c.area:.2%} of the frame   {c.focus_flag()}")
    return "\n".join(lines)


def import_video(args: argparse.Namespace) -> None:
    """Decode videos into square frames at --fps, with no actions: one episode per file, so that no transition
    joins the last frame of one recording to the first of the next."""
    from nanogenie.data.video import decode_video

    episodes = []
    for video in args.video:
        episodes.append(decode_video(video, args.size, args.fps, args.crop))
        if len(episodes[-1]) < 2:
            raise UserError(f"{video}: gives {len(episodes[-1])} frame at --fps {args.fps}, and an episode needs two "
                            f"for a transition; pass a longer video or a higher --fps")
    frames = np.concatenate(episodes)
    write_dataset(args.out, frames, episode_ends=np.cumsum([len(e) for e in episodes]), fps=args.fps,
                  source=", ".join(Path(video).name for video in args.video))
    sources = args.video[0] if len(args.video) == 1 else f"{len(args.video)} videos, one episode each"
    print(f"wrote {args.out}: {len(frames)} frames of {args.size}x{args.size} at {args.fps} fps "
          f"({len(frames) / args.fps:.1f} s) from {sources}")


def download(args: argparse.Namespace) -> None:
    """Fetch a TinyWorlds dataset from the hub, check that it loads, and summarise it."""
    from nanogenie.data.hub import download_tinyworlds

    path = download_tinyworlds(args.name, args.out)
    print(describe(load_dataset(path)))


def describe(data: VideoData) -> str:
    """A few aligned lines: where, how much, what episodes, where from, which actions."""
    num_frames, height, width, _ = data.frames.shape
    lengths = np.diff(data.episode_ends, prepend=0)
    lines = [
        f"path      {data.path}",
        f"frames    {num_frames} of {width}x{height} RGB at {data.fps} fps ({num_frames / data.fps / 60:.1f} min)",
        f"episodes  {len(lengths)} (length min {lengths.min()} / mean {lengths.mean():.1f} / max {lengths.max()})",
        f"source    {data.source or 'unknown'}",
    ]
    if data.actions is None:
        lines.append("actions   none (latent actions will be learned from the frames alone)")
    else:
        counts = np.bincount(data.actions[data.actions >= 0], minlength=len(data.action_names))
        shares = [f"{name} {100 * n / num_frames:.1f}%" for name, n in zip(data.action_names, counts)]
        unknown = int((data.actions < 0).sum())
        lines.append(f"actions   {'  '.join(shares)}  (unknown/last frame {100 * unknown / num_frames:.1f}%)")
    return "\n".join(lines)
