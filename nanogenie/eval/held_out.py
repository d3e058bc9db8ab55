"""What "held out" means, in one place: every eval figure, the keymap fit and the LAM's checkpoint figures
are measured on the data this module picks, never on frames training saw.

- A simulator world: fresh episodes of a seed training never used (seed + EVAL_SEED_OFFSET), played
  with a fresh random action every frame. With the sticky actions of the training data the motion
  before a transition predicts its action, so action figures on such episodes could not tell a code
  that sees the action's effect from one that only sees the past.
- A data file: its test split (split by episode, or by time blocks for a file of few episodes,
  `data/splits.py`). An empty test split is an error, never a fall-back to the training spans.
- `nanogenie eval --data FILE`: the world's recorded test split when FILE is the data it trained on;
  otherwise all of FILE, and the output's `held_out` names that choice.
"""

from __future__ import annotations

from pathlib import Path

from nanogenie.config import WorldConfig
from nanogenie.data import VideoData
from nanogenie.data.simulated import simulated_data
from nanogenie.data.splits import Span
from nanogenie.errors import UserError

EVAL_SEED_OFFSET = 1_000_003  # held-out simulator episodes and states come from a seed training never used
FRESH_FRAMES = 4000  # frames of fresh simulator episodes eval generates
MAX_TEST_FRACTION = 0.2  # never hold out more than this share of a dataset


def fresh_episodes(env: str, config: WorldConfig, frames: int = FRESH_FRAMES) -> VideoData:
    """Simulator episodes training never saw (seed + EVAL_SEED_OFFSET), kept in memory, a fresh random
    action every frame."""
    return simulated_data(env, frames, config.tokenizer.image_size, config.train.seed + EVAL_SEED_OFFSET,
                          policy="random")


def describe_fresh(env: str, config: WorldConfig) -> str:
    return (f"fresh {env} episodes ({FRESH_FRAMES} frames, seed {config.train.seed + EVAL_SEED_OFFSET}, "
            f"a random action every frame)")


def held_out_fraction(data: VideoData, episodes_wanted: int) -> float:
    """The share of a data file its test split takes: `episodes_wanted` episodes, at most MAX_TEST_FRACTION."""
    return min(MAX_TEST_FRACTION, episodes_wanted / max(1, len(data.episode_ends)))


def held_out_spans(splits: dict[str, list[Span]], source: str) -> list[Span]:
    """The test split of a data file; a UserError when it is empty."""
    if not splits.get("test"):
        raise UserError(f"{source} has no held-out (test) split to evaluate on; give a longer file or more "
                        f"episodes, or evaluate on another file with `nanogenie eval --data OTHER.h5`")
    return [tuple(s) for s in splits["test"]]


def _same_data(data: VideoData, trained: dict) -> bool:
    """Is `data` the file the world trained on (same path, or same source and length)?"""
    if trained.get("path") and data.path and Path(trained["path"]).resolve() == Path(data.path).resolve():
        return True
    return bool(trained.get("source")) and trained.get("source") == data.source and trained.get("frames") == len(data)


def held_out_of_file(data: VideoData, trained: dict) -> tuple[list[Span], str]:
    """The spans of a data file eval may measure a world on, and what they are: the world's recorded
    test split when it is the training data (`trained`: world.json's data summary), else all of it."""
    if _same_data(data, trained):
        spans = held_out_spans(trained.get("splits", {}), data.path or "the training data")
        return spans, f"the test split of {data.path}, the world's training data ({len(spans)} spans)"
    spans = data.episodes()
    return spans, f"all {len(spans)} episodes of {data.path}, a file the world did not train on"
