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
from script_codes import probe_setup, read_codes  # noqa: E402  (a sibling lab script)

from nanogenie.data.pixels import to_stored  # noqa: E402
from nanogenie.envs.sonic_art import PALETTE  # noqa: E402
from nanogenie.eval.control import generated_from, held_out_state, played, sampling_seed  # noqa: E402
from nanogenie.eval.probes import SCRIPT, heroes  # noqa: E402


def main() -> None:
    args, world, env, codes, rng = probe_setup()
    skin = np.array(PALETTE["S"])
    keymap = torch.tensor([[codes[a] for a in SCRIPT]])
    tally = {"keymap": [0, 0, 0, 0], "read": [0, 0, 0, 0]}  # matched, frames, none, frames with one hero
    for state in range(args.states):
        context = held_out_state(env, rng)
        truth = None if context is None else played(env, SCRIPT)
        if truth is None:
            continue
        read = read_codes(world, context, truth)  # (1, 32)
        with torch.no_grad():
            for name, held in (("keymap", keymap), ("read", read)):
                made = to_stored(generated_from(world, context, held, sampling_seed(args.seed, state))[0]).numpy()
                for true, generated in zip(truth, made):
                    expected, shown = heroes(true, skin), heroes(generated, skin)
                    t = tally[name]
                    t[0] += shown == expected
                    t[1] += 1
                    if expected == 1:
                        t[2] += shown == 0
                        t[3] += 1
    for name, (matched, frames, none, one) in tally.items():
        print(f"{name:>6} codes: hero whole {matched / frames:.3f}, none {none / max(one, 1):.3f} ({frames} frames)")


if __name__ == "__main__":
    main()
