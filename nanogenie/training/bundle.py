"""The world bundle a training ends with: the trained models, the frames play starts from and the keymap
(fitted on held-out data with true actions, else proposed from what each latent action moves), then the
eval figures and how the world was trained, in its world.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from nanogenie.atomic import RESUME
from nanogenie.config import WorldConfig
from nanogenie.data.hdf5 import VideoData, load_dataset
from nanogenie.data.splits import Span
from nanogenie.errors import UserError
from nanogenie.eval.commands import control_figures
from nanogenie.eval.evaluate import evaluate_world, held_out_action_pairs
from nanogenie.play.propose import Proposal, propose_from_video, write_proposed_keymap
from nanogenie.training.keymap_fit import keymap_toml, owned_codes
from nanogenie.training.run_data import RunData
from nanogenie.training.run_folder import RunFolder
from nanogenie.training.stages import label_transitions, sequences
from nanogenie.world import PACKAGED_KEYMAPS, World, load_world, save_world, update_world_meta

PROMPT_FRAMES = 4  # frames play starts from: enough temporal context for the first generated frame
PROPOSAL_TRANSITIONS = 1536  # the training video's transitions the proposed keys are read from, in pieces of
PROPOSAL_PIECE = 16  # consecutive transitions, so the LAM sees each one's history


def write_bundle(name: str, config: WorldConfig, run_folder: RunFolder, run: RunData, models: tuple, device: str,
                 processes: int) -> None:
    """Save the world `name` beside its run folder, evaluate what was saved, and print its figures."""
    tokenizer, lam, dynamics = models
    out = run_folder.world
    prompt = prompt_frames(run, config)
    fitted = None
    if run.held_out.actions is not None:
        truth, latent = held_out_action_pairs(lam, run.held_out, run.held_out_spans, config, device)
        if config.train.dynamics_actions == "true":
            latent = truth  # the dynamics takes the recorded actions themselves: each key binds its own
        fitted = keymap_toml(owned_codes(truth, latent, run.data.action_names, config.lam.num_actions),
                             config.lam.num_actions)
    packaged = name if (PACKAGED_KEYMAPS / f"{name}.toml").is_file() else None
    meta = {"keymap": packaged, "keymap_origin": "fitted" if fitted else None, "data": run.summary()}
    save_world(World(path=out, name=name, config=config, meta=meta,
                     tokenizer=tokenizer, lam=lam, dynamics=dynamics, prompt=prompt, fps=run.data.fps,
                     action_names=run.data.action_names or []), keymap_toml=fitted, then=RESUME)
    world = load_world(out, device)  # evaluate exactly what was saved
    if fitted is None and packaged is None:  # no true actions: keys from what each latent action moves
        proposal = video_proposal(lam, run.data, run.splits["train"], config, device)
        write_proposed_keymap(world, device, proposal, origin="video")
    figures = evaluate_world(world, run.held_out, run.held_out_spans, device, seed=config.train.seed,
                             plots_dir=run_folder.plots)
    figures.update(control_figures(world, run.env, device))
    training = {"device": device, "torch_threads": torch.get_num_threads(), "processes": processes,
                "minutes": run_folder.minutes()}
    update_world_meta(out, then=RESUME, eval=figures, training=training)
    print(f"world saved to {out}", file=sys.stderr)
    print(json.dumps(figures))


def video_proposal(lam, data: VideoData, spans: list[Span], config: WorldConfig, device: str) -> Proposal:
    """Keys read from the training video itself: a seeded sample of the transitions in `spans`, each
    labelled by the LAM, and what the frames of each code show moving (play/motion.py, `video_motion`).
    The video, not the world's own rollouts, so that the keys do not wait on how well the dynamics draws
    a small hero."""
    rng = np.random.default_rng(config.train.seed)
    pieces = [seq[start:start + PROPOSAL_PIECE + 1] for seq in sequences(spans, config.train.frame_skip, 2)
              for start in range(0, len(seq) - 1, PROPOSAL_PIECE)]
    if not pieces:
        raise UserError("the training video has no two consecutive frames to read keys from")
    wanted = min(len(pieces), -(-PROPOSAL_TRANSITIONS // PROPOSAL_PIECE))
    pieces = [pieces[i] for i in np.sort(rng.choice(len(pieces), wanted, replace=False))]
    codes = torch.cat(label_transitions(lam, data, pieces, device, config.train.amp)).numpy()
    before = np.concatenate([piece[:-1] for piece in pieces])
    after = np.concatenate([piece[1:] for piece in pieces])
    return propose_from_video(data.frames[before], data.frames[after], codes, config.lam.num_actions,
                              config.lam.focus)


def training_video(world: World) -> tuple[VideoData, list[Span]] | None:
    """The file a world was trained on and its training spans, as world.json records them, when that file is
    still where it was and has the world's frame size; else None."""
    recorded = world.meta.get("data") or {}
    path, spans = recorded.get("path"), (recorded.get("splits") or {}).get("train")
    if not path or not spans or not Path(path).is_file():
        return None
    data = load_dataset(path)
    if data.frames.shape[1] != world.config.tokenizer.image_size:
        return None
    return data, [tuple(span) for span in spans]


def prompt_frames(run: RunData, config: WorldConfig) -> np.ndarray:
    """The first frames of the first held-out (else training) span long enough to hold them."""
    skip = config.train.frame_skip
    length = min(PROMPT_FRAMES, config.dynamics.context_frames)
    for start, end in run.splits["test"] + run.splits["train"]:
        if end - start >= (length - 1) * skip + 1:
            return np.ascontiguousarray(run.data.frames[start:start + (length - 1) * skip + 1:skip])
    raise UserError(f"no episode in {run.data.path or 'the data'} has {length} frames for the play prompt; "
                    f"use longer episodes")
