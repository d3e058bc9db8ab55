"""Env names -> simulator classes."""

from __future__ import annotations

from nanogenie.envs.base import Env
from nanogenie.envs.bricks import BricksEnv
from nanogenie.envs.dungeon import DungeonEnv
from nanogenie.envs.firefly import FireflyEnv
from nanogenie.envs.paddle import PaddleEnv
from nanogenie.envs.pong import PongEnv
from nanogenie.envs.sonic import SonicEnv
from nanogenie.errors import UserError

ENVS: dict[str, type[Env]] = {"sonic": SonicEnv, "pong": PongEnv, "firefly": FireflyEnv, "dungeon": DungeonEnv,
                              "paddle": PaddleEnv, "bricks": BricksEnv}


def make_env(name: str, size: int = 64) -> Env:
    """A simulator by name, drawing (size, size, 3) frames."""
    if name not in ENVS:
        raise UserError(f"unknown env {name!r}: the built-in envs are {', '.join(sorted(ENVS))}")
    return ENVS[name](size)
