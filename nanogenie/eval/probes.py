"""Named probes: figures that only make sense for one game, run by `nanogenie eval --probe NAME`.

hero-whole (sonic): does the world keep its hero whole? From held-out simulator states (the ones
control_accuracy uses), a scripted sequence of keys (right, jump, right, left, idle; 32 frames) is
played on a copy of the simulator and in the world (the keymap's codes, after the same 4 true context
frames). In every frame the hero is counted as the blobs of its skin colour (sonic's sprites are the
only skin-coloured things on screen; the rolling ball, which shows none, is not in the script). A decoded
frame is a little off the palette, so a blob's pixels may be up to TOLERANCE from the skin colour, but one
of them must come within CORE of it: a decoded ring, blurred into the sky, passes within TOLERANCE of the
skin colour in places and is not a hero (docs/lab/2026-12-06-hero-probe-rings.md). The
figures: the share of frames whose count matches the simulator's, with its standard error over states
(a bootstrap, as control_accuracy's: a state's 32 frames share one context, so they are not 32 separate
samples), the same for the tokenizer's reconstruction of the true frames (the ceiling of what a dynamics
can reach through it), and, over frames where the simulator shows one hero, the share where the world
shows none or two or more, and the share where it shows one standing where the simulator's does
(`hero_placed`, with its standard error, and the reconstruction's): a count alone takes a hero redrawn across
the screen for a kept one.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from nanogenie.data.pixels import to_model, to_stored
from nanogenie.envs import make_env
from nanogenie.envs.sonic_art import PALETTE
from nanogenie.eval.control import (STATES, accuracy_and_error, generated_from, held_out_state, keymap_owned, played,
                                    sampling_seed)
from nanogenie.eval.evaluate import KeysHeld

IDLE, LEFT, RIGHT, JUMP = 0, 1, 2, 3  # sonic's true controls
SCRIPT = [RIGHT] * 8 + [JUMP] * 3 + [RIGHT] * 9 + [LEFT] * 8 + [IDLE] * 4
TOLERANCE = 60  # per channel: a decoded pixel is a little off the palette
# Per channel: how close to the skin colour a blob's closest pixel must come. The tokenizer draws half of the
# hero's skin pixels within 15 of it, so a drawn hero has such a pixel; a ring's yellow blurred into the sky
# passes within TOLERANCE of the skin colour but comes no closer than ~30 in nine cases of ten.
CORE = 20
MIN_PIXELS = 3  # smaller specks are not a hero
JOIN = 2  # pixels of a sprite's skin are separated by its outline; blobs this close are one
PLACE = 8  # pixels: a drawn hero this close to the simulator's stands where it does (its skin is ~7 px across)


def colour_distance(frames: np.ndarray, colour) -> np.ndarray:
    """frames (..., 3) uint8 -> (...) int: each pixel's largest per-channel distance from `colour`."""
    return np.abs(frames.astype(np.int32) - np.asarray(colour)).max(axis=-1)


def grown(mask: np.ndarray, steps: int) -> np.ndarray:
    """mask (..., H, W) bool -> the same, grown by `steps` 4-neighbour dilations."""
    for _ in range(steps):
        step = mask.copy()
        step[..., 1:, :] |= mask[..., :-1, :]
        step[..., :-1, :] |= mask[..., 1:, :]
        step[..., :, 1:] |= mask[..., :, :-1]
        step[..., :, :-1] |= mask[..., :, 1:]
        mask = step
    return mask


def skin_mask(frame: np.ndarray, skin_colour: np.ndarray) -> np.ndarray:
    """frame (H, W, 3) uint8 -> (H, W) bool: the pixels within TOLERANCE of the skin colour."""
    return colour_distance(frame, skin_colour) < TOLERANCE


