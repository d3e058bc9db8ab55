"""Worlds built in memory for tests: random-weight models of a config, saved as a bundle."""

from pathlib import Path

import numpy as np

from nanogenie.config import WorldConfig
from nanogenie.world import World, build_models, save_world


def save_random_world(path: Path, config: WorldConfig, prompt: np.ndarray, models=None, meta=None,
                      **fields) -> Path:
    """save_world of a World with `models` (tokenizer, lam, dynamics; default: fresh random ones)."""
    tokenizer, lam, dynamics = models if models is not None else build_models(config)
    return save_world(World(path=Path(path), name=Path(path).name, config=config, meta=meta or {},
                            tokenizer=tokenizer, lam=lam, dynamics=dynamics, prompt=prompt, **fields))
