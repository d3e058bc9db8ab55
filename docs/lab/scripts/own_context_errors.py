"""How far a dynamics' own drawings of the context are from the true frames, for each way of drawing them
(`dynamics.self_context_steps`: 0 the most likely code in one pass, 1 one sampled pass, K play's sampler in K steps).
Needs the self-context patch (docs/lab/patches/2026-12-05-self-context-sampled.diff) on PYTHONPATH.

    OMP_NUM_THREADS=1 PYTHONPATH=PATCHED .venv/bin/python docs/lab/scripts/own_context_errors.py runs/lab/ft_base/run \
        nanogenie/worlds/sonic/dynamics.safetensors [--clips 10] [--steps 0 1 4]

Each clip of the run's token cache has its frames 1..T-2 drawn from the true frames before each; printed per way:
the share of those tokens unlike the true frame's, on all of them, on those that changed from the frame before,
and on the still ones. Findings: docs/lab/2026-12-05-sampled-self-context.md.
"""
import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from nanogenie.config import WorldConfig
from nanogenie.models.dynamics import DynamicsModel
from nanogenie.training.checkpoint import load_weights_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder with config.json and dynamics_inputs.npz")
    parser.add_argument("weights", type=Path, help="dynamics weights (.safetensors)")
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 1, 4])
    args = parser.parse_args()
    torch.manual_seed(0)
    world = WorldConfig.from_dict(json.loads((args.run / "config.json").read_text())["config"])
    cache = np.load(args.run / "dynamics_inputs.npz")
    tokens = torch.from_numpy(cache["tokens"].astype(np.int64))
    actions = torch.from_numpy(cache["actions"])
    frames = world.train.dynamics.clip_frames  # the clips training draws its context for
    starts = np.random.default_rng(0).choice(cache["starts"], args.clips)
    clips = torch.stack([tokens[s:s + frames] for s in starts])  # (C, T, P)
    clip_actions = torch.stack([actions[s:s + frames - 1] for s in starts])  # (C, T-1)
    changed = clips[:, 1:-1] != clips[:, :-2]  # (C, T-2, P) tokens unlike the frame before
    model = DynamicsModel(dataclasses.replace(world.dynamics, self_context=1.0))
    load_weights_file(model, args.weights)
    model.eval()
    frame_actions = model.frame_actions(clip_actions)
    positions, frame_mask = model._clean_context_frames(frames, "cpu")
    both = torch.cat((frame_actions[:, :-1], frame_actions[:, 1:]), dim=1)  # each copy's frame actions, as in training
    for steps in args.steps:
        model.cfg = dataclasses.replace(model.cfg, self_context_steps=steps)  # read at each draw, not at build
        with torch.no_grad():
            drawn = model._own_context(clips, both, positions, frame_mask)[:, 1:]
        wrong = (drawn != clips[:, 1:-1]).float()
        print(f"steps {steps}: unlike the true frame {wrong.mean():.3f}; where the frame before differs "
              f"{wrong[changed].mean():.3f}; where it does not {wrong[~changed].mean():.3f}")


if __name__ == "__main__":
    main()
