"""Where in the hero probe's script a sonic world loses its hero: the probe's hero counts (nanogenie/eval/probes.py)
tallied by the script's stretches (right, jump, right, left, idle) instead of over all frames.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/hero_by_frame.py WORLD [--states 48] [--seed 0]

Same states, keymap codes, sampling seeds and hero count as `nanogenie eval --world WORLD --probe hero-whole`, so the
last line reproduces its hero_whole, hero_none and hero_doubled. Findings: docs/lab/2026-12-05-reveal-order-and-stale-context.md.
"""
import sys
from itertools import groupby
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from script_codes import probe_setup  # noqa: E402  (a sibling lab script)

from nanogenie.data.pixels import to_stored  # noqa: E402
from nanogenie.envs.sonic_art import PALETTE  # noqa: E402
from nanogenie.eval.control import generated_from, held_out_state, played, sampling_seed  # noqa: E402
from nanogenie.eval.probes import SCRIPT, heroes  # noqa: E402


def main() -> None:
    args, world, env, codes, rng = probe_setup()
    skin = np.array(PALETTE["S"])
    held = torch.tensor([[codes[a] for a in SCRIPT]])
    counts = np.zeros((len(SCRIPT), 4), np.int64)  # per frame of the script: matched, frames, none, frames with one hero
    doubled = np.zeros(len(SCRIPT), np.int64)
    for state in range(args.states):
        context = held_out_state(env, rng)
        truth = None if context is None else played(env, SCRIPT)
        if truth is None:
            continue
        with torch.no_grad():
            made = to_stored(generated_from(world, context, held, sampling_seed(args.seed, state))[0]).numpy()
        for i, (true, generated) in enumerate(zip(truth, made)):
            expected, shown = heroes(true, skin), heroes(generated, skin)
            counts[i] += (shown == expected, 1, expected == 1 and shown == 0, expected == 1)
            doubled[i] += expected == 1 and shown >= 2
    start = 0
    for key, run in groupby(SCRIPT):
        end = start + len(list(run))
        c, d = counts[start:end].sum(0), doubled[start:end].sum()
        print(f"frames {start:>2}-{end - 1:<2} {env.action_names[key]:>6}: whole {c[0] / c[1]:.3f}, "
              f"none {c[2] / max(c[3], 1):.3f}, doubled {d / max(c[3], 1):.3f}")
        start = end
    c, d = counts.sum(0), doubled.sum()
    print(f"all {c[1]} frames: whole {c[0] / c[1]:.3f}, none {c[2] / max(c[3], 1):.3f}, doubled {d / max(c[3], 1):.3f}")


if __name__ == "__main__":
    main()
