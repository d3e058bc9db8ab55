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
shows none or two or more.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from nanogenie.data.pixels import to_model, to_stored
from nanogenie.envs import make_env
from nanogenie.envs.sonic_art import PALETTE
from nanogenie.eval.control import (STATES, accuracy_and_error, generated_from, held_out_state, keymap_codes, played,
                                    sampling_seed)

IDLE, LEFT, RIGHT, JUMP = 0, 1, 2, 3  # sonic's true controls
SCRIPT = [RIGHT] * 8 + [JUMP] * 3 + [RIGHT] * 9 + [LEFT] * 8 + [IDLE] * 4
TOLERANCE = 60  # per channel: a decoded pixel is a little off the palette
# per channel: how close to the skin colour a blob's closest pixel must come. The tokenizer draws half of the
# hero's skin pixels within 15 of it; a ring's blur into the sky comes no closer than ~30 in nine cases of ten.
CORE = 20
MIN_PIXELS = 3  # smaller specks are not a hero
JOIN = 2  # pixels of a sprite's skin are separated by its outline; blobs this close are one


def skin_distance(frame: np.ndarray, skin_colour: np.ndarray) -> np.ndarray:
    """frame (H, W, 3) uint8 -> (H, W) int: each pixel's largest per-channel distance from the skin colour."""
    return np.abs(frame.astype(np.int32) - skin_colour).max(axis=-1)


def skin_mask(frame: np.ndarray, skin_colour: np.ndarray) -> np.ndarray:
    """frame (H, W, 3) uint8 -> (H, W) bool: the pixels within TOLERANCE of the skin colour."""
    return skin_distance(frame, skin_colour) < TOLERANCE


def heroes(frame: np.ndarray, skin_colour: np.ndarray, core: int = CORE) -> int:
    """frame (H, W, 3) uint8 -> the number of skin-coloured blobs of at least MIN_PIXELS pixels, one of them
    within `core` of the skin colour."""
    distance = skin_distance(frame, skin_colour)  # (H, W)
    skin = distance < TOLERANCE
    grown = skin.copy()
    for _ in range(JOIN):  # 4-neighbour dilation, so nearby parts of one sprite join
        step = grown.copy()
        step[1:] |= grown[:-1]
        step[:-1] |= grown[1:]
        step[:, 1:] |= grown[:, :-1]
        step[:, :-1] |= grown[:, 1:]
        grown = step
    seen, found = np.zeros_like(grown), 0
    for y, x in zip(*np.nonzero(grown)):
        if seen[y, x]:
            continue
        seen[y, x], stack, pixels, closest = True, [(y, x)], 0, int(distance[y, x])
        while stack:
            cy, cx = stack.pop()
            pixels += int(skin[cy, cx])
            closest = min(closest, int(distance[cy, cx]))
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < grown.shape[0] and 0 <= nx < grown.shape[1] and grown[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        found += pixels >= MIN_PIXELS and closest < core
    return found


@torch.no_grad()
def hero_whole(world, device: str, states: int = STATES, seed: int = 0) -> dict[str, float | None]:
    """The hero-whole figures of a sonic world with a keymap (module docstring)."""
    skin_colour = np.array(PALETTE["S"])
    env = make_env("sonic", world.config.tokenizer.image_size)
    codes = keymap_codes(world.keymap_path, list(env.action_names))
    held = torch.tensor([[codes[a] for a in SCRIPT]], device=device)
    rng = np.random.default_rng(seed)
    reconstructed = one = vanished = doubled = 0
    tallies = []  # per state: frames whose hero count matches, frames
    for state in range(states):
        context = held_out_state(env, rng)
        truth = None if context is None else played(env, SCRIPT)
        if truth is None:
            continue
        made = generated_from(world, context, held, sampling_seed(seed, state))[0]  # (L, 3, H, W)
        matched = 0
        recon = world.tokenizer.decode(world.tokenizer.encode(to_model(np.stack(truth))[:, None].to(device)))[:, 0]
        for true, generated, rebuilt in zip(truth, to_stored(made).cpu().numpy(), to_stored(recon).cpu().numpy()):
            expected, shown = heroes(true, skin_colour), heroes(generated, skin_colour)
            matched += shown == expected
            reconstructed += heroes(rebuilt, skin_colour) == expected
            if expected == 1:
                one += 1
                vanished += shown == 0
                doubled += shown >= 2
        tallies.append((matched, len(truth)))
    frames = sum(count for _, count in tallies)
    if frames == 0:
        return {"hero_whole": None, "hero_whole_se": None, "hero_whole_reconstructed": None, "hero_none": None,
                "hero_doubled": None}
    whole, error = accuracy_and_error(np.array(tallies, dtype=np.float64))
    return {"hero_whole": whole, "hero_whole_se": error, "hero_whole_reconstructed": round(reconstructed / frames, 4),
            "hero_none": round(vanished / max(one, 1), 4), "hero_doubled": round(doubled / max(one, 1), 4)}


PROBES: dict[str, tuple[str, Callable]] = {  # name -> (the simulator it needs, the probe)
    "hero-whole": ("sonic", hero_whole),
}
