"""The behaviour policy that plays the simulators to make training data.

Uniform noise every frame would make each action's effect one frame long and easy to miss; holding a
random action for a random stretch (uniform between `min_hold` and `max_hold` frames) shows short taps
and long presses alike, so every action's effect is visible and varied.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class StickyPolicy:
    """Sticky random actions: pick an action (by `weights`), hold it for a random number of frames, repeat."""

    def __init__(self, num_actions: int, rng: np.random.Generator, min_hold: int = 2, max_hold: int = 12,
                 weights: Sequence[float] | None = None):
        if num_actions < 1:
            raise ValueError(f"num_actions must be >= 1, got {num_actions}")
        if not 1 <= min_hold <= max_hold:
            raise ValueError(f"need 1 <= min_hold <= max_hold, got {min_hold}, {max_hold}")
        if weights is None:
            weights = [1.0] * num_actions
        probs = np.asarray(weights, dtype=np.float64)
        if probs.shape != (num_actions,) or (probs < 0).any() or probs.sum() <= 0:
            raise ValueError(f"weights must be {num_actions} non-negative numbers, not all zero; got {weights}")
        self.num_actions = num_actions
        self.rng = rng
        self.min_hold, self.max_hold = min_hold, max_hold
        self.cumulative = np.cumsum(probs / probs.sum())
        self.action, self.remaining = 0, 0

    def act(self) -> int:
        if self.remaining == 0:
            # one uniform draw + searchsorted is several times faster than rng.choice(p=...)
            pick = int(np.searchsorted(self.cumulative, self.rng.random(), side="right"))
            self.action = min(pick, self.num_actions - 1)
            self.remaining = int(self.rng.integers(self.min_hold, self.max_hold + 1))
        self.remaining -= 1
        return self.action
