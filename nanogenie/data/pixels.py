"""The one conversion between stored pixels and model pixels.

Stored: uint8 (..., H, W, 3) in [0, 255], as HDF5 files, prompts and recordings hold them.
Model: float (..., 3, H, W) in [-1, 1], as every model reads and writes them.
"""

from __future__ import annotations

import numpy as np
import torch


def to_model(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float32 (..., 3, H, W) in [-1, 1]."""
    if not torch.is_tensor(frames):
        frames = torch.from_numpy(np.ascontiguousarray(frames))
    return frames.movedim(-1, -3).float().div_(127.5).sub_(1.0)


def to_stored(pixels: torch.Tensor) -> torch.Tensor:
    """float (..., 3, H, W) in [-1, 1] (values outside are clipped) -> uint8 (..., H, W, 3)."""
    return ((pixels.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).movedim(-3, -1)
