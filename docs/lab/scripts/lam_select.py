"""Can a user tell the better of several LAM trainings apart without labels?

    python docs/lab/scripts/lam_select.py --val VAL.h5 --held-out RANDOM.h5 RUN...

Each RUN is a LAM run folder (a stopped one gives its latest checkpoint). On VAL, a sticky-action file none of the
runs trained on (what a user has: more of their own video), three label-free figures of the heads:
  fit        mean squared error of the best head, x 1e4 (lower: the heads explain the video better)
  margin     median over transitions of (second best - best) / mean over heads (higher: decisive codes)
  stability  share of transitions whose code equals the one before (people hold keys, so a code that names the
             key repeats about as often as the keys do; one that names a sprite's step or a distractor's jitter
             changes more often)
and, for reference only, the heads' probe and NMI on RANDOM (a fresh random action every frame).
Results: docs/lab/2026-12-05-anchor-weight-and-selection.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from self_label import head_errors  # noqa: E402  (a sibling lab script)

from nanogenie.data import load_dataset  # noqa: E402
from nanogenie.eval.lam_bench import load_lam  # noqa: E402
from nanogenie.metrics import normalized_mutual_information, probe_accuracy  # noqa: E402


def label_free(errors: np.ndarray, data) -> dict[str, float]:
    """errors (N, A) from head_errors (NaN at each episode's last frame) -> fit, margin and stability."""
    valid = ~np.isnan(errors[:, 0])
    ranked = np.sort(errors[valid], axis=1)
    codes = np.nan_to_num(errors, nan=np.inf).argmin(axis=1)  # each episode's last row is NaN and never read below
    same = [codes[t] == codes[t - 1] for start, end in data.episodes() for t in range(start + 1, end - 1)]
    return {"fit": float(ranked[:, 0].mean() * 1e4),
            "margin": float(np.median((ranked[:, 1] - ranked[:, 0]) / ranked.mean(axis=1).clip(1e-12))),
            "stability": float(np.mean(same))}


def codes_and_truth(errors: np.ndarray, data) -> tuple[np.ndarray, np.ndarray]:
    """errors (N, A) from head_errors -> each transition's code and true action, episodes' last frames left out."""
    valid = ~np.isnan(errors[:, 0])
    return errors[valid].argmin(axis=1), np.asarray(data.actions)[valid]


def held_out(errors: np.ndarray, data) -> dict[str, float]:
    codes, truth = codes_and_truth(errors, data)
    return {"probe": probe_accuracy(truth, codes), "nmi": normalized_mutual_information(truth, codes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--val", required=True)
    parser.add_argument("--held-out", required=True)
    args = parser.parse_args()
    val, random = load_dataset(args.val), load_dataset(args.held_out)
    print("run | fit | margin | stability | heads' probe | NMI")
    for run in args.runs:
        lam, _ = load_lam(run)
        free, truth = label_free(head_errors(lam, val), val), held_out(head_errors(lam, random), random)
        print(f"{run} | {free['fit']:.3f} | {free['margin']:.3f} | {free['stability']:.3f} | "
              f"{truth['probe']:.3f} | {truth['nmi']:.3f}", flush=True)


if __name__ == "__main__":
    main()
