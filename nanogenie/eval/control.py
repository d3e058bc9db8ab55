"""control_accuracy: the whole chain a player feels, key -> latent action -> dynamics -> pixels, measured
on a simulator world.

From a held-out simulator state, each true control c is held for HOLD steps on a copy of the simulator
(the true frames x^c), and the keymap's latent action for c is held for HOLD generated frames from the
same context. For every pair of controls whose true last frames differ, the pair counts as right when
the frame generated for c is closer to x^c than to x^c'. Chance is 0.5.

Its standard error comes with it: resampling the held-out states (a bootstrap) shows how much the
figure would move on another sample of states (`nanogenie eval --states N --seed S` scores others).
Each state draws its own sampling noise (`sampling_seed`): with one noise draw shared by every state,
the states' results move together with that draw, which the bootstrap cannot see.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from nanogenie.data.pixels import to_model
from nanogenie.envs import make_env
from nanogenie.eval.evaluate import CONTEXT_FRAMES, KeysHeld, generate_after_context
from nanogenie.eval.held_out import EVAL_SEED_OFFSET
from nanogenie.play.keymap import as_codes
from nanogenie.training.keymap_fit import ACTION_KEYS, IDLE_NAMES

HOLD = 4  # steps each control is held: with momentum, a key's effect builds up over a few frames
WARMUP = (8, 40)  # random-action steps before a state is used, so states differ
STATES = 48  # held-out states; a game with 3 controls gives at most 6 scored pairs per state
RESAMPLES = 1000  # bootstrap draws for the standard error


def keymap_codes(keymap_path: Path, action_names: list[str]) -> dict[int, int]:
    """True action index -> the latent action a keymap.toml gives it first (its main chord, or idle)."""
    return {index: codes[0] for index, codes in keymap_owned(keymap_path, action_names).items()}


def keymap_owned(keymap_path: Path, action_names: list[str]) -> dict[int, tuple[int, ...]]:
    """True action index -> every latent action its key owns in a keymap.toml (its main chord, or idle), the
    first first. Read as plain TOML: checking key names would start pygame's video, which eval does not need."""
    data = tomllib.loads(Path(keymap_path).read_text())
    by_chord = {chord: as_codes(value) for chord, value in data.get("bindings", {}).items()}
    codes = {}
    for index, name in enumerate(action_names):
        if name in IDLE_NAMES:
            codes[index] = as_codes(data["idle"])
        elif name in ACTION_KEYS and ACTION_KEYS[name][0] in by_chord:
            codes[index] = by_chord[ACTION_KEYS[name][0]]
    return codes


@torch.no_grad()
def control_accuracy(world, env_name: str, keymap_path: Path, device: str, states: int = STATES, seed: int = 0,
                     hold: int = HOLD) -> tuple[float | None, float | None]:
    """The fraction of distinguishable control pairs the world gets right, and its standard error over the
    states (both None if no pair could be scored), each control held `hold` steps."""
    env = make_env(env_name, world.config.tokenizer.image_size)
    codes = keymap_owned(keymap_path, list(env.action_names))
    controls = sorted(codes)
    tallies = []  # (right, pairs) per scored state
    for state, context, truth in scored_states(env, controls, states, seed, hold):
        generated = held_codes(world, context, [codes[a] for a in controls], device,
                               sampling_seed(seed, state), hold)  # (C, 3, H, W)
        tallies.append(pairs_told_apart(frame_distances(generated, truth), truth))
    return accuracy_and_error(np.array(tallies, dtype=np.float64).reshape(-1, 2))


def scored_states(env, controls: list[int], states: int, seed: int, hold: int = HOLD
                  ) -> Iterator[tuple[int, list[np.ndarray], list[np.ndarray]]]:
    """control_accuracy's held-out states: (state index, its context frames, the simulator's frame after each
    control is held) for each of `states` draws that neither ends its episode nor runs out before the holds end."""
    rng = np.random.default_rng(seed)
    for state in range(states):
        context = held_out_state(env, rng)
        if context is None:
            continue
        truth = held_controls(env, controls, hold)
        if truth is not None:
            yield state, context, truth


def sampling_seed(seed: int, state: int) -> int:
    """The seed of the sampling noise for the `state`-th held-out state of a run seeded `seed`: its own
    draw, the same on every run. Every control held from one state shares it, so a pair of controls
    differs by the keys, not by the noise."""
    return int(np.random.SeedSequence((seed, state)).generate_state(1)[0])


