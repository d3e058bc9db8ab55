"""Simulator episodes as a dataset: the one place simulator data is made (generate, training, held-out
episodes), so its `source` string, which also keys the training data cache, has one spelling."""

from __future__ import annotations

from nanogenie.data.hdf5 import VideoData
from nanogenie.envs import make_env, rollout


def simulated_source(env: str, frames: int, size: int, seed: int, policy: str) -> str:
    return f"simulator {env}: {frames} frames at {size}px, seed {seed}, {policy} actions"


def simulated_data(env: str, frames: int, size: int = 64, seed: int = 0, policy: str = "sticky",
                   progress: bool = False) -> VideoData:
    """Frames, true actions and episode ends of `frames` frames of a simulator (in memory)."""
    sim = make_env(env, size)  # fails fast, listing the known envs, before a long rollout
    video, actions, ends = rollout(env, frames, size=size, seed=seed, progress=progress, policy=policy)
    return VideoData(video, actions, ends, fps=sim.fps, source=simulated_source(env, frames, size, seed, policy),
                     action_names=list(sim.action_names))
