"""The hero probe (nanogenie/eval/probes.py) driven by the codes the world's own LAM reads from the simulator's frames
under the script, beside the keymap's codes: is a hero lost because the keymap asks for a code the LAM would not
have given those frames?

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/hero_read_codes.py WORLD [--states 48] [--seed 0]

Same states, script, sampling seeds and hero count as `nanogenie eval --world WORLD --probe hero-whole`; prints, for
each way of choosing the codes, the share of frames whose hero count matches the simulator's, and where it shows one
hero, the share with none and the share placed (one hero within PLACE pixels of the simulator's, the probe's
`hero_placed`), the last also per stretch of the script. Findings: docs/lab/2026-12-05-innovation-and-sonic-codes.md,
docs/lab/2026-12-06-hero-placed.md.
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from hero_placed import STRETCHES  # noqa: E402  (sibling lab scripts)
from script_codes import probe_setup, read_codes, script_states  # noqa: E402

from nanogenie.data.pixels import to_stored  # noqa: E402
from nanogenie.envs.sonic_art import PALETTE  # noqa: E402
from nanogenie.eval.control import generated_from, sampling_seed  # noqa: E402
from nanogenie.eval.probes import SCRIPT, hero_counts, hero_outcomes, placed  # noqa: E402

SKIN = np.array(PALETTE["S"])


def outcomes(world, context, truth, held: torch.Tensor, seed: int, state: int) -> np.ndarray:
    """Per frame (L, 6): the probe's four hero outcomes (hero_outcomes), then the truth shows one hero and the world
    draws one in its place (placed)."""
    with torch.no_grad():
        made = to_stored(generated_from(world, context, held, sampling_seed(seed, state))[0]).numpy()
    truth = np.stack(truth)
    counted = hero_outcomes(hero_counts(truth, SKIN), hero_counts(made, SKIN))
    return np.concatenate([counted, placed(truth, made, SKIN)], axis=1).astype(np.int64)


def main() -> None:
    args, world, env, codes, rng = probe_setup()
    keymap = torch.tensor([[codes[a] for a in SCRIPT]])
    tally = {"keymap": np.zeros((len(SCRIPT), 6), np.int64), "read": np.zeros((len(SCRIPT), 6), np.int64)}
    states = 0
    for state, context, truth in script_states(env, rng, args.states):
        read = read_codes(world, context, truth)  # (1, 32)
        for name, held in (("keymap", keymap), ("read", read)):
            tally[name] += outcomes(world, context, truth, held, args.seed, state)
        states += 1
    for name, per_frame in tally.items():
        matched, one, none, _, one_again, in_place = per_frame.sum(0)
        stretches = ", ".join(
            f"{stretch.split(',')[0]} {per_frame[list(span), 5].sum() / max(per_frame[list(span), 4].sum(), 1):.3f}"
            for stretch, span in STRETCHES.items())
        print(f"{name:>6} codes: hero whole {matched / (states * len(SCRIPT)):.3f}, none {none / max(one, 1):.3f}, "
              f"placed {in_place / max(one_again, 1):.3f} ({states} states); placed by stretch: {stretches}")


if __name__ == "__main__":
    main()
