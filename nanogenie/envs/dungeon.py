"""Dungeon: a top-down room where a hero walks among monsters that wander like it, a measurement world
for latent actions.

The hero and 3-4 monsters are 3x3-unit sprites on a fixed (non-scrolling) screen; the hero steps 2 units
per frame in the held direction, and each monster holds a random direction (or stands) for 3-15 frames,
so monsters move exactly the way a randomly played hero would. Only the hero's steps follow the
action; a latent action model must tell its 2-pixel move from theirs. Gems vanish when the hero
touches them and reappear on another floor tile, so the scene stays lively.

World units: the screen is 64 x 64 (y grows downward), laid out as a 16 x 16 grid of 4-unit cells;
positions are top-left corners on the unit grid (ints). A move that would overlap a wall cell is
blocked: the mover stays where it was.

Monsters pass through the hero (and each other): a touch that sent the hero back to its start would
move it without any action, which is exactly the motion this world must keep attributable to actions.
"""

from __future__ import annotations

import numpy as np

from nanogenie.envs.base import Env, blit, sprite_from_art

CELL = 4  # units per layout cell: walls are whole cells
GRID = 64 // CELL
SEGMENT_TRIES = 14  # interior wall segments attempted; one that would cut the floor in two is skipped
SEGMENT_CELLS = (2, 6)  # a segment's length in cells, inclusive
HERO = 3  # side, units (monsters share it)
HERO_SPEED = 2
MONSTERS = (3, 4)  # how many, inclusive
MONSTER_SPEEDS = (1, 2)  # each monster's own pace, units per frame
HOLD = (3, 15)  # frames a monster keeps a direction, inclusive
GEMS = 3
GEM = 2  # side, units; drawn centred in its floor cell
MAX_STEPS = 400

FLOOR = ((40, 36, 48), (47, 42, 56))  # checker of the two, one tile per cell: a subtle pattern
WALL, WALL_TOP, WALL_SHADOW = (92, 86, 118), (132, 124, 160), (62, 56, 82)
HERO_ART, HERO_PALETTE = ["HHH", "HHH", "HHH"], {"H": (255, 236, 96)}  # bright, and its colour alone
MONSTER_ART = ["MMM", "MEM", "M.M"]  # body, dark eye, two legs
MONSTER_COLOURS = [(225, 60, 60), (175, 85, 235), (70, 200, 95), (240, 140, 40)]
EYE = (20, 16, 24)
GEM_ART, GEM_PALETTE = ["GG", "GG"], {"G": (90, 230, 255)}

IDLE, UP, DOWN, LEFT, RIGHT = range(5)
MOVES = ((0, 0), (0, -1), (0, 1), (-1, 0), (1, 0))  # (dx, dy) per action; monsters draw from the same


def connected(floor: np.ndarray) -> bool:
    """Whether every True cell of a (GRID, GRID) bool grid is reachable from any other in 4-way steps."""
    reached = np.zeros_like(floor)
    first = np.argwhere(floor)
    if len(first) == 0:
        return True
    reached[tuple(first[0])] = True
    while True:  # grow the reached region one step in each direction until it stops changing
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= floor
        if np.array_equal(grown, reached):
            return bool(np.array_equal(reached, floor))
        reached = grown


def generate_walls(rng: np.random.Generator) -> np.ndarray:
    """(GRID, GRID) bool, True = wall: a border plus straight interior segments that keep the floor connected."""
    walls = np.zeros((GRID, GRID), bool)
    walls[[0, -1], :] = walls[:, [0, -1]] = True
    for _ in range(SEGMENT_TRIES):
        length = int(rng.integers(SEGMENT_CELLS[0], SEGMENT_CELLS[1] + 1))
        row, col = (int(v) for v in rng.integers(2, GRID - 2, 2))  # keep a free lane along the border
        trial = walls.copy()
        if rng.random() < 0.5:
            trial[row, col:min(col + length, GRID - 2)] = True
        else:
            trial[row:min(row + length, GRID - 2), col] = True
        if connected(~trial):
            walls = trial
    return walls


