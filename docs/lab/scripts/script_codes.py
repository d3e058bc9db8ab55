"""Which codes does a sonic world's LAM read from the simulator's own frames while the hero probe's script is played,
and how often is that the code the world's keymap plays for the key?

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/script_codes.py WORLD [--states 48] [--seed 0]

The states and the script are the hero probe's (nanogenie/eval/probes.py). Per key of the script: the share of its
transitions the LAM reads as the keymap's code, and the codes it reads most. A keymap code that the LAM reads for
the key only in some states is one the dynamics learnt only in those states.
Findings: docs/lab/2026-12-05-innovation-and-sonic-codes.md.
"""
import argparse
from collections import Counter

import numpy as np
import torch

from nanogenie.data.pixels import to_model, to_stored
from nanogenie.envs import make_env
from nanogenie.envs.sonic_art import PALETTE
from nanogenie.envs.policy import StickyPolicy
from nanogenie.eval.control import generated_from, held_out_state, keymap_codes, played, sampling_seed
from nanogenie.eval.probes import SCRIPT, hero_counts, hero_outcomes
from nanogenie.world import load_world


def states_parser(doc: str | None = None) -> argparse.ArgumentParser:
    """The command line of the lab's scripts over the eval's held-out states: WORLD [--states N] [--seed S]."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    parser.add_argument("world")
    parser.add_argument("--states", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def probe_setup():
    """The hero probe's setting from the command line: (args, world, sonic env, true action -> keymap code, rng)."""
    args = states_parser().parse_args()
    world = load_world(args.world, device="cpu")
    env = make_env("sonic", world.config.tokenizer.image_size)
    return args, world, env, keymap_codes(world.keymap_path, list(env.action_names)), np.random.default_rng(args.seed)


def training_play(env) -> StickyPolicy:
    """The training data's behaviour (actions held 2-12 frames, drawn by the simulator's policy weights), on a stream
    of its own, for held_out_state's `act`: prompts like the ones the dynamics trained on."""
    return StickyPolicy(env.num_actions, np.random.default_rng(7), 2, 12, weights=env.policy_weights)


def script_states(env, rng, states: int, prompt: str = "random"):
    """The probe's states: (index, context frames, the simulator's frames under the script) for each of `states`
    draws whose script plays to the end (the probe skips the others, keeping their index for the sampling seed).
    `prompt` "sticky" plays the warm-up with training_play's policy instead of the probe's random one."""
    act = training_play(env).act if prompt == "sticky" else None
    for state in range(states):
        context = held_out_state(env, rng, act)
        truth = None if context is None else played(env, SCRIPT)
        if truth is not None:
            yield state, context, truth


def hero_frames(world, context, truth, held: torch.Tensor, seed: int, state: int) -> np.ndarray:
    """The world's frames from `context` under codes `held` (1, L), with the probe's sampling seed -> per frame (L, 4):
    hero count matches the simulator's, the simulator shows one hero, of those none drawn, of those two or more."""
    skin = np.array(PALETTE["S"])
    with torch.no_grad():
        made = to_stored(generated_from(world, context, held, sampling_seed(seed, state))[0]).numpy()
    return hero_outcomes(hero_counts(np.stack(truth), skin), hero_counts(made, skin)).astype(np.int64)


def read_codes(world, context: list[np.ndarray], truth: list[np.ndarray]) -> torch.Tensor:
    """The codes (1, len(truth)) the world's LAM reads from the simulator's frames `truth` played after `context`."""
    frames = to_model(np.stack(context[-2:] + truth))[None]  # (1, T, 3, H, W): two frames before the script
    with torch.no_grad():
        return world.lam.infer_actions(frames)[:, 1:]


def main() -> None:
    args, world, env, codes, rng = probe_setup()
    read: dict[int, Counter] = {}
    for _, context, truth in script_states(env, rng, args.states):
        for key, code in zip(SCRIPT, read_codes(world, context, truth)[0].tolist()):
            read.setdefault(key, Counter())[code] += 1
    for key, counter in sorted(read.items()):
        total = sum(counter.values())
        top = ", ".join(f"{code}: {n / total:.2f}" for code, n in counter.most_common(4))
        print(f"{env.action_names[key]:>6} (keymap code {codes[key]}): read as it {counter[codes[key]] / total:.2f}; "
              f"most read {top}")


if __name__ == "__main__":
    main()
