"""Pong: the player's paddle on the right, an imperfect computer paddle on the left, one ball.

World units: the court is 64 x 64 (y grows downward); positions are centres. The computer paddle is
slower than the ball can get and aims with an error drawn per rally, so it misses now and then. Score
pips at the top count points; an episode ends after `POINTS_PER_EPISODE` points or `MAX_STEPS` steps.
"""

from __future__ import annotations

import numpy as np

from nanogenie.envs.base import Env, clamp
from nanogenie.envs.court import centred_rect, off_walls, paddle_hit

BACKGROUND = (14, 16, 34)
LINE = (96, 100, 130)
WHITE = (245, 245, 245)
PADDLE_H = 10.0
PADDLE_W = 2.0
BALL = 2.0
PLAYER_X = 59.0  # paddle centres
COMPUTER_X = 5.0
WALL = 2.0  # court walls: the top and bottom two units
PLAYER_SPEED = 3.0
COMPUTER_SPEED = 1.9
SERVE_SPEED = 2.2
SPEED_UP = 1.06  # per paddle hit
MAX_BALL_SPEED = 4.0
SERVE_WAIT = 4  # frames the ball rests in the centre after a point
POINTS_PER_EPISODE = 5
MAX_STEPS = 600

IDLE, UP, DOWN = range(3)


class PongEnv(Env):
    name = "pong"
    action_names = ["idle", "up", "down"]
    policy_weights = (1.0, 1.0, 1.0)

    def __init__(self, size: int = 64):
        super().__init__(size)
        self.court = self._render_court()

    def reset(self, seed: int) -> np.ndarray:
        self.rng = np.random.default_rng(seed)
        self.player_y = self.computer_y = 32.0
        self.player_score = self.computer_score = 0
        self.done, self.t = False, 0
        self._serve(direction=int(self.rng.choice([-1, 1])))
        return self._render()

    def _serve(self, direction: int) -> None:
        self.ball_x, self.ball_y = 32.0, float(self.rng.uniform(20, 44))
        self.vx, self.vy = direction * SERVE_SPEED, float(self.rng.uniform(-1.5, 1.5))
        self.wait = SERVE_WAIT
        self.aim_error = float(self.rng.uniform(-6, 6))

    def step(self, action: int) -> np.ndarray:
        action = self._check_step(action)
        self.t += 1
        half = PADDLE_H / 2
        move = PLAYER_SPEED * ((action == DOWN) - (action == UP))
        self.player_y = clamp(self.player_y + move, WALL + half, 64 - WALL - half)
        self._move_computer()
        if self.wait:
            self.wait -= 1
        else:
            self._move_ball()
        if self.player_score + self.computer_score >= POINTS_PER_EPISODE or self.t >= MAX_STEPS:
            self.done = True
        return self._render()

    def _move_computer(self) -> None:
        # track the ball (with this rally's aiming error) while it comes this way, else drift to the centre
        target = self.ball_y + self.aim_error if self.vx < 0 else 32.0
        gap = target - self.computer_y
        self.computer_y += clamp(gap, -COMPUTER_SPEED, COMPUTER_SPEED) if abs(gap) > 1 else 0.0
        self.computer_y = clamp(self.computer_y, WALL + PADDLE_H / 2, 64 - WALL - PADDLE_H / 2)

    def _move_ball(self) -> None:
        x0, x1 = self.ball_x, self.ball_x + self.vx
        y1 = self.ball_y + self.vy
        low, high = WALL + BALL / 2, 64 - WALL - BALL / 2
        y1, self.vy = off_walls(y1, self.vy, low, high)
        for face, paddle_y, heading in ((PLAYER_X - PADDLE_W / 2 - BALL / 2, self.player_y, 1),
                                        (COMPUTER_X + PADDLE_W / 2 + BALL / 2, self.computer_y, -1)):
            offset = paddle_hit(x0, x1, y1, self.vx, face, paddle_y, heading, PADDLE_H / 2 + BALL / 2)
            if offset is not None:
                speed = min(abs(self.vx) * SPEED_UP, MAX_BALL_SPEED)
                self.vx = -heading * speed
                self.vy = clamp(0.5 * self.vy + 1.8 * offset, -3.0, 3.0)
                x1 = 2 * face - x1
                if heading > 0:  # the player returned it: the computer misjudges each return anew
                    self.aim_error = float(self.rng.uniform(-6, 6))
        self.ball_x, self.ball_y = x1, y1
        if self.ball_x < 0:
            self.player_score += 1
            self._serve(direction=-1)
        elif self.ball_x > 64:
            self.computer_score += 1
            self._serve(direction=1)

    def _render_court(self) -> np.ndarray:
        court = np.empty((self.size, self.size, 3), np.uint8)
        court[:] = BACKGROUND
        wall = self.px(WALL)
        court[:wall] = LINE
        court[self.size - wall:] = LINE
        dash, line_w = max(self.px(3), 2), max(self.px(1), 1)
        centre = self.size // 2 - line_w // 2
        for top in range(wall, self.size - wall, 2 * dash):
            court[top:top + dash, centre:centre + line_w] = LINE
        return court

    def _rect(self, frame: np.ndarray, cx: float, cy: float, w: float, h: float) -> None:
        centred_rect(self, frame, cx, cy, w, h, WHITE)

    def _render(self) -> np.ndarray:
        frame = self.court.copy()
        self._rect(frame, PLAYER_X, self.player_y, PADDLE_W, PADDLE_H)
        self._rect(frame, COMPUTER_X, self.computer_y, PADDLE_W, PADDLE_H)
        self._rect(frame, self.ball_x, self.ball_y, BALL, BALL)
        for i in range(self.computer_score):  # score pips just below the top wall, each side's own half
            self._rect(frame, 26 - 4 * i, 5.5, 2, 2)
        for i in range(self.player_score):
            self._rect(frame, 38 + 4 * i, 5.5, 2, 2)
        return frame