def accuracy_and_error(tallies: np.ndarray, seed: int = 0) -> tuple[float | None, float | None]:
    """tallies (S, 2): right and scored pairs per state -> (pooled accuracy, its bootstrap standard error
    over states), rounded; (None, None) when nothing was scored."""
    if tallies[:, 1].sum() == 0:
        return None, None
    draws = np.random.default_rng(seed).integers(len(tallies), size=(RESAMPLES, len(tallies)))  # (R, S)
    resampled = tallies[draws].sum(axis=1)  # (R, 2)
    ratios = resampled[:, 0] / np.maximum(resampled[:, 1], 1)
    return round(tallies[:, 0].sum() / tallies[:, 1].sum(), 4), round(float(ratios.std()), 4)


def held_controls(env, actions: list[int], hold: int = HOLD) -> list[np.ndarray] | None:
    """The simulator's frame after each action is held for `hold` steps from env's state (env untouched), or
    None if one of them ends the episode first."""
    truth = [played(env, [action] * hold) for action in actions]
    return None if any(frames is None for frames in truth) else [frames[-1] for frames in truth]


def played(env, actions: list[int]) -> list[np.ndarray] | None:
    """The frames a copy of env shows after each of `actions` (env untouched), or None if the episode ends
    before the last: a state a step from a pit has no frames to compare after it."""
    sim, frames = copy.deepcopy(env), []
    for action in actions:
        if sim.done:
            return None
        frames.append(sim.step(action))
    return frames


def held_codes(world, context: list[np.ndarray], codes: list[int | tuple[int, ...]], device: str, seed: int,
               hold: int = HOLD) -> torch.Tensor:
    """The world's frame (N, 3, H, W) after each key, a latent code or every code a key owns, is held for `hold`
    generated frames."""
    owned = [as_codes(c) for c in codes]
    held = torch.tensor([c[0] for c in owned], device=device)[:, None].expand(-1, hold)
    return generated_from(world, context, held, seed, KeysHeld([[c] * hold for c in owned]))[:, -1]


def generated_from(world, context: list[np.ndarray], codes: torch.Tensor, seed: int, keys: KeysHeld | None = None
                   ) -> torch.Tensor:
    """The world's frames (N, L, 3, H, W) driven by each row of latent codes (N, L), from the same true
    context frames (the LAM infers the context's own actions); with `keys`, a key that owns several codes
    plays them as play does (generate_after_context)."""
    frames = to_model(np.stack(context))[None].to(codes.device)  # (1, T0, 3, H, W)
    tokens = world.tokenizer.encode(frames).expand(len(codes), -1, -1).contiguous()  # (N, T0, P)
    past = world.lam.infer_actions(frames).expand(len(codes), -1)  # (N, T0-1)
    keys = KeysHeld(keys.owned, frames) if keys is not None and keys.any_split else None
    return generate_after_context(world, tokens, torch.cat((past, codes), dim=1), codes.shape[1], seed, keys)


def frame_distances(generated: torch.Tensor, truth: list[np.ndarray]) -> np.ndarray:
    """generated (N, 3, H, W) in [-1, 1], truth C x (H, W, 3) uint8 -> mean squared distance (N, C) of each
    generated frame to each true frame."""
    true = to_model(np.stack(truth)).to(generated.device)  # (C, 3, H, W)
    return (generated[:, None] - true[None]).pow(2).flatten(2).mean(dim=2).cpu().numpy()


def pairs_told_apart(distance: np.ndarray, truth: list[np.ndarray], rows: list[int] | None = None
                     ) -> tuple[int, int]:
    """distance (C, C): row i, the frame generated for control i, against each control's true frame.
    Over the pairs (i in rows, default all; j any other) whose true frames differ: (pairs where the
    generated frame for i is closer to x^i than to x^j, pairs)."""
    right = pairs = 0
    for i in range(len(truth)) if rows is None else rows:
        for j in range(len(truth)):
            if i != j and not np.array_equal(truth[i], truth[j]):
                pairs += 1
                right += int(distance[i, i] < distance[i, j])
    return right, pairs


def held_out_state(env, rng: np.random.Generator, act: Callable[[], int] | None = None) -> list[np.ndarray] | None:
    """Play a fresh episode (seeded past EVAL_SEED_OFFSET, like every held-out episode) for a random
    number of random-action steps (or of `act()`'s actions, for the lab); the last CONTEXT_FRAMES frames, or
    None if the episode ended first."""
    frames = [env.reset(int(rng.integers(2**31)) + EVAL_SEED_OFFSET)]
    for _ in range(int(rng.integers(*WARMUP))):
        frames.append(env.step(int(rng.integers(env.num_actions)) if act is None else act()))
        if env.done:
            return None
    return frames[-CONTEXT_FRAMES:]
