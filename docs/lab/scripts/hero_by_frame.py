"""Where in the hero probe's script a sonic world loses its hero: the probe's hero counts (nanogenie/eval/probes.py)
tallied by the script's stretches (right, jump, right, left, idle) instead of over all frames.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/hero_by_frame.py WORLD [--states 48] [--seed 0]

Same states, keymap codes, sampling seeds and hero count as `nanogenie eval --world WORLD --probe hero-whole`, so the
last line reproduces its hero_whole, hero_none and hero_doubled. On frames saved by hero_frames.py the same lines
come without drawing again: `hero_rules.py F.npz --stretches`. Findings: docs/lab/2026-12-05-reveal-order-and-stale-context.md.
"""
import sys
from itertools import groupby
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from script_codes import hero_frames, probe_setup, script_states  # noqa: E402  (a sibling lab script)

from nanogenie.eval.probes import SCRIPT  # noqa: E402


def main() -> None:
    args, world, env, codes, rng = probe_setup()
    held = torch.tensor([[codes[a] for a in SCRIPT]])
    counts = np.zeros((len(SCRIPT), 4), np.int64)  # per frame of the script: matched, one hero shown, none, doubled
    states = 0
    for state, context, truth in script_states(env, rng, args.states):
        counts += hero_frames(world, context, truth, held, args.seed, state)
        states += 1
    print_stretches(counts, states, env.action_names)


def print_stretches(counts: np.ndarray, states: int, action_names) -> None:
    """counts (len(SCRIPT), 4) per frame of the script, summed over `states` states -> one line per stretch of a
    key, and one for all frames."""
    start = 0
    for key, run in groupby(SCRIPT):
        end = start + len(list(run))
        print(f"frames {start:>2}-{end - 1:<2} {action_names[key]:>6}: {_shares(counts[start:end], states)}")
        start = end
    print(f"all {states * len(SCRIPT)} frames: {_shares(counts, states)}")


def _shares(counts: np.ndarray, states: int) -> str:
    """counts (F, 4) over F frames of the script in each of `states` states -> the probe's three shares."""
    matched, one, none, doubled = counts.sum(0)
    return (f"whole {matched / (states * len(counts)):.3f}, none {none / max(one, 1):.3f}, "
            f"doubled {doubled / max(one, 1):.3f}")


if __name__ == "__main__":
    main()
