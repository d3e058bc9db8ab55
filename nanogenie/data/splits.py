"""Train / val / test splits that never share a moment of time.

With enough episodes, whole episodes go to each split. With too few (a single-episode TinyWorlds file),
the timeline is cut into contiguous blocks that are dealt to the splits at random; a block never
straddles two splits, and spans are then cut at episode ends so a clip can never cross one.
"""

from __future__ import annotations

import math

import numpy as np

from nanogenie.data.hdf5 import VideoData
from nanogenie.errors import UserError

Span = tuple[int, int]  # (start, end) frame indices, end exclusive
SPLITS = ("train", "val", "test")
MIN_BLOCK_FRAMES = 64  # a time block should hold a few clips, or val/test would be too short to use
BLOCKS_PER_SMALLEST_SPLIT = 2  # two blocks each so val/test do not depend on one stretch of the video


def split_spans(
    data: VideoData, val_fraction: float, test_fraction: float, seed: int = 0
) -> dict[str, list[Span]]:
    """Spans of frames per split (keys train/val/test), sorted by start; train is never empty."""
    fractions = {"val": val_fraction, "test": test_fraction}
    for name, fraction in fractions.items():
        if not 0.0 <= fraction < 1.0:
            raise UserError(f"{name} fraction must be in [0, 1), got {fraction}")
    if val_fraction + test_fraction >= 1.0:
        raise UserError(f"val + test fractions must leave frames for training, got {val_fraction} + {test_fraction}")
    rng = np.random.default_rng(seed)
    episodes = data.episodes()
    counts = _split_counts(len(episodes), fractions, strict=True)
    if counts is not None:  # enough episodes: deal whole episodes
        order = rng.permutation(len(episodes))
        return _deal(order, counts, episodes)

    num_frames = len(data)
    smallest = min(f for f in fractions.values() if f > 0)
    num_blocks = min(math.ceil(BLOCKS_PER_SMALLEST_SPLIT / smallest), max(3, num_frames // MIN_BLOCK_FRAMES))
    num_blocks = min(num_blocks, num_frames)
    counts = _split_counts(num_blocks, fractions, strict=False)
    if counts is None:
        raise UserError(f"{num_frames} frames are too few to split into train/val/test; "
                        "use a longer dataset or smaller val/test fractions")
    edges = np.linspace(0, num_frames, num_blocks + 1).round().astype(int).tolist()
    blocks = list(zip(edges[:-1], edges[1:]))
    split_blocks = _deal(rng.permutation(num_blocks), counts, blocks)
    return {name: cut_at_episode_ends(_merge_touching(spans), data.episode_ends) for name, spans in
            split_blocks.items()}


def within_first(spans: list[Span], frames: int | None) -> list[Span]:
    """The parts of `spans` before frame `frames` (all of them when None)."""
    if frames is None:
        return spans
    return [(start, min(end, frames)) for start, end in spans if start < frames]


def _split_counts(num_items: int, fractions: dict[str, float], strict: bool) -> dict[str, int] | None:
    """Items per split (each non-zero fraction gets at least one), or None if train would be left empty.

    `strict` also refuses when one item is more than twice the share asked for (a 3-episode file
    with val 0.1 would give val a third of the data): the caller then cuts time blocks instead.
    """
    if all(f == 0 for f in fractions.values()):
        return {"train": num_items, "val": 0, "test": 0}
    counts = {}
    for name, fraction in fractions.items():
        exact = num_items * fraction
        if strict and 0 < exact < 0.5:
            return None
        counts[name] = max(1, round(exact)) if fraction > 0 else 0
    counts["train"] = num_items - counts["val"] - counts["test"]
    return counts if counts["train"] >= 1 else None


def _deal(order: np.ndarray, counts: dict[str, int], items: list[Span]) -> dict[str, list[Span]]:
    """Give the items, in `order`, to val, then test, then train; each split's spans sorted by start."""
    taken = {"val": order[: counts["val"]], "test": order[counts["val"]: counts["val"] + counts["test"]],
             "train": order[counts["val"] + counts["test"]:]}
    return {name: sorted(items[i] for i in taken[name]) for name in SPLITS}


def _merge_touching(spans: list[Span]) -> list[Span]:
    """Join blocks that follow each other, so clips may run across their shared edge."""
    merged: list[Span] = []
    for start, end in spans:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def cut_at_episode_ends(spans: list[Span], episode_ends: np.ndarray) -> list[Span]:
    """Split every span at the episode ends inside it."""
    cut: list[Span] = []
    for start, end in spans:
        inner = [int(e) for e in episode_ends if start < e < end]
        edges = [start, *inner, end]
        cut.extend(zip(edges[:-1], edges[1:]))
    return cut
