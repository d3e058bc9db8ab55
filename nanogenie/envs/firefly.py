"""Firefly: a tiny agent among sparks that move on their own, a measurement world for latent actions.

The agent is a 2x2-unit square that moves 1 unit (one pixel at 64 px) per frame; 6-8 sparks of 2 or 3
units drift at 0.5-2 units per frame, bounce off the edges and now and then turn at random, so the
scene is full of small motions the agent's action did not cause and that past frames cannot fully
predict. A latent action model has to find the one-pixel step that the action explains among them.
One spark is as bright as the agent, so brightness alone cannot tell them apart.

World units: the screen is 64 x 64 (y grows downward); positions are top-left corners. A spark the
agent touches respawns at a random edge, heading inward; `score` counts them (no HUD: the respawn
itself is the visible event, and a counter would only add pixels no action moves).
"""

from __future__ import annotations

import numpy as np

from nanogenie.envs.base import Env, fill_rect

BACKGROUND = (6, 8, 22)
AGENT_COLOUR = (170, 255, 90)  # firefly green, used by nothing else
# the first spark colour is as bright as the agent (luma ~215 vs ~210) and always in play
SPARK_COLOURS = [(250, 225, 120), (240, 70, 70), (255, 150, 40), (70, 130, 255),
                 (230, 80, 220), (60, 200, 190), (200, 200, 225)]
STARS = 24  # dim 1-unit dots, fixed per episode: a static pattern the model must learn to ignore
STAR_BRIGHTNESS = (28, 64)
AGENT = 2  # side, units
AGENT_SPEED = 1
SPARKS = (6, 8)  # how many, inclusive
SPARK_SIZES = (2, 3)
SPARK_SPEED = (0.5, 2.0)  # units per frame
TURN_CHANCE = 0.05  # per spark per frame: a new random heading, so its path is not fully predictable
MAX_STEPS = 400

IDLE, UP, DOWN, LEFT, RIGHT = range(5)
MOVES = {IDLE: (0, 0), UP: (0, -1), DOWN: (0, 1), LEFT: (-1, 0), RIGHT: (1, 0)}  # (dx, dy) per action


