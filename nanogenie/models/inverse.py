"""Inverse model: three frames x_t-1, x_t, x_t+1 -> which action took x_t to x_t+1, as logits over A actions.

Notation: N transitions, A actions, H x W frames.

Two users, one network:
  * the supervised ceiling beside every latent-action figure (eval/lam_bench.py) learns it from the true
    actions: how much of the action the frames show at all;
  * the LAM's second phase (models/lam.py, `inverse`) learns it from the LAM's own codes on its training
    data, and then names the codes. The heads' argmin decides each transition alone, from the squared error of
    a whole frame, where one unrelated cell can swing it; a classifier trained on those noisy codes learns what
    the codes share, so it names them more consistently than the heads that made them
    (docs/lab/2026-12-03-inverse-on-codes.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

TRANSITION_CHANNELS = 12  # x_t-1, x_t, x_t+1 and x_t+1 - x_t, 3 colours each
PAST_CHANNELS = 6  # x_t-1, x_t: the leak, which must not know what happens next


def transition_channels(prev: Tensor, now: Tensor, after: Tensor | None) -> Tensor:
    """Frames (N, 3, H, W) -> the model's input (N, 12, H, W): x_t-1, x_t, x_t+1 and the change x_t+1 - x_t
    (given directly: what an action did is a difference, and a first layer would spend itself making it).
    Without `after`, (N, 6, H, W): the past only, for the leak."""
    if after is None:
        return torch.cat((prev, now), dim=1)
    return torch.cat((prev, now, after, after - now), dim=1)


class GlobalPool(nn.Module):
    """(N, C, h, w) -> (N, 2C): each feature's largest and mean response anywhere in the frame."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat((x.amax(dim=(2, 3)), x.mean(dim=(2, 3))), dim=1)


class InverseModel(nn.Module):
    """(N, channels, H, W) -> action logits (N, actions): two full-resolution convolutions, two stride-2
    ones, then the largest and the mean response of each feature anywhere in the frame, and an MLP.

    The full-resolution start sees a one-pixel step of a 2-pixel agent, which a first stride-2 layer
    would blur into its neighbours, and the maximum over the frame finds that agent wherever it is.
    No normalisation layer: one that normalises each feature over the whole frame left this model at
    chance on such an agent (docs/lab/2026-12-03-ceiling-and-cells.md)."""

    def __init__(self, actions: int, channels: int = TRANSITION_CHANNELS, width: int = 16):
        super().__init__()

        def conv(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Module:
            return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2 if stride == 1 else 1),
                                 nn.SiLU())

        w = width
        self.net = nn.Sequential(conv(channels, 2 * w), conv(2 * w, 2 * w), conv(2 * w, 4 * w, 4, 2),
                                 conv(4 * w, 4 * w, 4, 2), GlobalPool(), nn.Linear(8 * w, 256), nn.SiLU(),
                                 nn.Linear(256, actions))

    def forward(self, inputs: Tensor) -> Tensor:
        return self.net(inputs)

    def training_loss(self, inputs: Tensor, actions: Tensor) -> tuple[Tensor, dict[str, float]]:
        """inputs (N, channels, H, W), actions (N,) long -> cross-entropy, and how often the most likely
        action is the given one (`accuracy`)."""
        logits = self(inputs)
        loss = F.cross_entropy(logits.float(), actions)
        predicted = logits.detach().argmax(dim=1)
        return loss, {"loss": loss.item(), "accuracy": (predicted == actions).float().mean().item()}
