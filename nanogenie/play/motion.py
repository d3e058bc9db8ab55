"""What moves in a pair of frames, and which way: the motion each latent action shows, read from its rollouts in a
world (`code_motion`) or from the transitions of a video it labels (`video_motion`), for the proposed keymap
(play/propose.py, whose docstring says how the keys are chosen from it).

Notation: S start states, A actions, T frames, N transitions, H x W frames of 3 colours.
"""

from __future__ import annotations

import numpy as np

from nanogenie.data.pixels import to_model
from nanogenie.models.focus import colour_pixels, grown

MAX_SHIFT = 0.07  # of the frame's side, the most a thing moves in one frame: 4 px on a 64 px frame
CHANGED = 0.1  # summed over channels, how far a code's future must be from the mean to mark a pixel
SCROLL_EXPLAINS = 0.5  # the whole picture's shift is the camera when it leaves at most this share of changed pixels
NEAR_BEST = 0.8  # of the largest excess: moves this close to it count as explaining as much
MIN_EXCESS = 1.0  # pixels a transition: how much more of a move a code's video frames must show than all do
TIE = 1e-4  # per pixel of shift: a still picture matches itself at every shift, so prefer none


def code_motion(futures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """futures (S, A, T, H, W, 3) -> motion (A, 2) as (dx, dy) pixels per frame, strength (A,).

    Each step t-1 -> t of a code's own future is explained in two layers, each by the one shift (at
    most MAX_SHIFT of the frame's side) that best maps frame t-1 onto frame t: first the whole picture
    (the camera: 0 unless that shift explains most of the changed pixels, as a scroll's does and a
    sprite's on a still scene does not), then only the pixels that shift leaves unexplained (the
    thing that moves in the scene: where it arrived and where it left). The thing's motion in the world is its
    shift minus the camera's; with nothing left unexplained, it is minus the camera's (the scene going
    left is the player going right). Motions are averaged over steps and starts. Ties go to the
    smaller shift, so a still picture reads 0."""
    x = futures.astype(np.float32) / 255.0
    a, t, h, w = x.shape[1:5]
    strength = np.abs(x - x.mean(axis=1, keepdims=True)).sum(axis=-1).mean(axis=(0, 2, 3, 4)) / 3  # 0..1
    if t < 2:
        return np.zeros((a, 2), np.float32), strength
    r = max(1, round(MAX_SHIFT * max(h, w)))
    prev, cur = x[:, :, :-1], x[:, :, 1:]
    changed = np.abs(cur - prev).sum(axis=-1) > CHANGED
    camera, unexplained = _camera(prev, cur, changed, r)  # (S, A, T-1, 2), (S, A, T-1, H, W)
    thing_seen = unexplained[..., r:h - r, r:w - r].any(axis=(-2, -1))  # (S, A, T-1)
    thing = _best_shift(prev, cur, unexplained, r)
    world = np.where(thing_seen[..., None], thing, 0.0) - camera
    return world.mean(axis=(0, 2)), strength


def _camera(prev: np.ndarray, cur: np.ndarray, changed: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps prev -> cur (..., H, W, 3) in [0, 1] and their changed pixels (..., H, W) -> the camera's shift
    (..., 2) and the pixels it leaves unexplained (..., H, W). The camera is the whole picture's best shift
    when that explains at least half of the changed pixels (a scroll; a plain sky changes nothing, so a
    scroll may change little of the picture), else none (a sprite moving on a still scene)."""
    camera = _best_shift(prev, cur, np.ones(changed.shape, bool), r)
    unexplained = np.abs(cur - _shifted(prev, camera, r)).sum(axis=-1) > CHANGED
    scroll = unexplained.sum(axis=(-2, -1)) <= SCROLL_EXPLAINS * changed.sum(axis=(-2, -1))
    return (np.where(scroll[..., None], camera, 0.0).astype(np.float32),
            np.where(scroll[..., None, None], unexplained, changed))


def _best_shift(prev: np.ndarray, cur: np.ndarray, weight: np.ndarray, r: int) -> np.ndarray:
    """The integer (dx, dy), |each| <= r, whose shift of prev (..., H, W, 3) best matches cur on the
    pixels of `weight` (..., H, W) inside an r-pixel margin: (..., 2), ties to the smaller shift."""
    h, w = cur.shape[-3:-1]
    inner = cur[..., r:h - r, r:w - r, :]
    mask = weight[..., r:h - r, r:w - r].astype(np.float32)
    count = np.maximum(mask.sum(axis=(-2, -1)), 1.0)
    best = np.full(cur.shape[:-3], np.inf, np.float32)
    shift = np.zeros((*cur.shape[:-3], 2), np.float32)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            moved = prev[..., r - dy:h - r - dy, r - dx:w - r - dx, :]  # prev shifted by (dx, dy)
            err = (np.abs(inner - moved).sum(axis=-1) * mask).sum(axis=(-2, -1)) / count + TIE * (abs(dx) + abs(dy))
            better = err < best
            best = np.where(better, err, best)
            shift[better] = (dx, dy)
    return shift


def _shifted(prev: np.ndarray, shift: np.ndarray, r: int) -> np.ndarray:
    """prev (..., H, W, 3) moved by its own integer shift (..., 2); the r-pixel border repeats the edge."""
    h, w = prev.shape[-3:-1]
    padded = np.pad(prev, [(0, 0)] * (prev.ndim - 3) + [(r, r), (r, r), (0, 0)], mode="edge")
    out = np.empty_like(prev)
    flat_prev, flat_out = padded.reshape(-1, *padded.shape[-3:]), out.reshape(-1, h, w, 3)
    for i, (dx, dy) in enumerate(shift.reshape(-1, 2).astype(int)):
        flat_out[i] = flat_prev[i, r - dy:r - dy + h, r - dx:r - dx + w]
    return out


def video_motion(prev: np.ndarray, cur: np.ndarray, codes: np.ndarray, num_actions: int,
                 focus: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive frames of a video prev, cur (N, H, W, 3) uint8 and the latent action of each transition
    codes (N,) -> motion (A, 2) as (dx, dy) pixels per frame, strength (A,).

    What the frames a code labels show moving, against all frames. Per transition, after the camera's
    shift (as in `code_motion`), every changed pixel is counted at each shift of the previous frame that
    explains it: a histogram of how far things moved in the world. Things that move on their own (a
    monster, a ball) fill every code's histogram alike; the thing a code moves fills its own more. A code's
    motion is the move its histogram holds most in excess of the average over all transitions (at least
    MIN_EXCESS pixels a transition, else none); its strength, the share of the picture its transitions change.
    With `focus` (the player's colour, lam.focus) only the pixels near that colour are counted: the player's
    moves, where things that move on their own and are larger than it would otherwise fill the histograms."""
    x_prev, x_cur = prev.astype(np.float32) / 255.0, cur.astype(np.float32) / 255.0
    h, w = prev.shape[1:3]
    r = max(1, round(MAX_SHIFT * max(h, w)))
    changed = np.abs(x_cur - x_prev).sum(axis=-1) > CHANGED  # (N, H, W)
    camera, unexplained = _camera(x_prev, x_cur, changed, r)
    if focus:
        unexplained &= near_colour(prev, cur, focus, r)
    camera = camera.astype(int)
    inner = (slice(None), slice(r, h - r), slice(r, w - r))
    span = 4 * r + 1  # world moves from -2r to 2r each way: a shift of at most r less the camera's
    counts = np.zeros((len(prev), span, span), np.float32)  # (N, dy, dx) pixels explained by each world move
    rows = np.arange(len(prev))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            moved = x_prev[:, r - dy:h - r - dy, r - dx:w - r - dx]
            hits = ((np.abs(x_cur[inner] - moved).sum(axis=-1) <= CHANGED) & unexplained[inner]).sum(axis=(1, 2))
            counts[rows, dy - camera[:, 1] + 2 * r, dx - camera[:, 0] + 2 * r] += hits
    average = counts.mean(axis=0)
    motion, strength = np.zeros((num_actions, 2), np.float32), np.zeros(num_actions, np.float32)
    for code in range(num_actions):
        mine = codes == code
        if not mine.any():
            continue
        excess = counts[mine].mean(axis=0) - average
        excess[2 * r, 2 * r] = 0.0  # a thing that stays put in the world is no move
        if excess.max() >= MIN_EXCESS:
            # a plain sprite moved by s is also explained, pixel by pixel, by moves a little longer (its own
            # inside); among the moves nearly as much in excess as the most, the shortest is the move
            near = np.argwhere(excess >= NEAR_BEST * excess.max()) - 2 * r  # (M, 2) as (dy, dx)
            dy, dx = min(near.tolist(), key=lambda m: (abs(m[0]) + abs(m[1]), -excess[m[0] + 2 * r, m[1] + 2 * r]))
            motion[code] = (dx, dy)
        strength[code] = changed[mine].mean()
    return motion, strength


def near_colour(prev: np.ndarray, cur: np.ndarray, colour: list[int], reach: int) -> np.ndarray:
    """(N, H, W) bool: the pixels within `reach` of a pixel of `colour` in prev or cur (N, H, W, 3) uint8, as near as
    the latent action model counts it (models/focus.py); every pixel of a transition without one."""
    found = colour_pixels(to_model(np.stack([prev, cur], axis=1)), colour)
    return grown(found, reach)[:, 0].numpy().astype(bool)
