"""What do a LAM's codes follow in a world with momentum: the key, how far the player's sprite moved, or how much
that move changed from the one before?

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/motion_codes.py WORLD RUN_FOLDER [--frames 4000] [--inverse]

WORLD is paddle or sonic. Rolls out --frames fresh frames with a random key every frame (seed 12345), reading the
player's drawn position from the env (paddle: the paddle's top row; sonic: the hero's position in the level, in
pixels, so the camera's scroll is left out as the LAM's alignment leaves it out), labels each transition with the
LAM's heads (or, with --inverse, its inverse model), and prints NMI and probe accuracy (codes -> variable, majority
per code) of the codes against: the key; the sprite's step (its move x_t -> x_t+1, each axis clipped to +-4 px);
the change of that step from the one before (what a key adds against the momentum, each axis clipped to +-3 px).
Beside them, the probe of a reader that guesses the key from the step alone, or from its change alone.
Findings: docs/lab/2026-12-04-paddle-and-control-pairs.md.
"""
import argparse

import numpy as np
import torch

from nanogenie.data.pixels import to_model
from nanogenie.envs.rollout import rollout
from nanogenie.eval.lam_bench import load_lam
from nanogenie.metrics import normalized_mutual_information, probe_accuracy
from nanogenie.models.inverse import transition_channels

POSITION = {  # world -> where the player's sprite is drawn, (x, y) in pixels
    "paddle": lambda env: (0, env.px(env.player_y - 2)),
    "sonic": lambda env: (env.px(env.x), env.px(env.y)),
}


def classes(moves: np.ndarray, reach: int) -> np.ndarray:
    """(N, 2) pixel moves -> (N,) one class per clipped (dx, dy)."""
    clipped = np.clip(moves, -reach, reach) + reach
    return clipped[:, 0] * (2 * reach + 1) + clipped[:, 1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("world", choices=sorted(POSITION))
    ap.add_argument("run")
    ap.add_argument("--frames", type=int, default=4000)
    ap.add_argument("--inverse", action="store_true", help="label with the LAM's inverse model, not its heads")
    args = ap.parse_args()
    torch.set_num_threads(1)
    lam, _ = load_lam(args.run)
    lam.eval()
    where = []
    frames, actions, _ = rollout(args.world, args.frames, 64, 12345, policy="random",
                                 observe=lambda env: where.append(POSITION[args.world](env)))
    where = np.asarray(where)  # (N, 2): after frame i was drawn
    h = lam.cfg.history_frames
    valid = np.flatnonzero(actions[:-1] >= 0)
    valid = valid[(valid >= max(h - 1, 1)) & (actions[valid - 1] >= 0)]  # x_t-1, x_t, x_t+1 in one episode
    codes = []
    with torch.no_grad():
        for chunk in np.array_split(valid, max(1, len(valid) // 256)):
            if args.inverse:
                inputs = transition_channels(to_model(frames[chunk - 1]), to_model(frames[chunk]),
                                             to_model(frames[chunk + 1]))
                codes.append(lam.inverse(inputs).argmax(dim=1).numpy())
            else:
                history = torch.stack([to_model(frames[j - h + 1:j + 1]) for j in chunk])
                codes.append(lam._errors(history, to_model(frames[chunk + 1])).argmin(dim=1).numpy())
    codes = np.concatenate(codes)
    step = where[valid + 1] - where[valid]
    change = step - (where[valid] - where[valid - 1])
    key = actions[valid].astype(np.int64)
    rows = (("the key", key), ("the sprite's step", classes(step, 4)), ("the change of its step", classes(change, 3)))
    print(f"{args.world} {args.run} ({'inverse model' if args.inverse else 'heads'}): {len(codes)} transitions")
    for name, truth in rows:
        print(f"  {name:24s} NMI {normalized_mutual_information(truth, codes):.3f}  "
              f"probe {probe_accuracy(truth, codes):.3f} (majority class {np.bincount(truth).max() / len(truth):.3f})")
    print(f"  the key read from the step alone: probe {probe_accuracy(key, rows[1][1]):.3f}; "
          f"from its change alone: {probe_accuracy(key, rows[2][1]):.3f}")


if __name__ == "__main__":
    main()
