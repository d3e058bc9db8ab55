"""Where the player is, by its colour (`lam.focus`): the one place that reads a user's colour off frames, for the
latent action model's scoring and inverse model (models/lam.py) and for the keys proposed from a video
(play/propose.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

FOCUS_TOLERANCE = 0.15  # on the [-1, 1] scale, ~19 of 255 on each channel, so compression and resizing keep the player


def colour_pixels(frames: Tensor, colour: list[int]) -> Tensor:
    """frames (N, F, 3, H, W) in [-1, 1] -> (N, 1, H, W) float: 1 where any of a transition's F frames has a pixel
    within FOCUS_TOLERANCE of `colour` (R, G, B, 0-255) on every channel."""
    target = torch.tensor(colour, device=frames.device, dtype=torch.float32).view(1, 1, 3, 1, 1) / 127.5 - 1
    near = frames.float().sub(target).abs().amax(dim=2)  # (N, F, H, W)
    return near.le(FOCUS_TOLERANCE).any(dim=1, keepdim=True).float()


def grown(found: Tensor, reach: int) -> Tensor:
    """found (N, 1, h, w) of 0 and 1 -> the same grown by `reach` places each way (a square); a transition with
    nothing found is all ones, so that it is read whole rather than not at all."""
    near = F.max_pool2d(found, 2 * reach + 1, stride=1, padding=reach)
    absent = near.flatten(1).amax(dim=1) == 0
    return torch.where(absent[:, None, None, None], torch.ones_like(near), near)
