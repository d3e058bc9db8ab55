"""Paddle: a one-pixel-wide paddle with inertia, a one-pixel ball and a computer paddle, a measurement world for
latent actions.

The player's paddle (1 x 4 units, on the right) does not move by a fixed step: a key pushes it, so its speed
builds up over frames and decays when no key is held. One frame of a key changes the paddle's speed by
`PUSH`, so what a key does shows only against where the paddle was already heading. The ball (1 unit) and
the computer's paddle, which follows the ball, move on their own. Everything the player controls is four
pixels at 64 px; the ball and the other paddle are as bright.

World units: the court is 64 x 64 (y grows downward); positions are centres. A missed ball is served again
from the centre; the episode ends after `MAX_STEPS` steps (no score is drawn: no key moves it).
"""

from __future__ import annotations

import numpy as np

from nanogenie.envs.base import Env, clamp
from nanogenie.envs.court import centred_rect, off_walls, paddle_hit

BACKGROUND = (0, 0, 0)
LINE = (70, 70, 70)
PLAYER_COLOUR = (92, 186, 92)
COMPUTER_COLOUR = (213, 130, 74)
BALL_COLOUR = (236, 236, 236)
PADDLE_H, PADDLE_W, BALL = 4.0, 1.0, 1.0
PLAYER_X, COMPUTER_X = 58.5, 5.5  # paddle centres
WALL = 2.0  # the top and bottom walls, units
PUSH = 1.0  # speed a held key adds per frame, units per frame
FRICTION = 0.8  # share of its speed the paddle keeps from one frame to the next
MAX_PADDLE_SPEED = 3.0
COMPUTER_SPEED = 1.5
SERVE_SPEED = (1.2, 2.0)  # the ball's horizontal speed at a serve, units per frame
MAX_BALL_SPEED = 3.0
MAX_STEPS = 600

IDLE, UP, DOWN = range(3)


class PaddleEnv(Env):
    name = "paddle"
    action_names = ["idle", "up", "down"]
    policy_weights = (1.0, 1.0, 1.0)

    def __init__(self, size: int = 64):
        super().__init__(size)
        self.court = self._render_court()

    def reset(self, seed: int) -> np.ndarray:
        self.rng = np.random.default_rng(seed)
        self.player_y, self.player_v = float(self.rng.uniform(20, 44)), 0.0
        self.computer_y = 32.0
        self.done, self.t = False, 0
        self._serve(direction=int(self.rng.choice([-1, 1])))
        return self._render()

    def _serve(self, direction: int) -> None:
        self.ball_x, self.ball_y = 32.0, float(self.rng.uniform(16, 48))
        self.vx = direction * float(self.rng.uniform(*SERVE_SPEED))
        self.vy = float(self.rng.uniform(-1.2, 1.2))
        self.aim_error = float(self.rng.uniform(-3, 3))

    def step(self, action: int) -> np.ndarray:
        action = self._check_step(action)
        self.t += 1
        push = PUSH * ((action == DOWN) - (action == UP))
        self.player_v = clamp(FRICTION * self.player_v + push, -MAX_PADDLE_SPEED, MAX_PADDLE_SPEED)
        low, high = WALL + PADDLE_H / 2, 64 - WALL - PADDLE_H / 2
        self.player_y += self.player_v
        if not low <= self.player_y <= high:  # a wall stops the paddle dead
            self.player_y, self.player_v = clamp(self.player_y, low, high), 0.0
        self._move_computer()
        self._move_ball()
        self.done = self.t >= MAX_STEPS
        return self._render()

    def _move_computer(self) -> None:
        # follow the ball (with this rally's aiming error) while it comes this way, else drift to the centre
        target = self.ball_y + self.aim_error if self.vx < 0 else 32.0
        self.computer_y += clamp(target - self.computer_y, -COMPUTER_SPEED, COMPUTER_SPEED)
        self.computer_y = clamp(self.computer_y, WALL + PADDLE_H / 2, 64 - WALL - PADDLE_H / 2)

    def _move_ball(self) -> None:
        x0, x1, y1 = self.ball_x, self.ball_x + self.vx, self.ball_y + self.vy
        low, high = WALL + BALL / 2, 64 - WALL - BALL / 2
        y1, self.vy = off_walls(y1, self.vy, low, high)
        for face, paddle_y, heading in ((PLAYER_X - PADDLE_W / 2 - BALL / 2, self.player_y, 1),
                                        (COMPUTER_X + PADDLE_W / 2 + BALL / 2, self.computer_y, -1)):
            offset = paddle_hit(x0, x1, y1, self.vx, face, paddle_y, heading, PADDLE_H / 2 + BALL / 2)
            if offset is not None:
                self.vx = -heading * min(abs(self.vx) * 1.05, MAX_BALL_SPEED)
                self.vy = clamp(0.5 * self.vy + 1.5 * offset, -MAX_BALL_SPEED, MAX_BALL_SPEED)
                x1 = 2 * face - x1
                self.aim_error = float(self.rng.uniform(-3, 3))
        self.ball_x, self.ball_y = x1, y1
        if not 0 <= self.ball_x <= 64:
            self._serve(direction=1 if self.ball_x < 0 else -1)

    def _render_court(self) -> np.ndarray:
        court = np.empty((self.size, self.size, 3), np.uint8)
        court[:] = BACKGROUND
        wall = self.px(WALL)
        court[:wall] = LINE
        court[self.size - wall:] = LINE
        return court

    def _render(self) -> np.ndarray:
        frame = self.court.copy()
        centred_rect(self, frame, COMPUTER_X, self.computer_y, PADDLE_W, PADDLE_H, COMPUTER_COLOUR)
        centred_rect(self, frame, PLAYER_X, self.player_y, PADDLE_W, PADDLE_H, PLAYER_COLOUR)
        centred_rect(self, frame, self.ball_x, self.ball_y, BALL, BALL, BALL_COLOUR)
        return frame
