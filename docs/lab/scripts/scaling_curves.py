"""Held-out loss and token accuracy of several dynamics runs against training minutes, in one figure.

    python docs/lab/scripts/scaling_curves.py OUT.png RUN_FOLDER[=LABEL] ...

Each RUN_FOLDER is the `--out` of `nanogenie train ... --stage dynamics`; its run/log.jsonl holds the
val_loss and val_accuracy logged at every checkpoint, with the seconds since the stage began.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curve(folder: Path) -> tuple[list[float], list[float], list[float]]:
    minutes, loss, accuracy = [], [], []
    for line in (folder / "run" / "log.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("stage") == "dynamics" and "val_loss" in (row.get("eval") or {}):
            minutes.append(row["elapsed"] / 60)
            loss.append(row["eval"]["val_loss"])
            accuracy.append(row["eval"]["val_accuracy"])
    return minutes, loss, accuracy


def main(out: str, runs: list[str]) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for run in runs:
        folder, _, label = run.partition("=")
        minutes, loss, accuracy = curve(Path(folder))
        left.plot(minutes, loss, marker=".", label=label or Path(folder).name)
        right.plot(minutes, accuracy, marker=".", label=label or Path(folder).name)
    # the first checkpoints' losses are far above the rest; the limits keep the part where shapes differ readable
    left.set(xlabel="training minutes (wall clock)", ylabel="held-out loss", ylim=(0.9, 2.0))
    right.set(xlabel="training minutes (wall clock)", ylabel="held-out token accuracy (masked tokens)", ylim=(0.6, 0.8))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out, dpi=90)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
