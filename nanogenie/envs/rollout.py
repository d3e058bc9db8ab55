"""Play a simulator with the behaviour policy and collect frames with their ground-truth actions."""

from __future__ import annotations

from typing import Callable

import numpy as np
from tqdm import tqdm

from nanogenie.envs.base import Env
from nanogenie.envs.policy import StickyPolicy
from nanogenie.envs.registry import make_env
from nanogenie.errors import UserError


POLICIES = ("sticky", "random")  # random: a fresh action every frame, so past motion cannot predict the next


def rollout(name: str, frames: int, size: int = 64, seed: int = 0, progress: bool = False,
            policy: str = "sticky", observe: Callable[[Env], None] | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exactly `frames` frames of back-to-back episodes (the last one cut short if needed).

    `policy` "sticky" holds each action for 2-12 frames (training data: every effect shows); "random"
    draws a fresh one every frame, which is what held-out action figures need: with sticky actions
    the motion up to x_t already predicts a_t, so a code can score without seeing a_t's effect.
    `observe`, when given, is called with the env after each frame is drawn, to read its state beside
    the frame (where a sprite truly is, say).

    Returns frames (N, H, W, 3) uint8; actions (N,) int16, the action taken after frame i, -1 at each
    episode's last frame; episode_ends (E,) int64, exclusive end indices, the last equal to N.
    """
    if frames < 1:
        raise UserError(f"cannot roll out {frames} frames of {name!r}: ask for at least 1")
    if policy not in POLICIES:
        raise UserError(f"unknown policy {policy!r}: choose one of {', '.join(POLICIES)}")
    env = make_env(name, size)
    # independent streams for the level seeds and the policy, both fixed by `seed`
    episode_stream, policy_stream = np.random.SeedSequence(seed).spawn(2)
    episode_rng = np.random.default_rng(episode_stream)
    hold = (2, 12) if policy == "sticky" else (1, 1)
    actor = StickyPolicy(env.num_actions, np.random.default_rng(policy_stream), *hold, weights=env.policy_weights)

    out_frames = np.empty((frames, size, size, 3), np.uint8)
    actions = np.full(frames, -1, np.int16)
    episode_ends: list[int] = []
    with tqdm(total=frames, disable=not progress, unit="frame", desc=f"{name} rollout") as bar:
        i = 0
        while i < frames:
            out_frames[i] = env.reset(int(episode_rng.integers(2**31)))
            if observe is not None:
                observe(env)
            i += 1
            while i < frames and not env.done:
                action = actor.act()
                actions[i - 1] = action
                out_frames[i] = env.step(action)
                if observe is not None:
                    observe(env)
                i += 1
            episode_ends.append(i)  # its last frame keeps action -1
            bar.update(i - bar.n)
    return out_frames, actions, np.asarray(episode_ends, np.int64)
