"""What every simulator shares: the `Env` interface, pixel-art sprites and clipped numpy blits.

Worlds are described in units of a 64-pixel screen and drawn at any `size` by scaling: a sprite is
written once as ASCII art and resampled with nearest-neighbour, so 32, 48, 64 or 96 pixel frames show
the same game. Drawing is numpy slicing only (masked `copyto`), never a per-pixel Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanogenie.errors import UserError

WORLD_UNITS = 64  # the screen is 64 world units wide and tall, whatever the pixel size
MIN_SIZE = 16  # below this the sprites lose their shapes
MAX_SIZE = 512


def clamp(value: float, low: float, high: float) -> float:
    """value within [low, high]; plain floats, where np.clip's per-call cost would dominate a simulator's step."""
    return low if value < low else high if value > high else value


class Env:
    """A game simulator: `reset(seed)` then `step(action)` until `done`; both return (size, size, 3) uint8."""

    name: str = ""
    action_names: list[str] = []
    fps: int = 10
    policy_weights: tuple[float, ...] | None = None  # how often the behaviour policy picks each action

    def __init__(self, size: int = 64):
        if not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
            raise UserError(f"frame size {size!r} is not supported by env {self.name!r}: "
                            f"use a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}, e.g. 64")
        self.size = int(size)
        self.scale = self.size / WORLD_UNITS  # pixels per world unit
        self.done = False
        self.t = 0  # steps since reset

    @property
    def num_actions(self) -> int:
        return len(self.action_names)

    def reset(self, seed: int) -> np.ndarray:
        raise NotImplementedError

    def step(self, action: int) -> np.ndarray:
        raise NotImplementedError

    def _check_step(self, action: int) -> int:
        if self.done:
            raise RuntimeError(f"{self.name}: step() after the episode ended; call reset(seed) first")
        if not 0 <= action < self.num_actions:
            raise UserError(f"action {action} is out of range for env {self.name!r}: "
                            f"use 0..{self.num_actions - 1} ({', '.join(self.action_names)})")
        return int(action)

    def px(self, units: float) -> int:
        """World units -> whole pixels."""
        return int(round(units * self.scale))


@dataclass(frozen=True)
class Sprite:
    rgb: np.ndarray  # (h, w, 3) uint8
    mask: np.ndarray  # (h, w, 1) bool, True where the sprite is opaque

    @property
    def h(self) -> int:
        return self.rgb.shape[0]

    @property
    def w(self) -> int:
        return self.rgb.shape[1]

    def mirrored(self) -> Sprite:
        return Sprite(self.rgb[:, ::-1].copy(), self.mask[:, ::-1].copy())


def sprite_from_art(rows: list[str], palette: dict[str, tuple[int, int, int]], scale: float) -> Sprite:
    """ASCII art ('.' = transparent, other characters = palette keys) -> a sprite resampled by `scale`."""
    art = np.array([list(row) for row in rows])  # (h, w) characters
    h, w = art.shape
    out_h, out_w = max(1, round(h * scale)), max(1, round(w * scale))
    # nearest-neighbour: each output pixel samples the art cell under its centre
    rows_idx = np.minimum(((np.arange(out_h) + 0.5) * h / out_h).astype(int), h - 1)
    cols_idx = np.minimum(((np.arange(out_w) + 0.5) * w / out_w).astype(int), w - 1)
    art = art[rows_idx][:, cols_idx]
    rgb = np.zeros((out_h, out_w, 3), np.uint8)
    for key, colour in palette.items():
        rgb[art == key] = colour
    return Sprite(rgb, (art != ".")[..., None])


def blit(frame: np.ndarray, sprite: Sprite, left: int, top: int) -> None:
    """Draw `sprite` with its top-left corner at pixel (left, top), clipped to the frame."""
    height, width = frame.shape[:2]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + sprite.w, width), min(top + sprite.h, height)
    if x0 >= x1 or y0 >= y1:
        return
    sx, sy = x0 - left, y0 - top
    np.copyto(frame[y0:y1, x0:x1], sprite.rgb[sy:sy + y1 - y0, sx:sx + x1 - x0],
              where=sprite.mask[sy:sy + y1 - y0, sx:sx + x1 - x0])


def fill_rect(frame: np.ndarray, left: int, top: int, width: int, height: int, colour: tuple[int, int, int]) -> None:
    """Fill a pixel rectangle, clipped to the frame."""
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + width, frame.shape[1]), min(top + height, frame.shape[0])
    if x0 < x1 and y0 < y1:
        frame[y0:y1, x0:x1] = colour
