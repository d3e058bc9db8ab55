"""The latent action model's reader (models/lam.py): frames as a grid of p x p cells -> features per cell.

Notation: N transitions, F frames, p patch size, C width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def with_places(grid: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, C + 2, H, W): each place's y and x on the screen in [-1, 1] as two more channels."""
    y, x = (torch.linspace(-1, 1, n, device=grid.device, dtype=grid.dtype) for n in grid.shape[-2:])
    places = torch.stack(torch.meshgrid(y, x, indexing="ij"))[None].expand(len(grid), -1, -1, -1)
    return torch.cat((grid, places), dim=1)


def _conv(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2 if stride == 1 else 1),
                         nn.GroupNorm(8, cout), nn.SiLU())


class CellNet(nn.Module):
    """Frames as cells (N, F, 3, H, W) -> features per cell (N, C, H/p, W/p): a small U-Net whose one
    downsampling lets each cell see its neighbours' neighbours (a sprite and where it is heading)."""

    def __init__(self, frames: int, patch_size: int, width: int, position: bool = False):
        super().__init__()
        self.patch_size, self.position = patch_size, position
        c = width
        self.inp = _conv(3 * frames * patch_size ** 2 + 2 * position, c)
        self.down = _conv(c, 2 * c, kernel=4, stride=2)
        self.mid = _conv(2 * c, 2 * c)
        self.up = nn.Sequential(nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.GroupNorm(8, c), nn.SiLU())
        self.fuse = _conv(2 * c, c)

    def forward(self, frames: Tensor) -> Tensor:
        cells = F.pixel_unshuffle(frames.flatten(1, 2), self.patch_size)  # (N, F 3 p p, H/p, W/p)
        if self.position:
            cells = with_places(cells)
        h = self.inp(cells)  # (N, C, H/p, W/p)
        return self.fuse(torch.cat((self.up(self.mid(self.down(h))), h), dim=1))
