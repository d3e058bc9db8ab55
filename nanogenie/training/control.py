"""control_accuracy: the whole chain a player feels, key -> latent action -> dynamics -> pixels, measured
on a simulator world.

From a held-out simulator state, each true control c is held for HOLD steps on a copy of the simulator
(the true frames x^c), and the keymap's latent action for c is held for HOLD generated frames from the
same context. For every pair of controls whose true last frames differ, the pair counts as right when
the frame generated for c is closer to x^c than to x^c'. Chance is 0.5.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import numpy as np
import torch

from nanogenie.data.pixels import to_model
from nanogenie.envs import make_env
from nanogenie.training.evaluate import CONTEXT_FRAMES, generate_after_context
from nanogenie.training.keymap_fit import ACTION_KEYS, IDLE_NAMES
from nanogenie.training.run_data import EVAL_SEED_OFFSET

HOLD = 4  # steps each control is held: with momentum, a key's effect builds up over a few frames
WARMUP = (8, 40)  # random-action steps before a state is used, so states differ
STATES = 48  # held-out states; a game with 3 controls gives at most 6 scored pairs per state


def keymap_codes(keymap_path: Path, action_names: list[str]) -> dict[int, int]:
    """True action index -> the latent action a keymap.toml gives it (its main chord, or idle). Read as
    plain TOML: checking key names would start pygame's video, which eval does not need."""
    data = tomllib.loads(Path(keymap_path).read_text())
    by_chord = {chord: int(code) for chord, code in data.get("bindings", {}).items()}
    codes = {}
    for index, name in enumerate(action_names):
        if name in IDLE_NAMES:
            codes[index] = int(data["idle"])
        elif name in ACTION_KEYS and ACTION_KEYS[name][0] in by_chord:
            codes[index] = by_chord[ACTION_KEYS[name][0]]
    return codes


@torch.no_grad()
def control_accuracy(world, env_name: str, keymap_path: Path, device: str, states: int = STATES, seed: int = 0
                     ) -> float | None:
    """The fraction of distinguishable control pairs the world gets right (None if none could be scored)."""
    env = make_env(env_name, world.config.tokenizer.image_size)
    codes = keymap_codes(keymap_path, list(env.action_names))
    controls = sorted(codes)
    rng = np.random.default_rng(seed)
    right = pairs = 0
    for _ in range(states):
        context = _held_out_state(env, rng)
        if context is None:
            continue
        truth = []
        for action in controls:  # the simulator, from the same state, with each control held
            sim = copy.deepcopy(env)
            for _ in range(HOLD):
                frame = sim.step(action)
            truth.append(frame)
        frames = to_model(np.stack(context))[None].to(device)  # (1, T0, 3, H, W)
        tokens = world.tokenizer.encode(frames).expand(len(controls), -1, -1).contiguous()  # (C, T0, P)
        past = world.lam.infer_actions(frames).expand(len(controls), -1)  # (C, T0-1)
        held = torch.tensor([codes[a] for a in controls], device=device)[:, None].expand(-1, HOLD)
        generated = generate_after_context(world, tokens, torch.cat((past, held), dim=1), HOLD, seed)[:, -1]  # (C, 3, H, W)
        true_last = to_model(np.stack(truth)).to(device)  # (C, 3, H, W)
        distance = (generated[:, None] - true_last[None]).pow(2).flatten(2).mean(dim=2)  # (C gen, C true)
        for i in range(len(controls)):
            for j in range(len(controls)):
                if i != j and not np.array_equal(truth[i], truth[j]):
                    pairs += 1
                    right += int(distance[i, i] < distance[i, j])
    return round(right / pairs, 4) if pairs else None


def _held_out_state(env, rng: np.random.Generator) -> list[np.ndarray] | None:
    """Play a fresh episode (seeded past EVAL_SEED_OFFSET, like every held-out episode) for a random
    number of random-action steps; the last CONTEXT_FRAMES frames, or None if the episode ended first."""
    frames = [env.reset(int(rng.integers(2**31)) + EVAL_SEED_OFFSET)]
    for _ in range(int(rng.integers(*WARMUP))):
        frames.append(env.step(int(rng.integers(env.num_actions))))
        if env.done:
            return None
    return frames[-CONTEXT_FRAMES:]
