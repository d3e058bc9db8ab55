"""Bricks: a small paddle under a wall of bricks and a one-pixel ball, a measurement world for latent actions.

The player's paddle (6 x 1 units, along the bottom) moves `PADDLE_SPEED` a frame while left or right is held
and stops when no key is: unlike paddle's, it has no momentum, and it moves sideways. The ball (1 unit)
bounces off the side and top walls, the paddle and the bricks; a brick it hits vanishes, and a cleared
wall is built again. So the scene changes in ways no key causes (a ball in flight, bricks going), and what
a key moves is six pixels in a row.

World units: the court is 64 x 64 (y grows downward); positions are centres. A missed ball is served again
from the paddle; the episode ends after `MAX_STEPS` steps (no score is drawn: no key moves it).
"""

from __future__ import annotations

import math

import numpy as np

from nanogenie.envs.base import Env, clamp, fill_rect
from nanogenie.envs.court import centred_rect, off_walls, paddle_hit

BACKGROUND = (0, 0, 0)
WALL_COLOUR = (120, 120, 130)
PADDLE_COLOUR = (90, 200, 230)  # used by nothing else
BALL_COLOUR = (236, 236, 236)
BRICK_COLOURS = [(200, 72, 72), (198, 108, 58), (180, 122, 48), (162, 162, 42), (72, 160, 72), (66, 72, 200)]
WALL = 2.0  # the side and top walls, units
PADDLE_W, PADDLE_H, BALL = 6.0, 1.0, 1.0
PADDLE_Y = 58.5  # the paddle's centre
PADDLE_SPEED = 2.0  # units per frame while a key is held
BRICK_W, BRICK_H = 4.0, 2.0
BRICK_TOP = 10.0  # the top edge of the first row of bricks
BRICK_COLUMNS = int((64 - 2 * WALL) // BRICK_W)  # 15 bricks fill a row between the walls
BALL_SPEED = (1.0, 2.0)  # the ball's vertical speed at a serve, units per frame
MAX_BALL_SPEED = 2.5
MAX_STEPS = 600

IDLE, LEFT, RIGHT = range(3)


class BricksEnv(Env):
    name = "bricks"
    action_names = ["idle", "left", "right"]
    policy_weights = (1.0, 1.0, 1.0)

    def reset(self, seed: int) -> np.ndarray:
        self.rng = np.random.default_rng(seed)
        self.paddle_x = float(self.rng.uniform(16, 48))
        self.bricks = np.ones((len(BRICK_COLOURS), BRICK_COLUMNS), bool)  # (rows, columns), True while standing
        self.court = self._render_court()
        self.done, self.t = False, 0
        self._serve()
        return self._render()

    def _serve(self) -> None:
        self.ball_x, self.ball_y = self.paddle_x, PADDLE_Y - 8.0
        self.vx = float(self.rng.uniform(-1.5, 1.5))
        self.vy = -float(self.rng.uniform(*BALL_SPEED))

    def step(self, action: int) -> np.ndarray:
        action = self._check_step(action)
        self.t += 1
        move = PADDLE_SPEED * ((action == RIGHT) - (action == LEFT))
        self.paddle_x = clamp(self.paddle_x + move, WALL + PADDLE_W / 2, 64 - WALL - PADDLE_W / 2)
        self._move_ball()
        if not self.bricks.any():
            self.bricks[:] = True
            self.court = self._render_court()
        self.done = self.t >= MAX_STEPS
        return self._render()

    def _move_ball(self) -> None:
        y0, x1, y1 = self.ball_y, self.ball_x + self.vx, self.ball_y + self.vy
        x1, self.vx = off_walls(x1, self.vx, WALL + BALL / 2, 64 - WALL - BALL / 2)
        y1, self.vy = off_walls(y1, self.vy, WALL + BALL / 2, math.inf)  # no wall below: a ball past the paddle is lost
        # the paddle's top face, met while falling: the court's paddle rule with x and y swapped
        face = PADDLE_Y - PADDLE_H / 2 - BALL / 2
        offset = paddle_hit(y0, y1, x1, self.vy, face, self.paddle_x, 1, PADDLE_W / 2 + BALL / 2)
        if offset is not None:
            self.vy = -min(abs(self.vy) * 1.02, MAX_BALL_SPEED)
            self.vx = clamp(0.5 * self.vx + 1.5 * offset, -MAX_BALL_SPEED, MAX_BALL_SPEED)
            y1 = 2 * face - y1
        brick = self._brick_at(x1, y1)
        if brick is not None:
            self.bricks[brick] = False
            self.court = self._render_court()
            self.vy, y1 = -self.vy, self.ball_y  # back out of the brick, heading away from it
        self.ball_x, self.ball_y = x1, y1
        if self.ball_y > 64:
            self._serve()

    def _brick_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, column) of the standing brick that covers the point (x, y), or None."""
        row, column = int((y - BRICK_TOP) // BRICK_H), int((x - WALL) // BRICK_W)
        if y >= BRICK_TOP and 0 <= row < len(BRICK_COLOURS) and 0 <= column < BRICK_COLUMNS:
            return (row, column) if self.bricks[row, column] else None
        return None

    def _render_court(self) -> np.ndarray:
        """The walls and the standing bricks: drawn again only when a brick goes."""
        frame = np.empty((self.size, self.size, 3), np.uint8)
        frame[:] = BACKGROUND
        wall = self.px(WALL)
        frame[:wall] = WALL_COLOUR
        frame[:, :wall] = WALL_COLOUR
        frame[:, self.size - wall:] = WALL_COLOUR
        for row, column in zip(*np.nonzero(self.bricks)):
            # one pixel of gap on the right and bottom, so that bricks read as bricks
            fill_rect(frame, self.px(WALL + column * BRICK_W), self.px(BRICK_TOP + row * BRICK_H),
                      self.px(BRICK_W) - 1, self.px(BRICK_H) - 1, BRICK_COLOURS[row])
        return frame

    def _render(self) -> np.ndarray:
        frame = self.court.copy()
        centred_rect(self, frame, self.paddle_x, PADDLE_Y, PADDLE_W, PADDLE_H, PADDLE_COLOUR)
        centred_rect(self, frame, self.ball_x, self.ball_y, BALL, BALL, BALL_COLOUR)
        return frame
