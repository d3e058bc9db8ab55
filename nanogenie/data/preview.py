"""A contact sheet: frames sampled evenly across a dataset, laid out in a grid, saved as a PNG."""

from __future__ import annotations

import math
import os

import numpy as np

SHEET_FRAMES = 32
SHEET_COLUMNS = 8
GAP_PIXELS = 2
GAP_COLOUR = 40  # dark grey, so black game backgrounds still show their edges


def contact_sheet(frames: np.ndarray, count: int = SHEET_FRAMES, columns: int = SHEET_COLUMNS) -> np.ndarray:
    """(rows*(s*H+gap)+gap, cols*(s*W+gap)+gap, 3) uint8 grid of `count` evenly spaced frames, each scaled s x."""
    num_frames, height, width, _ = frames.shape  # (N, H, W, 3)
    count = min(count, num_frames)
    picked = frames[np.linspace(0, num_frames - 1, count).round().astype(int)]  # (count, H, W, 3)
    scale = max(2, min(4, 256 // max(height, width)))  # small frames get 4x, 128 px frames 2x
    picked = picked.repeat(scale, axis=1).repeat(scale, axis=2)  # nearest-neighbour upscale
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    cell_h, cell_w = height * scale + GAP_PIXELS, width * scale + GAP_PIXELS
    sheet = np.full((rows * cell_h + GAP_PIXELS, columns * cell_w + GAP_PIXELS, 3), GAP_COLOUR, np.uint8)
    for i, frame in enumerate(picked):
        top, left = GAP_PIXELS + (i // columns) * cell_h, GAP_PIXELS + (i % columns) * cell_w
        sheet[top: top + height * scale, left: left + width * scale] = frame
    return sheet


def save_contact_sheet(frames: np.ndarray, path: str | os.PathLike) -> None:
    # matplotlib.image.imsave needs no GUI backend, so this works on a headless machine.
    from matplotlib.image import imsave

    imsave(path, contact_sheet(frames), format="png")
