"""How much could a keymap that depends on the state give? Each key bound, per held-out state, to the code the LAM
itself reads on that key's true transitions from that state: the first of the 4, or the most read of them. No
keymap that chooses a code from the frames can know more than that, so it bounds any state-dependent keymap.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/state_keys.py WORLD --states 48 [--seed 0]

The states, the world's frames after each code is held 4 frames and the pairs counted are right_modes.py's (the
eval's control_accuracy draws); printed per camera mode and over all states, beside the world's own keymap.
Findings: docs/lab/2026-12-06-spatial-rope.md.
"""
from collections import Counter

import torch

from nanogenie.eval.control import HOLD, frame_distances, generated_from, keymap_codes, pairs_told_apart, sampling_seed
from right_modes import pooled, readings, sonic_world  # a sibling lab script
from script_codes import states_parser


@torch.no_grad()
def main() -> None:
    args = states_parser(__doc__).parse_args()
    world, env = sonic_world(args.world)
    keys = keymap_codes(world.keymap_path, list(env.action_names))
    controls = sorted(keys)
    every_code = torch.arange(world.lam.num_actions)[:, None].expand(-1, HOLD)
    tallies = {name: {} for name in ("the world's keymap", "the code read first", "the code read most")}
    for state, context, mode, _, codes, truth in readings(env, world.lam, args.states, args.seed):
        made = generated_from(world, context, every_code, sampling_seed(args.seed, state))[:, -1]  # (A, 3, H, W)
        true = [truth[a] for a in controls]
        chosen = {"the world's keymap": [keys[a] for a in controls],
                  "the code read first": [int(codes[a][0]) for a in controls],
                  "the code read most": [Counter(codes[a].tolist()).most_common(1)[0][0] for a in controls]}
        for name, picked in chosen.items():
            tallies[name].setdefault(mode, []).append(pairs_told_apart(frame_distances(made[picked], true), true))
    for name, by_mode in tallies.items():
        print(f"{name}: every state {pooled(sum(by_mode.values(), []))}, "
              + ", ".join(f"{mode} {pooled(t)}" for mode, t in sorted(by_mode.items())))


if __name__ == "__main__":
    main()
