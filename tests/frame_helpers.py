"""What tests read off a simulator's frames."""

import numpy as np


def colour_box(frame: np.ndarray, colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """(left, top, width, height) in pixels of the pixels painted exactly `colour` in `frame` (H, W, 3)."""
    ys, xs = np.nonzero((frame == colour).all(axis=-1))
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)
