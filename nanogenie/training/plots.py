"""PNG plots of a run: loss curves, and frame grids (reconstructions, rollouts, latent actions).

Uses matplotlib's object API with the Agg canvas (no pyplot, no global backend switch), so plotting
works on a server with no display and never touches the play app's window.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nanogenie.atomic import RESUME, write_bytes
from nanogenie.config import PARTS
from nanogenie.data.pixels import to_stored
from nanogenie.training.run_folder import read_records


def read_log(path: Path) -> list[dict]:
    """log.jsonl records sorted by (stage, step); a step logged twice keeps its last record."""
    latest = {(record["stage"], record["step"]): record for record in read_records(path)}
    return sorted(latest.values(), key=lambda r: (r["stage"], r["step"]))


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    png = io.BytesIO()
    fig.savefig(png, dpi=100, format="png")
    write_bytes(path, png.getvalue(), kept="the run's weights and checkpoints are kept", then=RESUME)
    return Path(path)


def _stages_in(records: list[dict]) -> list[str]:
    """The stages (and the LAM's second phase, after the LAM) that have records, in training order."""
    return [s for s in PARTS if any(r["stage"] == s for r in records)]


def plot_losses(log_path: Path, out: Path) -> Path | None:
    """One panel per stage: training loss against optimizer step, and the validation loss on held-out
    clips at each checkpoint beside it (log scale when they span decades)."""
    records = read_log(log_path)
    stages = _stages_in(records)
    if not stages:
        return None
    fig = Figure(figsize=(4 * len(stages), 3.2), layout="constrained")
    for i, stage in enumerate(stages):
        ax = fig.add_subplot(1, len(stages), i + 1)
        rows = [r for r in records if r["stage"] == stage]
        steps, losses = [r["step"] for r in rows], [r["loss"] for r in rows]
        ax.plot(steps, losses, lw=1.2, label="train")
        held_out = [(r["step"], r["eval"]["val_loss"]) for r in rows if "val_loss" in r.get("eval", {})]
        if held_out:
            ax.plot(*zip(*held_out), marker="o", ms=3, lw=1.2, label="held-out")
            ax.legend()
            losses = losses + [loss for _, loss in held_out]
        if min(losses) > 0 and max(losses) / min(losses) > 20:
            ax.set_yscale("log")
        ax.set_title(f"{stage} loss")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    return _save(fig, out)


def plot_held_out_figures(log_path: Path, out: Path) -> Path | None:
    """The LAM's held-out lam_nmi and lam_probe_accuracy, logged at its checkpoints, against step: one panel
    for its heads, one for its inverse model when it has one."""
    rows = [r for r in read_log(log_path) if any(k.startswith("lam_") for k in r.get("eval", {}))]
    stages = _stages_in(rows)
    if not stages:
        return None
    fig = Figure(figsize=(5 * len(stages), 3.2), layout="constrained")
    for i, stage in enumerate(stages):
        ax = fig.add_subplot(1, len(stages), i + 1)
        mine = [r for r in rows if r["stage"] == stage]
        for name in ("lam_probe_accuracy", "lam_nmi"):  # the figures of one value (code shares are a list)
            points = [(r["step"], r["eval"][name]) for r in mine if r["eval"].get(name) is not None]
            if points:
                ax.plot(*zip(*points), marker="o", ms=3, lw=1.2, label=name)
        ax.set_ylim(0, 1)
        ax.set_xlabel("step")
        ax.set_title(f"{stage}: held-out figures")
        ax.legend()
        ax.grid(alpha=0.3)
    return _save(fig, out)


def frame_grid(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Rows of frames (each (T, H, W, 3) uint8, same H, W) -> one (R*H, T*W, 3) image with white gaps."""
    height, width = rows[0].shape[1:3]
    columns = max(len(r) for r in rows)
    image = np.full((len(rows) * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, frame in enumerate(row):
            image[i * (height + gap):i * (height + gap) + height, j * (width + gap):j * (width + gap) + width] = frame
    return image


def plot_frame_rows(rows: list[np.ndarray], labels: list[str], title: str, out: Path) -> Path:
    """A labelled grid of frame rows, e.g. true frames above generated ones."""
    image = frame_grid(rows)
    height = rows[0].shape[1] + 2
    scale = max(1.0, 96 / height)  # small frames get a bigger figure so they stay visible
    fig = Figure(figsize=(1.5 + image.shape[1] * scale / 80, 0.6 + image.shape[0] * scale / 80),
                 layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(image, interpolation="nearest")
    ax.set_yticks([i * height + (height - 2) / 2 for i in range(len(rows))], labels)
    ax.set_xticks([])
    ax.set_title(title)
    return _save(fig, out)


def to_uint8(frames) -> np.ndarray:
    """(T, 3, H, W) tensor or array in [-1, 1] -> (T, H, W, 3) uint8."""
    return to_stored(torch.as_tensor(frames).detach().cpu()).numpy()
