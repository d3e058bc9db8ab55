"""The hero probe (nanogenie/eval/probes.py) driven by the codes the world's own LAM reads from the simulator's frames
under the script, beside the keymap's codes: is a hero lost because the keymap asks for a code the LAM would not
have given those frames?

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/hero_read_codes.py WORLD [--states 48] [--seed 0]

Same states, script, sampling seeds and hero count as `nanogenie eval --world WORLD --probe hero-whole`; prints the
share of frames whose hero count matches the simulator's, and where it shows one hero, the share with none, for
each way of choosing the codes. Findings: docs/lab/2026-12-05-innovation-and-sonic-codes.md.
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from script_codes import hero_frames, probe_setup, read_codes, script_states  # noqa: E402  (a sibling lab script)

from nanogenie.eval.probes import SCRIPT  # noqa: E402


def main() -> None:
    args, world, env, codes, rng = probe_setup()
    keymap = torch.tensor([[codes[a] for a in SCRIPT]])
    tally = {"keymap": np.zeros(4, np.int64), "read": np.zeros(4, np.int64)}  # matched, one hero shown, none, doubled
    frames = 0
    for state, context, truth in script_states(env, rng, args.states):
        read = read_codes(world, context, truth)  # (1, 32)
        for name, held in (("keymap", keymap), ("read", read)):
            tally[name] += hero_frames(world, context, truth, held, args.seed, state).sum(0)
        frames += len(truth)
    for name, (matched, one, none, _) in tally.items():
        print(f"{name:>6} codes: hero whole {matched / frames:.3f}, none {none / max(one, 1):.3f} ({frames} frames)")


if __name__ == "__main__":
    main()
