"""The tokenizer's local encoder: a stack of residual MLPs applied to each patch feature on its own.

Notation: B batch, T frames, P patches, D width. In place of the encoder transformer, it makes a token a
function of its own patch (and position) alone, so a change in one patch changes one token: a still
background keeps its tokens while the hero moves, and the dynamics predicts only what moved. A transformer
encoder, even per frame, lets spatial attention carry one patch's change into tokens across the frame
(docs/lab/NOTES.md, "A local encoder under the conv head").
"""

from __future__ import annotations

from torch import Tensor, nn


class PatchMLP(nn.Module):
    """x + mlp(norm(x)), `depth` times, on (..., D): the same shape in as out, nothing mixed across patches."""

    def __init__(self, width: int, depth: int, expansion: int = 4):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.Linear(width, expansion * width), nn.GELU(),
                          nn.Linear(expansion * width, width))
            for _ in range(depth))

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = x + block(x)
        return x
