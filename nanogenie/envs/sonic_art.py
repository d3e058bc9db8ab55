"""How the sonic simulator looks: flat colours, strong contrast, sprites as ASCII art.

The static layers (terrain, and sky + distant hills + clouds) are drawn once per episode into wide
strips at the output resolution; a frame is then two window copies plus a few sprite blits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanogenie.envs.base import WORLD_UNITS, Sprite, sprite_from_art
from nanogenie.envs.sonic_level import LEVEL_WIDTH, PIT, Level

SKY_TOP = np.array([40, 90, 210])
SKY_HORIZON = np.array([150, 205, 250])
HILLS = (44, 104, 120)  # distant hills: darker and bluer than the ground so they read as far away
CLOUD = (236, 242, 252)
GRASS = (70, 200, 60)
GRASS_EDGE = (30, 120, 40)
DIRT_LIGHT = (176, 104, 48)
DIRT_DARK = (128, 70, 34)
CHECKER = 8  # world units per dirt square

PALETTE = {
    "B": (30, 90, 235),  # hero blue
    "D": (15, 45, 150),  # dark blue shading
    "L": (120, 180, 255),  # light blue highlight
    "W": (255, 255, 255),
    "K": (10, 10, 20),
    "S": (245, 200, 150),  # skin
    "R": (225, 30, 30),  # shoes / enemy shell
    "M": (140, 15, 20),  # enemy dark red
    "Y": (255, 220, 40),  # rings
    "O": (200, 140, 0),  # ring shade
}

# the hero faces right; left-facing sprites are mirrors
HERO_STAND = [
    "...DBBBB..",
    "..DBBBBBB.",
    "DDBBBBWWK.",
    ".DBBBBWWKS",
    "DDBBBBSSSS",
    "..DBBBSSS.",
    "...BBBB...",
    "...BSSBW..",
    "...BBB....",
    "...S..S...",
    "..RR..RR..",
]
HERO_RUN = [
    "...DBBBB..",
    "..DBBBBBB.",
    "DDBBBBWWK.",
    ".DBBBBWWKS",
    "DDBBBBSSSS",
    "..DBBBSSS.",
    "...BBBB.W.",
    "..WBSSB...",
    "...BBBB...",
    "..S....S..",
    ".RR.....RR",
]
HERO_JUMP = [
    "..W.....W.",
    "...DBBBBS.",
    "..DBBBBBB.",
    "DDBBBBWWK.",
    ".DBBBBWWKS",
    "DDBBBBSSSS",
    "..DBBBSSS.",
    "...BSSB...",
    "...BBBB...",
    "....S.S...",
    "...RR.RR..",
]
BALL = [
    "..DDDDD..",
    ".DBBBBBD.",
    "DBLLBBBBD",
    "DBLBBBBBD",
    "DBBBBBDBD",
    "DBBBBDBBD",
    ".DBBDBBD.",
    "..DDDDD..",
]
BALL_SPUN = [
    "..DDDDD..",
    ".DBBBBBD.",
    "DBLLBBBBD",
    "DBLBBDBBD",
    "DBBBBDBBD",
    "DBBBBDBBD",
    ".DBBBBBD.",
    "..DDDDD..",
]
RING = [
    ".YYY.",
    "Y...O",
    "Y...O",
    "Y...O",
    ".OOO.",
]
ENEMY = [
    "...RRR...",
    ".RRRRRRR.",
    "RRWKRRRRR",
    "RRRRRMRRM",
    ".MMMMMMM.",
    ".K..K..K.",
]
ENEMY_STEP = [
    "...RRR...",
    ".RRRRRRR.",
    "RRWKRRRRR",
    "RRRRRMRRM",
    ".MMMMMMM.",
    "K..K..K..",
]


@dataclass(frozen=True)
class SonicSprites:
    hero: dict[str, tuple[Sprite, Sprite]]  # pose -> (facing right, facing left)
    ring: Sprite
    enemy: tuple[tuple[Sprite, Sprite], tuple[Sprite, Sprite]]  # walk frame -> (walking right, walking left)


def make_sprites(scale: float) -> SonicSprites:
    def pair(art: list[str]) -> tuple[Sprite, Sprite]:
        sprite = sprite_from_art(art, PALETTE, scale)
        return sprite, sprite.mirrored()

    hero = {"stand": pair(HERO_STAND), "run": pair(HERO_RUN), "jump": pair(HERO_JUMP),
            "ball": pair(BALL), "ball_spun": pair(BALL_SPUN)}
    # the enemy art looks left; mirror order makes index 0 the right-walking one
    enemy = tuple(pair(art)[::-1] for art in (ENEMY, ENEMY_STEP))
    return SonicSprites(hero=hero, ring=sprite_from_art(RING, PALETTE, scale), enemy=enemy)


def _world_columns(width_px: int, scale: float, limit: int) -> np.ndarray:
    return np.minimum((np.arange(width_px) / scale).astype(int), limit - 1)


def render_terrain(level: Level, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The whole level's ground: colours (size, W, 3) uint8 and where it is solid (size, W, 1) bool."""
    scale = size / WORLD_UNITS
    width = int(np.ceil(LEVEL_WIDTH * scale))
    cols = _world_columns(width, scale, LEVEL_WIDTH)
    top = level.surface[cols][None, :]  # (1, W) world units
    rows = ((np.arange(size) + 0.5) / scale)[:, None]  # (size, 1) world units at pixel centres
    depth = rows - top  # (size, W) world units below the surface
    solid = (depth >= 0) & (top < PIT)
    checker = ((cols[None, :] // CHECKER) + (rows.astype(int) // CHECKER)) % 2 == 0
    colours = np.empty((size, width, 3), np.uint8)
    colours[:] = DIRT_DARK
    colours[checker] = DIRT_LIGHT
    colours[depth < 4.0] = GRASS_EDGE
    colours[depth < 3.0] = GRASS
    return colours, solid[..., None]


def render_backdrop(level: Level, size: int) -> np.ndarray:
    """Sky gradient, clouds and distant hills as one strip (size, W, 3) that scrolls at half speed."""
    scale = size / WORLD_UNITS
    width = int(np.ceil(len(level.hill_profile) * scale))
    rows = (np.arange(size) + 0.5) / scale  # world units
    mix = np.clip(rows / 40.0, 0, 1)[:, None]
    sky = (SKY_TOP * (1 - mix) + SKY_HORIZON * mix).astype(np.uint8)  # (size, 3)
    strip = np.repeat(sky[:, None, :], width, axis=1)
    cols = (np.arange(width) + 0.5) / scale
    for cx, cy, half_w, half_h in level.clouds:
        x0, x1 = max(int((cx - half_w) * scale), 0), min(int(np.ceil((cx + half_w) * scale)), width)
        y0, y1 = max(int((cy - half_h) * scale), 0), int(np.ceil((cy + half_h) * scale))
        if x0 >= x1:
            continue
        inside = (((cols[None, x0:x1] - cx) / half_w) ** 2 + ((rows[y0:y1, None] - cy) / half_h) ** 2) <= 1
        strip[y0:y1, x0:x1][inside] = CLOUD
    hill_cols = _world_columns(width, scale, len(level.hill_profile))
    strip[rows[:, None] >= level.hill_profile[hill_cols][None, :]] = HILLS
    return strip
