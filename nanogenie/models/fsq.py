"""Finite scalar quantisation: each of d channels is bounded and rounded to one of `levels[i]` values.

Notation: ... any leading dims, d = len(levels). A code is a point of the grid, with channel i taking the
values {-L//2 .. (L-1)//2} / (L//2) (so in [-1, 1]); its index is the mixed-radix number of the grid
coordinates, so there are prod(levels) codes and no codebook to learn or collapse.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def round_ste(x: Tensor) -> Tensor:
    """Round in the forward pass, identity in the backward pass (straight-through)."""
    return x + (x.round() - x).detach()


class FSQ(nn.Module):
    """Bound, round (straight-through) and map codes <-> integer indices. Always computes in fp32."""

    def __init__(self, levels: list[int], eps: float = 1e-3):
        super().__init__()
        if not levels or any(level < 2 for level in levels):
            raise ValueError(f"FSQ levels must all be >= 2, got {levels}")
        self.levels_list = list(levels)
        self.eps = eps
        levels_t = torch.tensor(levels, dtype=torch.float32)
        basis = torch.cumprod(torch.tensor([1] + list(levels[:-1]), dtype=torch.long), dim=0)
        # Non-persistent: rebuilt from the config, so checkpoints hold no FSQ state.
        self.register_buffer("levels", levels_t, persistent=False)  # (d,)
        self.register_buffer("basis", basis, persistent=False)  # (d,) mixed-radix place values
        self.register_buffer("half_width", (levels_t // 2), persistent=False)  # (d,)

    @property
    def dim(self) -> int:
        return len(self.levels_list)

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels_list)

    def bound(self, z: Tensor) -> Tensor:
        """Squash z into (-L/2, L/2) per channel, shifted for even L so rounding gives exactly L values.

        For even L the grid {-L/2 .. L/2 - 1} is not symmetric: the half-step `offset` moves the tanh
        range down by 0.5 and `shift` moves z so that z = 0 still maps to 0.
        """
        half_l = (self.levels - 1) * (1 + self.eps) / 2
        offset = torch.where(self.levels % 2 == 0, 0.5, 0.0)
        shift = torch.atanh(offset / half_l)
        return torch.tanh(z + shift) * half_l - offset

    def forward(self, z: Tensor) -> Tensor:
        """(..., d) any float -> (..., d) fp32 codes on the grid, gradients straight through."""
        quantized = round_ste(self.bound(z.float()))
        return quantized / self.half_width

    def codes_to_indices(self, codes: Tensor) -> Tensor:
        """(..., d) codes -> (...) long indices in [0, codebook_size)."""
        digits = (codes.float() * self.half_width + self.half_width).round().long()
        return (digits * self.basis).sum(dim=-1)

    def indices_to_digits(self, indices: Tensor) -> Tensor:
        """(...) long -> (..., d) long grid coordinates, channel i's in [0, levels[i])."""
        return (indices.long().unsqueeze(-1) // self.basis) % self.levels.long()

    def indices_to_codes(self, indices: Tensor) -> Tensor:
        """(...) long -> (..., d) fp32 codes."""
        return (self.indices_to_digits(indices).float() - self.half_width) / self.half_width

    def all_codes(self) -> Tensor:
        """(codebook_size, d) fp32: every code, in index order."""
        return self.indices_to_codes(torch.arange(self.codebook_size, device=self.basis.device))

    def soft_assignment(self, z: Tensor, temperature: float = 0.5) -> Tensor:
        """(..., d) pre-quantisation values -> (..., codebook_size) soft code probabilities.

        Used for a differentiable code-usage term: the distance of the bounded value to every grid
        point per channel, combined across channels as a product (a sum of log-probabilities).
        """
        bounded = self.bound(z.float())  # (..., d) in grid units
        grid = self.all_codes() * self.half_width  # (C, d) in grid units
        dist = (bounded.unsqueeze(-2) - grid) ** 2  # (..., C, d)
        log_probs = torch.log_softmax(-dist.sum(-1) / temperature, dim=-1)
        return log_probs.exp()
