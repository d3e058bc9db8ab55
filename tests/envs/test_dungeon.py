import numpy as np
import pytest

from nanogenie.envs import make_env
from nanogenie.envs.dungeon import (CELL, DOWN, GEMS, GRID, HERO, HERO_PALETTE, HERO_SPEED, IDLE, LEFT,
                                    RIGHT, UP, connected)

from frame_helpers import colour_box

HERO_COLOUR = HERO_PALETTE["H"]


def play(seed: int, actions: list[int], size: int = 64) -> list[np.ndarray]:
    env = make_env("dungeon", size)
    return [env.reset(seed)] + [env.step(a) for a in actions]


def open_cell(walls: np.ndarray) -> tuple[int, int]:
    """(row, col) of a floor cell whose eight neighbours are floor too: a hero there can step any way."""
    for row in range(1, GRID - 1):
        for col in range(1, GRID - 1):
            if not walls[row - 1:row + 2, col - 1:col + 2].any():
                return row, col
    raise AssertionError("no open 3x3 patch of floor")


@pytest.mark.parametrize("seed", range(6))
def test_rooms_have_a_border_interior_walls_and_connected_floor(seed):
    env = make_env("dungeon")
    env.reset(seed)
    walls = env.walls
    assert walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()
    assert walls[1:-1, 1:-1].sum() >= 6
    assert connected(~walls)
    assert not env.blocked(env.hero_x, env.hero_y)
    assert not any(env.blocked(x, y) for x, y in env.monster_pos.tolist())


def test_connected_sees_a_cut():
    floor = np.ones((GRID, GRID), bool)
    assert connected(floor)
    floor[:, 5] = False
    assert not connected(floor)


@pytest.mark.parametrize("action, dx, dy", [(IDLE, 0, 0), (UP, 0, -1), (DOWN, 0, 1), (LEFT, -1, 0), (RIGHT, 1, 0)])
def test_each_action_moves_the_hero_two_pixels_its_way(action, dx, dy):
    env = make_env("dungeon")
    env.reset(3)
    row, col = open_cell(env.walls)
    env.hero_x, env.hero_y = x, y = col * CELL, row * CELL
    assert colour_box(env._render(), HERO_COLOUR) == (x, y, HERO, HERO)  # at 64 px a unit is a pixel
    frame = env.step(action)
    step = 2  # units per frame, as the world is specified (HERO_SPEED)
    assert (env.hero_x, env.hero_y) == (x + step * dx, y + step * dy)
    assert colour_box(frame, HERO_COLOUR) == (x + step * dx, y + step * dy, HERO, HERO)


def test_walls_block_the_hero():
    env = make_env("dungeon")
    env.reset(1)
    env.hero_x, env.hero_y = CELL, CELL  # the top-left floor cell, against the border
    env.step(LEFT)
    env.step(UP)
    assert (env.hero_x, env.hero_y) == (CELL, CELL)
    # an interior wall: stand just left of one, press right
    row, col = next((r, c) for r, c in np.argwhere(env.walls[1:-1, 2:-1]) + [1, 2] if not env.walls[r, c - 1])
    env.hero_x, env.hero_y = (col - 1) * CELL, row * CELL
    env.step(RIGHT)  # x + 2 .. x + 4 reaches into the wall cell
    assert (env.hero_x, env.hero_y) == ((col - 1) * CELL, row * CELL)


def test_monsters_wander_while_the_hero_idles_and_stay_off_walls():
    env = make_env("dungeon")
    env.reset(2)
    assert 3 <= len(env.monster_pos) <= 4
    path = [env.monster_pos.copy()]
    for _ in range(60):
        env.step(IDLE)
        path.append(env.monster_pos.copy())
        assert not any(env.blocked(x, y) for x, y in env.monster_pos.tolist())
    steps = np.abs(np.diff(np.array(path), axis=0)).sum(axis=-1)  # (T, n) units each monster moved per frame
    assert (steps.sum(axis=0) > 0).all()  # every monster moved
    assert set(np.unique(steps)) <= {0, 1, 2}  # one 4-way step at its own pace, never a jump


def test_a_touched_gem_moves_elsewhere_and_scores():
    env = make_env("dungeon")
    env.reset(5)
    row, col = open_cell(env.walls)
    env.hero_x, env.hero_y = col * CELL, row * CELL
    env.gems[0] = (col * CELL + HERO_SPEED + 1, row * CELL + 1)  # just right of the hero
    env.step(RIGHT)
    assert env.score == 1 and len(env.gems) == GEMS
    assert env.gems[0] != (col * CELL + HERO_SPEED + 1, row * CELL + 1)
    gx, gy = env.gems[0]
    assert not env.walls[gy // CELL, gx // CELL]