class FireflyEnv(Env):
    name = "firefly"
    action_names = ["idle", "up", "down", "left", "right"]
    policy_weights = (1.0, 1.0, 1.0, 1.0, 1.0)

    def reset(self, seed: int) -> np.ndarray:
        # three streams: layout, the sparks' own wandering and respawns, so what the agent touches never
        # changes how the untouched sparks move (their motion stays independent of the actions)
        layout, wander, respawn = np.random.SeedSequence(seed).spawn(3)
        layout_rng = np.random.default_rng(layout)
        self.wander_rng, self.respawn_rng = np.random.default_rng(wander), np.random.default_rng(respawn)
        self.done, self.t, self.score = False, 0, 0
        self.agent_x = self.agent_y = (64 - AGENT) // 2  # ints: the agent lives on the unit grid

        n = int(layout_rng.integers(SPARKS[0], SPARKS[1] + 1))
        self.sizes = layout_rng.choice(SPARK_SIZES, n).astype(np.float64)  # (N,)
        # the agent-bright colour first, the others shuffled after it (repeating past seven sparks)
        others = 1 + layout_rng.permutation(len(SPARK_COLOURS) - 1)
        self.colours = [SPARK_COLOURS[i] for i in np.resize(np.concatenate([[0], others]), n)]
        self.pos = layout_rng.uniform(0, 64 - self.sizes[:, None], (n, 2))  # (N, 2) x, y
        angle = layout_rng.uniform(0, 2 * np.pi, n)
        speed = layout_rng.uniform(*SPARK_SPEED, n)
        self.vel = np.stack([np.cos(angle), np.sin(angle)], axis=1) * speed[:, None]  # (N, 2)
        for i in np.flatnonzero(self._touching()):  # nothing starts on top of the agent
            self._respawn(i)
        self.backdrop = self._render_backdrop(layout_rng)
        return self._render()

    def step(self, action: int) -> np.ndarray:
        action = self._check_step(action)
        self.t += 1
        dx, dy = MOVES[action]
        self.agent_x = min(max(self.agent_x + dx * AGENT_SPEED, 0), 64 - AGENT)
        self.agent_y = min(max(self.agent_y + dy * AGENT_SPEED, 0), 64 - AGENT)
        self._move_sparks()
        for i in np.flatnonzero(self._touching()):
            self._respawn(i)
            self.score += 1
        if self.t >= MAX_STEPS:
            self.done = True
        return self._render()

    def _move_sparks(self) -> None:
        n = len(self.sizes)
        # one heading drawn per spark per frame, used or not: a vectorised draw, and a stream whose
        # position depends only on the frame count
        turn = self.wander_rng.random(n) < TURN_CHANCE
        angle = self.wander_rng.uniform(0, 2 * np.pi, n)
        speed = np.linalg.norm(self.vel, axis=1)
        heading = np.stack([np.cos(angle), np.sin(angle)], axis=1) * speed[:, None]
        self.vel = np.where(turn[:, None], heading, self.vel)
        pos = self.pos + self.vel
        high = 64 - self.sizes[:, None]  # (N, 1)
        # mirror whatever crossed an edge back inside and reverse that velocity component
        below, above = pos < 0, pos > high
        pos = np.where(below, -pos, np.where(above, 2 * high - pos, pos))
        self.vel = np.where(below | above, -self.vel, self.vel)
        self.pos = np.clip(pos, 0, high)

    def _touching(self) -> np.ndarray:
        """(N,) bool: spark rectangles overlapping the agent's."""
        agent = np.array([self.agent_x, self.agent_y], np.float64)
        return ((self.pos < agent + AGENT) & (agent < self.pos + self.sizes[:, None])).all(axis=1)

    def _respawn(self, i: int) -> None:
        """Spark i re-enters from a random edge, heading inward (within 60 degrees of straight in), away
        from the agent (an agent hugging that edge would otherwise collect it again at once)."""
        rng, size = self.respawn_rng, self.sizes[i]
        for _ in range(8):
            edge = int(rng.integers(4))  # 0 left, 1 right, 2 top, 3 bottom
            along = rng.uniform(0, 64 - size)
            self.pos[i] = [(0.0, 64 - size, along, along)[edge], (along, along, 0.0, 64 - size)[edge]]
            if not self._touching()[i]:
                break
        inward = (0.0, np.pi, np.pi / 2, -np.pi / 2)[edge]
        angle = inward + rng.uniform(-np.pi / 3, np.pi / 3)
        speed = rng.uniform(*SPARK_SPEED)
        self.vel[i] = [speed * np.cos(angle), speed * np.sin(angle)]

    def _render_backdrop(self, rng: np.random.Generator) -> np.ndarray:
        backdrop = np.empty((self.size, self.size, 3), np.uint8)
        backdrop[:] = BACKGROUND
        dot = max(self.px(1), 1)
        for x, y, level in zip(rng.integers(0, 64, STARS), rng.integers(0, 64, STARS),
                               rng.integers(*STAR_BRIGHTNESS, STARS)):
            fill_rect(backdrop, self.px(x), self.px(y), dot, dot, (int(level), int(level), int(level) + 16))
        return backdrop

    def _render(self) -> np.ndarray:
        frame = self.backdrop.copy()
        # Python floats: builtin round() on numpy scalars costs several times more
        for (x, y), size, colour in zip(self.pos.tolist(), self.sizes.tolist(), self.colours):
            side = max(self.px(size), 1)
            fill_rect(frame, self.px(x), self.px(y), side, side, colour)
        side = max(self.px(AGENT), 1)  # drawn last: never hidden behind a spark
        fill_rect(frame, self.px(self.agent_x), self.px(self.agent_y), side, side, AGENT_COLOUR)
        return frame
