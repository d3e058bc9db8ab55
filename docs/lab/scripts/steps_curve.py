"""Sonic's world figures against the dynamics' training steps, from eval JSONs (`nanogenie eval --probe hero-whole
--json FILE`) of runs that differ only in `train.dynamics.steps` (each a whole cosine schedule of that length).

    python docs/lab/scripts/steps_curve.py OUT.png STEPS:EVAL.json [STEPS:EVAL.json ...]

Plots the hero drawn whole and placed, control and the rollout at 16 frames over copying, each with its standard
error where the eval gives one, against steps on a log scale, and prints the table.
"""

from __future__ import annotations

import json
import sys

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FIGURES = [("hero_whole", "hero whole", 0.85), ("hero_placed", "hero placed (8 px)", None),
           ("control_accuracy", "control (48 states)", 0.75)]


def main() -> None:
    out, points = sys.argv[1], []
    for item in sys.argv[2:]:
        steps, path = item.split(":", 1)
        points.append((int(steps), json.load(open(path))))
    points.sort(key=lambda p: p[0])
    steps = [s for s, _ in points]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for ax, (key, label, bar) in zip(axes, FIGURES):
        ax.errorbar(steps, [e[key] for _, e in points], yerr=[e.get(f"{key}_se", 0) for _, e in points], marker="o")
        if bar is not None:
            ax.axhline(bar, color="grey", linestyle="--", label=f"bar {bar}")
            ax.legend()
        ax.set_title(label)
    over = [e["rollout_psnr"]["16"] - e["copy_psnr"]["16"] for _, e in points]
    axes[3].plot(steps, over, marker="o")
    axes[3].axhline(2.0, color="grey", linestyle="--", label="bar 2 dB")
    axes[3].legend()
    axes[3].set_title("rollout at 16 over copy (dB)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(steps, [f"{s:,}" for s in steps])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("dynamics steps (batch 10, bf16)")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print("| steps | hero whole | hero placed | hero none | control | rollout 16 over copy |")
    print("|---|---|---|---|---|---|")
    for (s, e), o in zip(points, over):
        print(f"| {s:,} | {e['hero_whole']:.3f} ± {e['hero_whole_se']:.3f} | {e['hero_placed']:.3f} | "
              f"{e['hero_none']:.3f} | {e['control_accuracy']:.3f} ± {e['control_accuracy_se']:.3f} | {o:+.2f} dB |")


if __name__ == "__main__":
    main()
