"""How much one transition shows the action taken: the ceiling on what a latent action model can learn.

From states on the behaviour policy's path, every action is stepped from the same state (a copy of
the simulator) and the next frames are compared. Prints the share of action pairs whose next frames
differ, the median number of pixels that differ between two actions' next frames, and per action how
often its next frame is unlike every other action's (e.g. jumping in mid-air looks like idling).

    python docs/lab/scripts/action_visibility.py sonic 1000
"""

import copy
import sys

import numpy as np

from nanogenie.envs import make_env
from nanogenie.envs.policy import StickyPolicy


def main(name: str, states: int, seed: int = 123) -> None:
    env = make_env(name, 64)
    rng = np.random.default_rng(seed)
    policy = StickyPolicy(env.num_actions, rng, weights=env.policy_weights)
    actions = env.num_actions
    others = ~np.eye(actions, dtype=bool)
    visible, distinct, changed = np.zeros(actions), [], []
    env.reset(seed)
    for _ in range(states):
        if env.done:
            env.reset(int(rng.integers(2**31)))
        nexts = [copy.deepcopy(env).step(a).astype(np.int16) for a in range(actions)]
        # differing pixels between the next frames of actions a and b: (A, A)
        diff = np.array([[(nexts[a] != nexts[b]).any(axis=-1).sum() for b in range(actions)] for a in range(actions)])
        visible += (np.where(others, diff, 1) > 0).all(axis=1)
        distinct.append((diff[others] > 0).mean())
        changed.append(np.median(diff[others]))
        env.step(policy.act())
    print(f"{name}, {states} states: distinct action pairs {np.mean(distinct):.2f}, "
          f"median differing pixels between two actions' next frames {np.median(changed):.0f}")
    print("next frame unlike every other action's: "
          + ", ".join(f"{n} {v / states:.2f}" for n, v in zip(env.action_names, visible)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
