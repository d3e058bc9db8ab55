"""Compare trained tokenizers on the same held-out frames: the validation figures the trainer logs
(val_psnr, and val_moving_psnr over the pixels that change between frames, where the sprites are),
measured with today's code, and optionally a picture: a row of true frames, then a row of each
tokenizer's reconstructions of them.

`tokens_changed` is the share of tokens that differ between consecutive frames, beside
`patches_changed`, the share of patches with any pixel that differs: tokens that change where their
patch did not are work for the dynamics that buys no picture (a convolutional encoder's view crosses
patch edges; docs/lab/NOTES.md, "A convolutional tokenizer").

    python docs/lab/scripts/tokenizer_figures.py --world sonic runs/sonic64/run/tokenizer.safetensors \
        runs/exp/tok_moving10/run/tokenizer.safetensors --image tokenizers.png [--hero-states 144]

With `--hero-states N` (sonic) each tokenizer also reconstructs the frames of the hero-whole probe's N
held-out states (`nanogenie eval --probe hero-whole`, its scripted keys, the same states for its --seed, here --hero-seed, 1)
and `hero_whole_reconstructed` is the share of frames whose hero count matches the simulator's: the
ceiling of that probe for any dynamics through this tokenizer. `hero_none` and `hero_doubled` are its
shares of one-hero frames drawn with no hero or with two or more.

Each weights file is read with the config.json of the run folder it sits in (or above), or a world bundle's
world.json. The held-out frames are the trainer's: fresh random-action episodes of the simulator named by --world.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from hero_rules import SKIN, figures  # a sibling lab script
from nanogenie.config import WorldConfig
from nanogenie.data.pixels import to_model
from nanogenie.envs import make_env
from nanogenie.eval.held_out import fresh_episodes
from nanogenie.eval.probes import hero_counts
from nanogenie.models.tokenizer import VideoTokenizer
from nanogenie.training.checkpoint import load_weights_file
from nanogenie.training.plots import plot_frame_rows, to_uint8
from nanogenie.training.stages import pixel_validation, validation_figures
from script_codes import script_states  # a sibling lab script


def load_tokenizer(weights: Path) -> tuple[VideoTokenizer, WorldConfig]:
    run = weights.parent
    while not any((run / name).is_file() for name in ("config.json", "world.json")):
        if run == run.parent:
            raise SystemExit(f"no config.json or world.json in any folder above {weights}")
        run = run.parent
    meta = run / "config.json" if (run / "config.json").is_file() else run / "world.json"
    config = WorldConfig.from_dict(json.loads(meta.read_text())["config"])
    tokenizer = VideoTokenizer(config.tokenizer)
    load_weights_file(tokenizer, weights)
    return tokenizer.eval(), config


@torch.no_grad()
def change_rates(tokenizer: VideoTokenizer, patch_size: int, frames: np.ndarray) -> dict[str, float]:
    """frames (T, H, W, 3) uint8 of one episode -> shares of tokens and of patches that change per frame."""
    tokens = torch.cat([tokenizer.encode(to_model(frames[i:i + 32])[None])[0] for i in range(0, len(frames), 32)])
    moved = (frames[1:] != frames[:-1]).any(-1)  # (T-1, H, W)
    t, h, w = moved.shape
    patches = moved.reshape(t, h // patch_size, patch_size, w // patch_size, patch_size).any(axis=(2, 4))
    return {"tokens_changed": round((tokens[1:] != tokens[:-1]).float().mean().item(), 3),
            "patches_changed": round(float(patches.mean()), 3)}


def probe_frames(states: int, seed: int, image_size: int) -> np.ndarray:
    """The true frames (S, 32, H, W, 3) uint8 of the hero-whole probe's scripted keys from its held-out states (the
    probe's own draw of states for `seed`; S counts the states whose episode lasts the script, as there)."""
    env, rng = make_env("sonic", image_size), np.random.default_rng(seed)
    return np.stack([np.stack(truth) for _, _, truth in script_states(env, rng, states)])


@torch.no_grad()
def hero_figures(tokenizer: VideoTokenizer, truth: np.ndarray) -> dict[str, float]:
    """How often each frame's reconstruction shows as many heroes as the frame (the probe's count)."""
    rebuilt = np.stack([to_uint8(tokenizer.decode(tokenizer.encode(to_model(clip)[:, None]))[:, 0]) for clip in truth])
    found = figures(hero_counts(truth, SKIN), hero_counts(rebuilt, SKIN))
    return {"hero_whole_reconstructed": found["whole"], "hero_none": found["none"], "hero_doubled": found["doubled"]}


@torch.no_grad()
def save_picture(tokenizers: list[VideoTokenizer], names: list[str], frames: torch.Tensor, path: Path) -> None:
    """frames (T, 3, H, W): a row of a few of them, and below it each tokenizer's reconstruction."""
    shown = frames[np.linspace(5, len(frames) - 5, 4).astype(int)]
    rows = [to_uint8(shown)] + [to_uint8(t.decode(t.encode(shown[None]))[0]) for t in tokenizers]
    plot_frame_rows(rows, ["true"] + names, "held-out frames and their reconstructions", path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", nargs="+", type=Path, help="tokenizer .safetensors files (in run folders)")
    parser.add_argument("--world", required=True, help="simulator whose fresh episodes are the held-out frames")
    parser.add_argument("--image", type=Path, help="also save reconstructions side by side here (.png)")
    parser.add_argument("--hero-states", type=int, default=0, help="sonic: the hero-whole probe's states to reconstruct")
    parser.add_argument("--hero-seed", type=int, default=1, help="the hero-whole probe's seed (its states)")
    args = parser.parse_args()
    if args.hero_states and args.world != "sonic":
        parser.error("--hero-states counts sonic's hero: use it with --world sonic")
    torch.set_num_threads(1)
    tokenizers, clips = [], None
    for weights in args.weights:
        tokenizer, config = load_tokenizer(weights)
        if args.hero_states and clips is None:
            clips = probe_frames(args.hero_states, args.hero_seed, config.tokenizer.image_size)
        held_out = fresh_episodes(args.world, config)
        batches = pixel_validation(tokenizer, "tokenizer", held_out, held_out.episodes(), config, "cpu")
        start, end = held_out.episodes()[0]
        changes = change_rates(tokenizer, config.tokenizer.patch_size, held_out.frames[start:min(end, start + 400)])
        heroes_kept = hero_figures(tokenizer, clips) if clips is not None else {}
        print(json.dumps({"weights": str(weights), **validation_figures(tokenizer, batches), **changes, **heroes_kept}),
              flush=True)
        tokenizers.append(tokenizer)
    if args.image:
        names = [weights.parent.parent.name if weights.parent.name == "run" else weights.parent.name
                 for weights in args.weights]
        save_picture(tokenizers, names, to_model(held_out.frames[start:min(end, start + 60)]), args.image)


if __name__ == "__main__":
    main()
