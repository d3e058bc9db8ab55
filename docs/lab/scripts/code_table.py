"""Which true actions does each of a LAM's codes take? The contingency table of its heads' codes against the actions
of a labelled file (a fresh random action every frame, so no code is credited for a held key).

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/code_table.py RANDOM.h5 RUN...

Each RUN is a LAM run folder (a stopped one gives its latest checkpoint). Per code: how many transitions of each
action it took, and its majority action with that action's share; the probe maps every code to its majority.
Findings: docs/lab/2026-12-05-innovation-and-sonic-codes.md.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from lam_select import codes_and_truth  # noqa: E402  (sibling lab scripts)
from self_label import head_errors  # noqa: E402

from nanogenie.data import load_dataset  # noqa: E402
from nanogenie.eval.lam_bench import load_lam  # noqa: E402
from nanogenie.metrics import probe_accuracy  # noqa: E402


def main() -> None:
    data = load_dataset(sys.argv[1])
    actions = int(np.max(data.actions)) + 1
    for run in sys.argv[2:]:
        lam, _ = load_lam(run)
        codes, truth = codes_and_truth(head_errors(lam, data), data)
        table = np.zeros((lam.num_actions, actions), dtype=int)
        np.add.at(table, (codes, truth), 1)
        print(f"{run}: probe {probe_accuracy(truth, codes):.3f}")
        print("code | " + " ".join(f"{a:>5}" for a in range(table.shape[1])) + " | majority (share)")
        for code, row in enumerate(table):
            if row.sum():
                print(f"{code:4} | " + " ".join(f"{n:5}" for n in row) + f" | {row.argmax()} ({row.max() / row.sum():.2f})")


if __name__ == "__main__":
    main()
