"""The tokenizer's convolutional stem and head: frames <-> a grid of patch features, one stride-2 stage
per halving, a residual block at each resolution.

Notation: N images, C channels of a stage, D the transformer width, H x W a frame, h x w = H/p x W/p
the patch grid. A linear patch embedding sees each p x p patch alone and draws it back from one vector;
the stem shares edges and textures across patches and resolutions, which is what lets a few bits per
patch come back as a sharp sprite (docs/lab/NOTES.md, "A convolutional tokenizer").
"""

from __future__ import annotations

from torch import Tensor, nn


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ResBlock(nn.Module):
    """x + conv(act(norm(conv(act(norm(x)))))), shape (N, C, H, W) kept."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(_norm(channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
                                  _norm(channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ConvStem(nn.Module):
    """(N, 3, H, W) -> (N, D, h, w): `channels[i]` wide at H / 2^i, halved len(channels) times."""

    def __init__(self, channels: list[int], width: int):
        super().__init__()
        widths = [*channels, width]
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1)]
        for c, c_next in zip(widths[:-1], widths[1:]):
            layers += [ResBlock(c), nn.Conv2d(c, c_next, 4, stride=2, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, images: Tensor) -> Tensor:
        return self.layers(images)


class ConvHead(nn.Module):
    """(N, D, h, w) -> (N, 3, H, W): the stem mirrored, nearest-neighbour upsampling then a conv per stage."""

    def __init__(self, channels: list[int], width: int):
        super().__init__()
        widths = [width, *reversed(channels)]
        layers: list[nn.Module] = []
        for c, c_next in zip(widths[:-1], widths[1:]):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c_next, 3, padding=1),
                       ResBlock(c_next)]
        layers += [_norm(widths[-1]), nn.SiLU(), nn.Conv2d(widths[-1], 3, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, features: Tensor) -> Tensor:
        return self.layers(features)
