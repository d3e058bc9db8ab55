"""Procedural game simulators with ground-truth actions, and the policy that plays them for data.

    env = make_env("sonic", size=64)
    frame = env.reset(seed=0)              # (64, 64, 3) uint8
    while not env.done:
        frame = env.step(action)           # action in range(len(env.action_names))

`rollout(name, frames)` plays one with `StickyPolicy` and returns frames, actions and episode ends.
"""

from nanogenie.envs.base import Env
from nanogenie.envs.policy import StickyPolicy
from nanogenie.envs.registry import ENVS, make_env
from nanogenie.envs.rollout import rollout

__all__ = ["ENVS", "Env", "StickyPolicy", "make_env", "rollout"]