class DungeonEnv(Env):
    name = "dungeon"
    action_names = ["idle", "up", "down", "left", "right"]
    policy_weights = (1.0, 1.0, 1.0, 1.0, 1.0)

    def __init__(self, size: int = 64):
        super().__init__(size)
        self.hero_sprite = sprite_from_art(HERO_ART, HERO_PALETTE, self.scale)
        self.monster_sprites = [sprite_from_art(MONSTER_ART, {"M": colour, "E": EYE}, self.scale)
                                for colour in MONSTER_COLOURS]
        self.gem_sprite = sprite_from_art(GEM_ART, GEM_PALETTE, self.scale)

    def reset(self, seed: int) -> np.ndarray:
        # separate streams so the hero's gem pickups never change how the monsters wander
        layout, wander, gems = np.random.SeedSequence(seed).spawn(3)
        layout_rng = np.random.default_rng(layout)
        self.wander_rng, self.gem_rng = np.random.default_rng(wander), np.random.default_rng(gems)
        self.done, self.t, self.score = False, 0, 0
        self.walls = generate_walls(layout_rng)
        floor_cells = np.argwhere(~self.walls)  # (F, 2) row, col
        n = int(layout_rng.integers(MONSTERS[0], MONSTERS[1] + 1))
        picks = layout_rng.choice(len(floor_cells), 1 + n, replace=False)
        corners = floor_cells[picks][:, ::-1] * CELL  # (1 + n, 2) x, y of distinct free cells
        self.start = (int(corners[0, 0]), int(corners[0, 1]))
        self.hero_x, self.hero_y = self.start
        self.monster_pos = corners[1:].astype(np.int64)  # (n, 2) x, y
        self.monster_speed = layout_rng.choice(MONSTER_SPEEDS, n)  # (n,)
        self.monster_dir = np.zeros(n, np.int64)  # index into MOVES
        self.monster_timer = np.zeros(n, np.int64)  # frames left on the current direction; 0 = choose anew
        self.monster_colour = layout_rng.permutation(len(MONSTER_COLOURS))[:n]
        self.gems = [self._free_gem_spot([]) for _ in range(GEMS)]  # (x, y) corners
        self.backdrop = self._render_backdrop()
        return self._render()

    def step(self, action: int) -> np.ndarray:
        action = self._check_step(action)
        self.t += 1
        dx, dy = MOVES[action]
        x, y = self.hero_x + dx * HERO_SPEED, self.hero_y + dy * HERO_SPEED
        if not self.blocked(x, y):
            self.hero_x, self.hero_y = x, y
        self._move_monsters()
        for i, gem in enumerate(self.gems):
            if self._hero_touches(*gem):
                self.gems[i] = self._free_gem_spot([g for j, g in enumerate(self.gems) if j != i])
                self.score += 1
        if self.t >= MAX_STEPS:
            self.done = True
        return self._render()

    def blocked(self, x: int, y: int) -> bool:
        """Whether a 3x3-unit sprite with its top-left corner at (x, y) would overlap a wall cell."""
        return bool(self.walls[y // CELL:(y + HERO - 1) // CELL + 1, x // CELL:(x + HERO - 1) // CELL + 1].any())

    def _move_monsters(self) -> None:
        for i in range(len(self.monster_pos)):
            if self.monster_timer[i] <= 0:
                self.monster_dir[i] = int(self.wander_rng.integers(len(MOVES)))  # standing still is a choice too
                self.monster_timer[i] = int(self.wander_rng.integers(HOLD[0], HOLD[1] + 1))
            self.monster_timer[i] -= 1
            dx, dy = MOVES[self.monster_dir[i]]
            x = int(self.monster_pos[i, 0] + dx * self.monster_speed[i])
            y = int(self.monster_pos[i, 1] + dy * self.monster_speed[i])
            if self.blocked(x, y):
                self.monster_timer[i] = 0  # bumped into a wall: choose a new direction next frame
            else:
                self.monster_pos[i] = x, y

    def _hero_touches(self, x: int, y: int, side: int = GEM) -> bool:
        return (x < self.hero_x + HERO and self.hero_x < x + side and
                y < self.hero_y + HERO and self.hero_y < y + side)

    def _free_gem_spot(self, others: list[tuple[int, int]]) -> tuple[int, int]:
        """A gem's corner, centred in a random floor cell that no other gem holds and the hero does not touch."""
        floor_cells = np.argwhere(~self.walls)
        for _ in range(32):
            row, col = floor_cells[int(self.gem_rng.integers(len(floor_cells)))]
            spot = (int(col) * CELL + (CELL - GEM) // 2, int(row) * CELL + (CELL - GEM) // 2)
            if spot not in others and not self._hero_touches(*spot):
                return spot
        return spot  # a crowded room (never seen in practice): a shared cell is harmless

    def _render_backdrop(self) -> np.ndarray:
        """(size, size, 3) uint8 floor tiles and walls, every pixel at once from its world coordinates."""
        units = (np.arange(self.size) + 0.5) / self.scale  # each pixel's centre in world units
        cell = np.minimum((units // CELL).astype(int), GRID - 1)
        within = units - cell * CELL  # 0..4 inside the cell, down the rows
        wall = self.walls[cell[:, None], cell[None, :]]  # (size, size) rows = y, cols = x
        checker = (cell[:, None] + cell[None, :]) % 2 == 1
        backdrop = np.where(checker[..., None], np.array(FLOOR[1], np.uint8), np.array(FLOOR[0], np.uint8))
        shade = np.select([within < 1, within >= 3], [1, 2], 0)[:, None]  # top highlight, bottom shadow rows
        shade = np.broadcast_to(shade, wall.shape)
        wall_rgb = np.array([WALL, WALL_TOP, WALL_SHADOW], np.uint8)[shade]
        return np.where(wall[..., None], wall_rgb, backdrop).astype(np.uint8)

    def _render(self) -> np.ndarray:
        frame = self.backdrop.copy()
        for x, y in self.gems:
            blit(frame, self.gem_sprite, self.px(x), self.px(y))
        for (x, y), colour in zip(self.monster_pos.tolist(), self.monster_colour.tolist()):
            blit(frame, self.monster_sprites[colour], self.px(x), self.px(y))
        blit(frame, self.hero_sprite, self.px(self.hero_x), self.px(self.hero_y))  # last: never hidden
        return frame
