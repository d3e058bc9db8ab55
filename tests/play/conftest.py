"""A fake engine and a fake world for the play tests: deterministic frames without trained weights.

Frames are flat colours: red = 30 * action, green = 8 * (frames since reset), blue drawn from an RNG
seeded by the seed at every reset; so the frames depend on (seed, actions since reset) only, like the
real engine, and a decoded video can be checked against its action log.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from nanogenie.errors import UserError


class FakeEngine:
    def __init__(self, num_actions: int = 8, frame_size: int = 16, fps: int = 10, seed: int = 0,
                 device: str = "cpu", fail_at: int | None = None, on_step=None, last_ms: float = 1.5):
        self.num_actions, self.frame_size, self.fps, self.seed, self.device = num_actions, frame_size, fps, seed, device
        self.fail_at, self.on_step, self.last_ms = fail_at, on_step, last_ms
        self.total_steps = 0  # steps over the engine's life, never reset
        self.t = 0
        self.rng = np.random.default_rng(seed)

    def reset(self) -> np.ndarray:
        self.rng, self.t = np.random.default_rng(self.seed), 0
        return self._frame(0)

    def step(self, action: int) -> np.ndarray:
        if not 0 <= action < self.num_actions:
            raise UserError(f"action {action} out of range")
        self.total_steps += 1
        if self.fail_at is not None and self.total_steps == self.fail_at:
            raise RuntimeError("fake engine failure")
        if self.on_step is not None:
            self.on_step(self.total_steps)
        self.t += 1
        self.last = action
        return self._frame(action)

    def code_for(self, codes) -> int:
        """A key's code as Engine.code_for picks it: here the world "shows" the last code it was stepped with."""
        return self.last if getattr(self, "last", None) in codes else codes[0]

    def explore(self, frames: int = 4) -> np.ndarray:
        """Every action's future (A, frames, S, S, 3), the state untouched: red = 30 * action, green by time."""
        self.explored = getattr(self, "explored", 0) + 1
        out = np.zeros((self.num_actions, frames, self.frame_size, self.frame_size, 3), np.uint8)
        for action in range(self.num_actions):
            for t in range(frames):
                out[action, t, ..., 0] = 30 * action
                out[action, t, ..., 1] = (8 * (self.t + t + 1)) % 256
        return out

    def _frame(self, action: int) -> np.ndarray:
        frame = np.empty((self.frame_size, self.frame_size, 3), np.uint8)
        frame[..., 0] = 30 * action
        frame[..., 1] = (8 * self.t) % 256
        frame[..., 2] = self.rng.integers(0, 256)
        return frame


def decode_video(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.fixture
def fake_engine():
    return FakeEngine


@pytest.fixture
def decode():
    return decode_video


@pytest.fixture
def fake_world(tmp_path, monkeypatch):
    """`nanogenie play` with load_world and the engine replaced by fakes; returns the world, whose
    `engines` list collects every engine built, each with the `choices` it was built from (keymap_path
    and the engines' on_step hook may be set by the test)."""
    from nanogenie.play import commands

    world = SimpleNamespace(name="fake", path=tmp_path / "fake_world", num_actions=8, fps=10, keymap_path=None,
                            config=SimpleNamespace(dynamics=SimpleNamespace(maskgit_steps=4, temperature=1.0,
                                                                             decode="sampled")),
                            engines=[], loaded=[], on_step=None)

    def load_world(name):
        world.loaded.append(name)
        return world

    def make_engine(w, choices, compile=False):
        engine = FakeEngine(num_actions=w.num_actions, fps=w.fps, seed=choices.seed, on_step=w.on_step)
        engine.choices = choices
        world.engines.append(engine)
        return engine

    monkeypatch.setattr(commands, "load_world", load_world)
    monkeypatch.setattr(commands, "make_engine", make_engine)
    return world
