"""The colours of the small things that move in a video: where a user looks for the player's colour to train on
(`lam.focus`, models/focus.py) before any model exists.

Colours are binned to within 16 of 255 on each channel, and neighbouring bins no further apart than focus allows
(~19 either way) are read as one colour, so every pixel counted under a colour is one focus on it would find."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanogenie.models.focus import FOCUS_TOLERANCE

SAMPLE_PAIRS = 1000  # consecutive frame pairs read, spread over the episodes
MAX_AREA = 0.02  # of the frame: larger is scenery (sky, ground, walls), not a sprite
MIN_PRESENT = 0.5  # of the frames: a player is on screen most of the time
MIN_MOVING = 0.2  # of the pairs in which the colour's pixels change place
LEVEL = 16  # colour levels are read to this width


@dataclass(frozen=True)
class SpriteColour:
    rgb: tuple[int, int, int]  # the mean colour of its pixels
    area: float  # share of the frame it covers, on average
    present: float  # share of frames showing it
    moving: float  # share of consecutive pairs in which its pixels change

    def focus_flag(self) -> str:
        return f'--set "lam.focus=[{self.rgb[0]},{self.rgb[1]},{self.rgb[2]}]"'


def frame_pairs(episodes: list[tuple[int, int]], count: int = SAMPLE_PAIRS, seed: int = 0) -> np.ndarray:
    """Indices t (at most `count`, sorted) with x_t and x_t+1 in one episode, drawn evenly at random."""
    starts = np.concatenate([np.arange(start, end - 1) for start, end in episodes if end - start > 1] or
                            [np.zeros(0, np.int64)])
    if len(starts) <= count:
        return starts
    return np.sort(np.random.default_rng(seed).choice(starts, count, replace=False))


def sprite_colours(now: np.ndarray, after: np.ndarray) -> list[SpriteColour]:
    """now, after (N, H, W, 3) uint8: N frames and the frame after each -> the colours no larger than a sprite,
    shown in most frames and moving in some, the most often moving first."""
    def bins(frames: np.ndarray) -> np.ndarray:
        level = frames.astype(np.int32) // LEVEL
        levels = 256 // LEVEL
        return (level[..., 0] * levels + level[..., 1]) * levels + level[..., 2]  # (N, H, W): one id per bin

    bin_now = bins(now)
    group_of_bin = _colour_groups(now, bin_now)
    group_now, group_after = group_of_bin[bin_now], group_of_bin[bins(after)]  # (N, H, W); -1: a bin now lacks
    count, pixels = len(now), now.shape[1] * now.shape[2]
    sizes = np.bincount(group_now.ravel())
    found = []
    for group in np.flatnonzero(sizes <= MAX_AREA * count * pixels):
        here = group_now == group
        area = sizes[group] / (count * pixels)
        present = here.reshape(count, -1).any(axis=1).mean()
        moving = (here ^ (group_after == group)).reshape(count, -1).any(axis=1).mean()
        if present >= MIN_PRESENT and moving >= MIN_MOVING:
            rgb = tuple(int(round(c)) for c in now[here].mean(axis=0))
            found.append(SpriteColour(rgb, float(area), float(present), float(moving)))
    return sorted(found, key=lambda c: (-c.moving, -c.present, c.rgb))


def _colour_groups(frames: np.ndarray, bin_ids: np.ndarray) -> np.ndarray:
    """frames (N, H, W, 3) and their bin ids (N, H, W) -> the group of every bin id (-1 for bins the frames lack),
    each group a colour that one focus flag would find: a bin joins the group of the most common bin whose mean
    colour lies within the focus tolerance of its own on every channel, so a sprite whose compressed pixels straddle a
    bin edge is one colour, not two. Every bin is grouped, scenery too, so the jittered edge of a sky joins the sky
    rather than pass for a sprite."""
    ids, inverse, totals = np.unique(bin_ids, return_inverse=True, return_counts=True)
    sums = np.zeros((len(ids), 3))
    np.add.at(sums, inverse.ravel(), frames.reshape(-1, 3).astype(np.float64))
    means = sums / totals[:, None]
    tolerance = FOCUS_TOLERANCE * 127.5
    group_of_bin = np.full((256 // LEVEL) ** 3, -1)
    seeds: list[int] = []  # the first (most common) bin of each group, by its place in `ids`
    for i in np.argsort(-totals, kind="stable"):
        near = [g for g, seed in enumerate(seeds) if np.abs(means[i] - means[seed]).max() <= tolerance]
        if not near:
            seeds.append(i)
        group_of_bin[ids[i]] = near[0] if near else len(seeds) - 1
    return group_of_bin
