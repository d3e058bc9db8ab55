"""The checks every config value passes, and the upper bounds the model configs share.

A bad value is a UserError that names the field and the allowed range: configs are read from a
world.json, a run's config.json or `train --set`, and each is a user's input.
"""

from __future__ import annotations

from nanogenie.errors import UserError


def require(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def require_positive(where: str, **values: int) -> None:
    for name, value in values.items():
        require(value >= 1, f"{where}.{name} must be >= 1, got {value}")


def require_range(where: str, name: str, value: float, low: float, high: float, why: str = "") -> None:
    """low <= value <= high. The upper bounds keep a typo (an extra zero or three) from allocating
    terabytes or running for days before it fails; each says why it is where it is."""
    require(low <= value <= high, f"{where}.{name} must be from {low} to {high}{f' ({why})' if why else ''}, "
                                  f"got {value}")


# Upper bounds shared by the models. A frame holds at most MAX_IMAGE_SIZE^2 pixels (as `data import`
# --size); temporal attention and the play-time KV cache hold MAX_CONTEXT_FRAMES frames.
MAX_IMAGE_SIZE = 1024
MAX_CONTEXT_FRAMES = 256
MAX_WIDTH = 4096
MAX_DEPTH = 64
MAX_CODES = 2**16  # tokenizer codebook (the dynamics' vocabulary and its output layer)
MAX_STEP_FRAMES = 16_384  # frames in one optimizer step's batch: ~800 MB of 64x64 float frames
CONTEXT_WHY = "frames of temporal context; play keeps a KV cache of them all"
