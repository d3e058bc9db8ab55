"""How much can a keymap buy? For a simulator world, every latent code is held for HOLD generated frames
and every true control for HOLD simulator steps, from the same states (control_accuracy's protocol).
Codes are fitted per control on one set of states and control_accuracy is scored on another, for three
keymaps: the bundle's own (majority vote of the LAM, what training writes), each control's nearest
generated frames, and the code that best tells each control from the others.

    python docs/lab/scripts/keymap_response.py runs/sonic_final sonic

If the best keymap scores little above the bundle's, the keys are not the lever: the dynamics answers
its codes too alike.
"""

import json
import sys

import numpy as np
import torch

from nanogenie.envs import make_env
from nanogenie.eval.control import (STATES, frame_distances, held_codes, held_controls, held_out_state, keymap_codes,
                                        pairs_told_apart, sampling_seed)
from nanogenie.world import load_world


@torch.no_grad()
def responses(world, env, rng: np.random.Generator, states: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Per state: distances (codes A, controls C) from each code's last generated frame to each
    control's true frame, and the controls' true frames."""
    found = []
    for state in range(states):
        context = held_out_state(env, rng)
        if context is None:
            continue
        truth = held_controls(env, list(range(env.num_actions)))
        generated = held_codes(world, context, list(range(world.num_actions)), "cpu",
                               sampling_seed(0, state))  # (A, 3, H, W)
        found.append((frame_distances(generated, truth), truth))
    return found


def accuracy(found, codes: list[int], only: int | None = None) -> float:
    """control_accuracy of a keymap (control -> code) over the states (or of one control's pairs)."""
    right = pairs = 0
    for distance, truth in found:
        by_control = distance[codes]  # (C, C): row i, the frame generated with control i's code
        scored = pairs_told_apart(by_control, truth, None if only is None else [only])
        right, pairs = right + scored[0], pairs + scored[1]
    return right / max(pairs, 1)


def main(bundle: str, env_name: str) -> None:
    world = load_world(bundle)
    env = make_env(env_name, world.config.tokenizer.image_size)
    fitting = responses(world, env, np.random.default_rng(12345), STATES)
    scoring = responses(world, env, np.random.default_rng(0), STATES)  # control_accuracy's own states
    controls = range(env.num_actions)
    bundle_codes = keymap_codes(world.keymap_path, list(env.action_names))
    keymaps = {
        "bundle": [bundle_codes[c] for c in controls],
        "nearest": [int(x) for x in np.mean([d for d, _ in fitting], axis=0).argmin(axis=0)],
        "discriminative": [int(np.argmax([accuracy(fitting, [z] * env.num_actions, only=c)
                                          for z in range(world.num_actions)])) for c in controls],
    }
    for name, codes in keymaps.items():
        print(json.dumps({"keymap": name, "codes": codes, "control_accuracy": round(accuracy(scoring, codes), 4),
                          "on_fitting_states": round(accuracy(fitting, codes), 4)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
