"""A side-scrolling platformer: a hero who runs with momentum, jumps, rolls, collects rings and stomps enemies.

Physics runs in world units per frame (the screen is 64 units, 10 frames per game second) with plain
Python floats, because a handful of scalar updates is far cheaper that way than with numpy. The hero's
x is the centre of the sprite, y its feet (y grows downward). The camera follows the hero horizontally;
the terrain scrolls at camera speed and the distant hills at half of it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np

from nanogenie.envs.base import Env, blit, clamp
from nanogenie.envs.sonic_art import make_sprites, render_backdrop, render_terrain
from nanogenie.envs.sonic_level import LEVEL_WIDTH, PIT, START_X, generate_level

# Controls answer within a frame, by a margin larger than the one-pixel rounding of the scroll: a key's
# effect must show in the very next frame for anyone (a player, or a model learning from video) to see it.
ACCEL = 1.5  # ground acceleration while left/right is held
AIR_ACCEL = 1.0
BRAKE = 2.4  # deceleration when pushing against the current direction
FRICTION = 1.2  # deceleration with no input
ROLL_FRICTION = 0.12  # a rolling ball keeps its speed much longer
TOP_SPEED = 4.5  # running on the flat; slopes and rolling can exceed it
MAX_SPEED = 7.0
SLOPE_PULL = 0.9  # how strongly a slope speeds up / slows down a runner
ROLL_SLOPE_PULL = 1.8
GRAVITY = 1.3
JUMP_SPEED = 7.0  # peak ~19 units, ~11 frames in the air
JUMP_RELEASE_SPEED = 3.0  # letting go of jump while rising cuts the climb to this speed (a short hop)
MAX_FALL = 8.0
STEP_UP = 6.0  # ground rising more than this within one step is a wall
STOMP_BOUNCE = 4.5
HERO_HALF_W = 3.0
HERO_HEIGHT = 10.0
BALL_HEIGHT = 8.0
ENEMY_HALF_W = 4.0
ENEMY_HEIGHT = 6.0
# The camera scrolls only when the hero leaves a window around the screen's left third (as in the
# games this imitates), so a short press moves the hero on screen instead of the whole world.
CAMERA_WINDOW = (18.0, 34.0)  # the hero's x on screen, in units from the left edge
MAX_STEPS = 600

IDLE, LEFT, RIGHT, JUMP, LEFT_JUMP, RIGHT_JUMP, DOWN = range(7)
_LEFTS, _RIGHTS, _JUMPS = {LEFT, LEFT_JUMP}, {RIGHT, RIGHT_JUMP}, {JUMP, LEFT_JUMP, RIGHT_JUMP}


class SonicEnv(Env):
    name = "sonic"
    action_names = ["idle", "left", "right", "jump", "left+jump", "right+jump", "down"]
    # a little more right than left, so random episodes travel through the level
    policy_weights = (1.0, 1.0, 1.8, 1.0, 0.7, 1.4, 0.9)

    def __init__(self, size: int = 64):
        super().__init__(size)
        self.sprites = make_sprites(self.scale)

    def reset(self, seed: int) -> np.ndarray:
        self.rng = np.random.default_rng(seed)
        self.level = generate_level(self.rng)
        self.terrain, self.solid = render_terrain(self.level, self.size)
        self.backdrop = render_backdrop(self.level, self.size)
        self.x, self.y = START_X, self.level.height_at(START_X)
        self.camera = 0.0
        self._follow()
        self.vx, self.vy = 0.0, 0.0
        self.on_ground, self.rolling, self.facing = True, False, 1
        self.distance = 0.0  # run-cycle clock
        self.rings_collected = 0
        self.ring_alive = [True] * len(self.level.ring_x)
        self.done, self.t = False, 0
        return self._render()

    def step(self, action: int) -> np.ndarray:
        action = self._check_step(action)
        self.t += 1
        self._move_hero(action)
        self._follow()
        self._move_enemies()
        self._collect_rings()
        self._touch_enemies()
        if self.y > 64 + HERO_HEIGHT + 4 or self.t >= MAX_STEPS:  # fell into a pit, or time is up
            self.done = True
        return self._render()

    # --- physics -------------------------------------------------------------------------------
    def _slope(self) -> float:
        ahead, behind = self.level.height_at(self.x + 2), self.level.height_at(self.x - 2)
        if ahead >= PIT or behind >= PIT:
            return 0.0
        return (ahead - behind) / 4  # > 0: ground falls to the right, which pulls the hero right

    def _move_hero(self, action: int) -> None:
        push = (action in _RIGHTS) - (action in _LEFTS)
        if push:
            self.facing = push
        if self.on_ground:
            if action in _JUMPS:
                self.vy, self.on_ground, self.rolling = -JUMP_SPEED, False, False
            elif action == DOWN:
                self.rolling = True
        if self.on_ground and self.rolling:
            self.vx -= clamp(self.vx, -ROLL_FRICTION, ROLL_FRICTION)
            if push and push * self.vx < 0:  # a ball can only brake, not accelerate
                self.vx -= clamp(self.vx, -BRAKE / 2, BRAKE / 2)
            self.vx += self._slope() * ROLL_SLOPE_PULL
            if abs(self.vx) < 0.3 and action != DOWN:
                self.rolling = False
        elif self.on_ground:
            if push:
                along = push * self.vx  # speed in the pushed direction
                along = along + BRAKE if along < 0 else max(along, min(along + ACCEL, TOP_SPEED))
                self.vx = push * along
            else:
                self.vx -= clamp(self.vx, -FRICTION, FRICTION)
            self.vx += self._slope() * SLOPE_PULL
        else:
            if push:
                along = push * self.vx
                self.vx = push * max(along, min(along + AIR_ACCEL, TOP_SPEED))
            if action not in _JUMPS and self.vy < -JUMP_RELEASE_SPEED:
                self.vy = -JUMP_RELEASE_SPEED
            self.rolling = action == DOWN  # curls into a ball in the air while down is held
            self.vy = min(self.vy + GRAVITY, MAX_FALL)
        self.vx = clamp(self.vx, -MAX_SPEED, MAX_SPEED)

        new_x = clamp(self.x + self.vx, 4.0, LEVEL_WIDTH - 4.0)
        ground = self.level.height_at(new_x)
        if self.on_ground:
            if ground >= PIT:  # ran off an edge
                self.on_ground, self.vy = False, 0.0
            elif ground < self.y - STEP_UP:  # a wall (only pit walls are this steep)
                new_x, self.vx = self.x, 0.0
            else:
                self.y = ground
        else:
            if ground < self.y - 2.0:  # moving sideways into ground higher than the feet: blocked
                new_x, self.vx = self.x, 0.0
            self.y += self.vy
            ground = self.level.height_at(new_x)
            if self.vy >= 0 and self.y >= ground:
                self.y, self.vy, self.on_ground, self.rolling = ground, 0.0, True, False
        self.distance += abs(new_x - self.x)
        self.x = new_x

    def _move_enemies(self) -> None:
        for enemy in self.level.enemies:
            if not enemy.alive:
                continue
            enemy.x += enemy.direction * enemy.speed
            if not enemy.low <= enemy.x <= enemy.high:
                enemy.direction = -enemy.direction
                enemy.x = clamp(enemy.x, enemy.low, enemy.high)

    def _hero_height(self) -> float:
        return BALL_HEIGHT if self.rolling else HERO_HEIGHT

    def _collect_rings(self) -> None:
        xs = self.level.ring_x
        top = self.y - self._hero_height()
        for i in range(bisect_left(xs, self.x - HERO_HALF_W - 2), bisect_right(xs, self.x + HERO_HALF_W + 2)):
            if self.ring_alive[i] and top - 2 <= self.level.ring_y[i] <= self.y + 2:
                self.ring_alive[i] = False
                self.rings_collected += 1

    def _touch_enemies(self) -> None:
        top = self.y - self._hero_height()
        for enemy in self.level.enemies:
            if not enemy.alive or abs(enemy.x - self.x) > ENEMY_HALF_W + HERO_HALF_W:
                continue
            enemy_y = self.level.height_at(enemy.x)
            if top > enemy_y or self.y < enemy_y - ENEMY_HEIGHT:
                continue
            if self.rolling or not self.on_ground:  # a ball or a jump destroys it
                enemy.alive = False
                if not self.on_ground:
                    self.vy = -STOMP_BOUNCE
            else:  # touched from the side on foot
                self.done = True

    # --- drawing -------------------------------------------------------------------------------
    def _follow(self) -> None:
        low, high = CAMERA_WINDOW
        self.camera = clamp(self.camera, self.x - high, self.x - low)
        self.camera = clamp(self.camera, 0.0, LEVEL_WIDTH - 64.0)

    def _render(self) -> np.ndarray:
        size, camera = self.size, self.camera
        cam_px, back_px = self.px(camera), self.px(camera / 2)
        frame = self.backdrop[:, back_px:back_px + size].copy()
        np.copyto(frame, self.terrain[:, cam_px:cam_px + size], where=self.solid[:, cam_px:cam_px + size])

        ring = self.sprites.ring
        xs = self.level.ring_x
        for i in range(bisect_left(xs, camera - 4), bisect_right(xs, camera + 68)):
            if self.ring_alive[i]:
                blit(frame, ring, self.px(xs[i]) - cam_px - ring.w // 2, self.px(self.level.ring_y[i]) - ring.h // 2)

        for enemy in self.level.enemies:
            if enemy.alive and camera - 8 < enemy.x < camera + 72:
                walk = self.sprites.enemy[int(enemy.x / 2) % 2][0 if enemy.direction > 0 else 1]
                blit(frame, walk, self.px(enemy.x) - cam_px - walk.w // 2,
                     self.px(self.level.height_at(enemy.x)) - walk.h)

        hero = self.sprites.hero[self._pose()][0 if self.facing > 0 else 1]
        blit(frame, hero, self.px(self.x) - cam_px - hero.w // 2, self.px(self.y) - hero.h)
        return frame

    def _pose(self) -> str:
        if self.rolling:
            return "ball_spun" if self.t % 2 and abs(self.vx) > 0.3 else "ball"
        if not self.on_ground:
            return "jump"
        if abs(self.vx) > 0.3 and int(self.distance / 4) % 2:
            return "run"
        return "stand"