def hero_places(frame: np.ndarray, skin_colour: np.ndarray, core: int = CORE) -> list[tuple[float, float]]:
    """frame (H, W, 3) uint8 -> where each hero stands: the (y, x) centre of the skin pixels of every blob of at
    least MIN_PIXELS of them, at least one of which comes within `core` of the skin colour."""
    distance = colour_distance(frame, skin_colour)  # (H, W)
    skin = distance < TOLERANCE
    joined = grown(skin, JOIN)  # nearby parts of one sprite join
    seen, found = np.zeros_like(joined), []
    for y, x in zip(*np.nonzero(joined)):
        if seen[y, x]:
            continue
        seen[y, x], stack, pixels, closest = True, [(y, x)], [], TOLERANCE
        while stack:
            cy, cx = stack.pop()
            if skin[cy, cx]:
                pixels.append((cy, cx))
                closest = min(closest, int(distance[cy, cx]))
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < joined.shape[0] and 0 <= nx < joined.shape[1] and joined[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        if len(pixels) >= MIN_PIXELS and closest < core:
            found.append(tuple(float(v) for v in np.mean(pixels, axis=0)))
    return found


def heroes(frame: np.ndarray, skin_colour: np.ndarray, core: int = CORE) -> int:
    """frame (H, W, 3) uint8 -> the number of heroes drawn in it (hero_places)."""
    return len(hero_places(frame, skin_colour, core))


def placed(truth: np.ndarray, drawn: np.ndarray, skin_colour: np.ndarray) -> np.ndarray:
    """truth, drawn (..., H, W, 3) uint8 -> (..., 2) bool per frame: the truth shows one hero, and the drawn frame
    shows one too, standing within PLACE pixels of it. A world that keeps a hero but redraws it elsewhere (where
    most training frames have it) counts as whole and not as placed."""
    expected, shown = (places_per_frame(frames, skin_colour) for frames in (truth, drawn))
    return placed_outcomes(expected, shown).reshape(*truth.shape[:-3], 2)


def places_per_frame(frames: np.ndarray, skin_colour: np.ndarray) -> list[list[tuple[float, float]]]:
    """frames (..., H, W, 3) uint8 -> hero_places of each frame, in order."""
    return [hero_places(frame, skin_colour) for frame in frames.reshape(-1, *frames.shape[-3:])]


def placed_outcomes(expected: list[list[tuple[float, float]]], shown: list[list[tuple[float, float]]]) -> np.ndarray:
    """The heroes' places per frame in the truth and in the drawn frames -> (N, 2) bool: `placed`'s outcomes."""
    return np.array([(len(true) == 1, len(true) == 1 and len(made) == 1 and math.dist(true[0], made[0]) <= PLACE)
                     for true, made in zip(expected, shown)], dtype=bool).reshape(-1, 2)


def hero_counts(frames: np.ndarray, skin_colour: np.ndarray, core: int = CORE) -> np.ndarray:
    """frames (..., H, W, 3) uint8 -> (...) int: each frame's number of heroes."""
    flat = frames.reshape(-1, *frames.shape[-3:])
    return np.array([heroes(frame, skin_colour, core) for frame in flat], dtype=np.int64).reshape(frames.shape[:-3])


def hero_outcomes(expected: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Hero counts (...) of the truth and of the drawn frames -> (..., 4) bool per frame: the counts match, the
    truth shows one hero, and of those, drawn with none and drawn with two or more. Summed, the probe's tallies."""
    one = expected == 1
    return np.stack([shown == expected, one, one & (shown == 0), one & (shown >= 2)], axis=-1)


@torch.no_grad()
def hero_whole(world, device: str, states: int = STATES, seed: int = 0) -> dict[str, float | None]:
    """The hero-whole figures of a sonic world with a keymap (module docstring)."""
    skin_colour = np.array(PALETTE["S"])
    env = make_env("sonic", world.config.tokenizer.image_size)
    codes = keymap_owned(world.keymap_path, list(env.action_names))
    held = torch.tensor([[codes[a][0] for a in SCRIPT]], device=device)
    keys = KeysHeld([[codes[a] for a in SCRIPT]])
    rng = np.random.default_rng(seed)
    made_tallies, rebuilt_tallies = [], []  # per state: (4,) the summed outcomes of its len(SCRIPT) frames
    placed_tallies, rebuilt_placed = [], []  # per state: (2,) frames placed, frames whose truth shows one hero
    for state in range(states):
        context = held_out_state(env, rng)
        truth = None if context is None else played(env, SCRIPT)
        if truth is None:
            continue
        made = generated_from(world, context, held, sampling_seed(seed, state), keys)[0]  # (L, 3, H, W)
        recon = world.tokenizer.decode(world.tokenizer.encode(to_model(np.stack(truth))[:, None].to(device)))[:, 0]
        expected = places_per_frame(np.stack(truth), skin_colour)  # each frame's heroes found once, counted and placed
        counted = np.array([len(p) for p in expected])
        for drawn, tallies, placings in ((made, made_tallies, placed_tallies),
                                         (recon, rebuilt_tallies, rebuilt_placed)):
            shown = places_per_frame(to_stored(drawn).cpu().numpy(), skin_colour)
            tallies.append(hero_outcomes(counted, np.array([len(p) for p in shown])).sum(0))
            placings.append(placed_outcomes(expected, shown).sum(0)[::-1])  # (placed, one hero): right, scored
    if not made_tallies:
        return {"hero_whole": None, "hero_whole_se": None, "hero_whole_reconstructed": None, "hero_none": None,
                "hero_doubled": None, "hero_placed": None, "hero_placed_se": None, "hero_placed_reconstructed": None}
    made_tallies, frames = np.array(made_tallies), len(made_tallies) * len(SCRIPT)
    whole, error = accuracy_and_error(np.stack([made_tallies[:, 0], np.full(len(made_tallies), len(SCRIPT))],
                                               axis=1).astype(np.float64))
    in_place, in_place_error = accuracy_and_error(np.array(placed_tallies, dtype=np.float64))
    _, one, none, doubled = made_tallies.sum(0)
    one = max(int(one), 1)
    return {"hero_whole": whole, "hero_whole_se": error,
            "hero_whole_reconstructed": round(float(np.sum(rebuilt_tallies, axis=0)[0]) / frames, 4),
            "hero_none": round(float(none) / one, 4), "hero_doubled": round(float(doubled) / one, 4),
            "hero_placed": in_place, "hero_placed_se": in_place_error,
            "hero_placed_reconstructed": accuracy_and_error(np.array(rebuilt_placed, dtype=np.float64))[0]}


PROBES: dict[str, tuple[str, Callable]] = {  # name -> (the simulator it needs, the probe)
    "hero-whole": ("sonic", hero_whole),
}
