"""A toy regression stage for testing the training loop without the real models."""

from __future__ import annotations

import torch
from torch import nn

from nanogenie.training.loop import Stage, sample_indices


class ToyModel(nn.Module):
    def __init__(self, nan_at_call: int | None = None, noise: float = 0.01):
        super().__init__()
        self.noise = noise
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
        self.calls = 0
        self.nan_at_call = nan_at_call

    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        self.calls += 1
        noise = self.noise * torch.randn_like(y)  # a draw from the global RNG, as dynamics masking makes
        loss = (self.net(x) - y - noise).pow(2).mean()
        if self.nan_at_call is not None and self.calls >= self.nan_at_call:
            loss = loss * float("nan")
        return loss, {"mse": loss.item()}


def toy_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    x = torch.randn(64, 4, generator=g)
    return x, x.sum(dim=1, keepdim=True).sin()


def toy_stage(model: ToyModel, steps: int, batch_size: int = 8) -> Stage:
    x, y = toy_data()

    def sample(generator: torch.Generator, rank: int, world_size: int) -> tuple[torch.Tensor, ...]:
        picks = sample_indices(len(x), batch_size, generator, rank, world_size)
        return x[picks], y[picks]

    return Stage("tokenizer", model, model.training_loss, sample, steps)
