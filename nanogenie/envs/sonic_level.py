"""Procedural levels for the sonic simulator: a height-map of rolling hills with pits, rings and enemies.

Everything is in world units (the screen is 64 x 64, y grows downward) and drawn from one
`np.random.Generator`, so a seed always makes the same level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEVEL_WIDTH = 2048  # world units; a hero at top speed crosses it in ~450 frames, a random walker rarely does
PIT = 1e4  # surface height inside a pit: far below the screen, so nothing ever lands there
START_X = 24.0
FLAT_START = 64  # the first units are flat and safe, so every episode starts the same way


@dataclass
class Enemy:
    x: float
    low: float  # patrol bounds
    high: float
    speed: float
    direction: int  # -1 or +1
    alive: bool = True


@dataclass
class Level:
    surface: np.ndarray  # (LEVEL_WIDTH,) float: ground height per world column, PIT inside pits
    heights: list[float]  # the same as a Python list: scalar look-ups in the physics loop are 10x faster
    ring_x: list[float]  # sorted by x
    ring_y: list[float]
    enemies: list[Enemy]
    hill_profile: np.ndarray  # (LEVEL_WIDTH // 2 + 64,) float: top of the distant hills (parallax layer)
    clouds: list[tuple[float, float, float, float]]  # (x, y, half width, half height) in the parallax layer

    def height_at(self, x: float) -> float:
        return self.heights[min(max(int(x), 0), LEVEL_WIDTH - 1)]


def _waves(rng: np.random.Generator, xs: np.ndarray, bands: list[tuple[float, float, float]]) -> np.ndarray:
    """Sum of sines; each band is (amplitude, shortest wavelength, longest wavelength)."""
    out = np.zeros(len(xs))
    for amplitude, low, high in bands:
        out += amplitude * np.sin(2 * np.pi * xs / rng.uniform(low, high) + rng.uniform(0, 2 * np.pi))
    return out


def _pick_spans(rng: np.random.Generator, count: int, lo: int, hi: int, width: tuple[int, int],
                gap: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Up to `count` random [start, end) spans in [lo, hi), at least `gap` apart from each other and `taken`."""
    spans: list[tuple[int, int]] = []
    for _ in range(count * 20):
        if len(spans) == count:
            break
        start = int(rng.integers(lo, hi))
        end = start + int(rng.integers(width[0], width[1] + 1))
        if all(end + gap <= s or start >= e + gap for s, e in spans + taken):
            spans.append((start, end))
    return sorted(spans)


def generate_level(rng: np.random.Generator) -> Level:
    xs = np.arange(LEVEL_WIDTH, dtype=np.float64)
    hills = _waves(rng, xs, [(6.0, 200, 360), (3.5, 80, 140), (1.5, 34, 52)])
    # ramp the hills in after the flat start, so the first frames of every episode look alike
    ramp = np.clip((xs - FLAT_START) / 64, 0, 1)
    smooth = np.clip(45.0 + ramp * (hills - hills[FLAT_START]), 32, 56)

    pits = _pick_spans(rng, int(rng.integers(2, 5)), 200, LEVEL_WIDTH - 120, (10, 14), gap=160, taken=[])
    surface = smooth.copy()
    for start, end in pits:
        surface[start:end] = PIT

    # enemies patrol flat-ish stretches that hold no pit
    enemies = []
    patrols = _pick_spans(rng, int(rng.integers(4, 8)), 140, LEVEL_WIDTH - 80, (30, 56), gap=24, taken=pits)
    for start, end in patrols:
        enemies.append(Enemy(x=float(rng.uniform(start + 4, end - 4)), low=start + 4.0, high=end - 4.0,
                             speed=float(rng.uniform(0.5, 0.9)), direction=int(rng.choice([-1, 1]))))

    # rings come in rows of 3-5, either just above the ground or at jump height; rows over pits teach
    # the model that rings float independently of the terrain
    ring_x: list[float] = []
    ring_y: list[float] = []
    x = 70.0
    while x < LEVEL_WIDTH - 60:
        count = int(rng.integers(3, 6))
        lift = float(rng.choice([7.0, 7.0, 16.0]))
        for i in range(count):
            rx = x + 7.0 * i
            ring_x.append(rx)
            ring_y.append(float(smooth[int(rx)]) - lift)
        x += 7.0 * count + float(rng.uniform(40, 110))

    hill_xs = np.arange(LEVEL_WIDTH // 2 + 64, dtype=np.float64)
    hill_profile = 31.0 + _waves(rng, hill_xs, [(5.0, 90, 160), (2.5, 30, 60)])
    cloud_x = np.arange(0, len(hill_xs), 48.0)
    cloud_x += rng.uniform(0, 40, size=len(cloud_x))  # one cloud per 48 units, placed at random within it
    clouds = [(float(cx), float(rng.uniform(6, 16)), float(rng.uniform(5, 10)), float(rng.uniform(2, 3.5)))
              for cx in cloud_x]
    return Level(surface=surface, heights=surface.tolist(), ring_x=ring_x, ring_y=ring_y, enemies=enemies,
                 hill_profile=hill_profile, clouds=clouds)
