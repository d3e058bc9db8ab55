"""Sonic's keys do different things on screen by where the hero stands: inside the camera's window right walks the
hero across a still scene, at the window's right edge it scrolls the scene under a hero that stays put. Which latent
codes does the LAM read for each key in each mode, and how well does the world answer its keys in each?

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/right_modes.py WORLD --states 48 [--seed 0] [--lam RUN]
        [--fit-states 144 --fit-seed 2]

The states are control_accuracy's (`nanogenie eval --states N --seed S`: the same draws). For each, every control is
held for 4 steps on a copy of the simulator; a state is "scroll" when the camera moves while right is held, else
"walk". Printed per mode: the codes the LAM reads on each control's 4 true transitions, and how often a code names
its key (each code read as the key it comes with most in that mode); then, from the world's frames
after each of its 8 codes is held 4 frames (another draw of the eval's sampling noise, made for all 8 codes at once),
which code comes closest to the simulator's right, and control_accuracy with the world's keymap and with a keymap
bound per mode: each control's most read code in that mode, read on --fit-states other states (seed --fit-seed).
The mode comes from the simulator, so the per-mode keymap is what binding keys by the hero's place could give at most.
--lam RUN: read the codes with another LAM (a run folder of `nanogenie train --stage lam`) and skip the world's frames,
since its dynamics knows only its own LAM's codes. Findings: docs/lab/2026-12-06-camera-modes.md.
"""
import copy
from collections import Counter

import numpy as np
import torch

from nanogenie.data.pixels import to_model
from nanogenie.envs import make_env
from nanogenie.eval.control import (HOLD, accuracy_and_error, frame_distances, generated_from, held_out_state,
                                    keymap_codes, pairs_told_apart, sampling_seed)
from nanogenie.eval.lam_bench import load_lam
from nanogenie.world import load_world
from script_codes import states_parser  # a sibling lab script

RIGHT = 2  # SonicEnv.action_names.index("right")


def readings(env, lam, states: int, seed: int):
    """Yields (state, context, mode, hero's screen x, the codes read per control (C, HOLD), the true last frames (C))
    for each of control_accuracy's states whose episode lasts every hold."""
    rng = np.random.default_rng(seed)
    for state in range(states):
        context = held_out_state(env, rng)
        if context is None:
            continue
        played = [held(env, action) for action in range(env.num_actions)]
        if any(frames is None for frames, _ in played):
            continue
        mode = "scroll" if played[RIGHT][1] != env.camera else "walk"
        clips = to_model(np.stack([np.stack(context + frames) for frames, _ in played]))  # (C, T, 3, H, W)
        codes = lam.infer_actions(clips)[:, -HOLD:].numpy()
        yield state, context, mode, env.x - env.camera, codes, [frames[-1] for frames, _ in played]


def sonic_world(path: str):
    """(the world at path on the CPU, one torch thread, a sonic simulator at its frame size)."""
    torch.set_num_threads(1)
    world = load_world(path, device="cpu")
    return world, make_env("sonic", world.config.tokenizer.image_size)


def held(env, action: int) -> tuple[list[np.ndarray] | None, float]:
    """The frames a copy of env shows while `action` is held HOLD steps (None if the episode ends first), its camera after."""
    sim, frames = copy.deepcopy(env), []
    while len(frames) < HOLD:
        if sim.done:
            return None, sim.camera
        frames.append(sim.step(action))
    return frames, sim.camera


def overlap(first: Counter, second: Counter) -> float:
    """How much two distributions of codes share: the sum over codes of the smaller share (1: the same, 0: disjoint)."""
    a, b = sum(first.values()), sum(second.values())
    return sum(min(first[c] / a, second[c] / b) for c in first)


def named(read: dict, mode: str, actions: int, codes: int) -> float:
    """How often the key is named from the code in this mode, each code read as the key it comes with most there (the
    probe's map, fitted and scored on the same transitions; 1/7 if the codes say nothing)."""
    table = np.array([[read[mode, a][c] for c in range(codes)] for a in range(actions)])  # (keys, codes)
    return table.max(axis=0).sum() / table.sum()


def shares(tally: Counter, top: int = 4) -> str:
    total = sum(tally.values())
    return ", ".join(f"{c}: {k / total:.2f}" for c, k in tally.most_common(top))


def pooled(tallies: list) -> str:
    accuracy, error = accuracy_and_error(np.array(tallies, dtype=np.float64).reshape(-1, 2))
    return f"{accuracy} ± {error}"


@torch.no_grad()
def main() -> None:
    parser = states_parser(__doc__)
    parser.add_argument("--lam", help="a LAM run folder whose codes to read instead of the world's")
    parser.add_argument("--fit-states", type=int, default=144)
    parser.add_argument("--fit-seed", type=int, default=2)
    args = parser.parse_args()
    world, env = sonic_world(args.world)
    names = list(env.action_names)
    keys = keymap_codes(world.keymap_path, names)
    controls = sorted(keys)
    lam = load_lam(args.lam)[0].eval() if args.lam else world.lam
    read, screen_x, closest, tallies, mode_tallies = {}, {}, {}, {}, {}
    states = list(readings(env, lam, args.states, args.seed))  # read once: the world's frames below reuse them
    for _, _, mode, x, codes, _ in states:
        screen_x.setdefault(mode, []).append(x)
        for action in range(env.num_actions):
            read.setdefault((mode, action), Counter()).update(codes[action].tolist())
    for name in ("right", "idle"):
        action = names.index(name)
        print(f"true {name}: the codes read in both modes overlap by "
              f"{overlap(read['walk', action], read['scroll', action]):.2f}")
    for mode in sorted(screen_x):
        print(f"{mode}: {len(screen_x[mode])} states, hero's screen x {np.mean(screen_x[mode]):.1f} "
              f"(range {np.min(screen_x[mode]):.0f}-{np.max(screen_x[mode]):.0f}); the codes name the key "
              f"{named(read, mode, env.num_actions, lam.num_actions):.2f} of the time")
        for action in range(env.num_actions):
            print(f"  true {names[action]}: " + shares(read[mode, action]))
    if args.lam:
        return
    fitted = {}  # (mode, action) -> its codes read on other states
    for _, _, mode, _, codes, _ in readings(env, lam, args.fit_states, args.fit_seed):
        for action in range(env.num_actions):
            fitted.setdefault((mode, action), Counter()).update(codes[action].tolist())
    mode_keys = {mode: {a: fitted[mode, a].most_common(1)[0][0] for a in controls} for mode in ("walk", "scroll")}
    every_code = torch.arange(lam.num_actions)[:, None].expand(-1, HOLD)
    for state, context, mode, _, _, truth in states:
        made = generated_from(world, context, every_code, sampling_seed(args.seed, state))[:, -1]  # (A, 3, H, W)
        closest.setdefault(mode, Counter())[int(frame_distances(made, [truth[RIGHT]])[:, 0].argmin())] += 1
        true = [truth[a] for a in controls]
        tallies.setdefault(mode, []).append(pairs_told_apart(frame_distances(made[[keys[a] for a in controls]], true), true))
        mode_tallies.setdefault(mode, []).append(
            pairs_told_apart(frame_distances(made[[mode_keys[mode][a] for a in controls]], true), true))
    print(f"control_accuracy, every state: the world's keymap {pooled(sum(tallies.values(), []))}, "
          f"bound per mode {pooled(sum(mode_tallies.values(), []))}")
    for mode in sorted(tallies):
        print(f"{mode}: control_accuracy with the world's keymap {pooled(tallies[mode])}, bound per mode "
              f"{pooled(mode_tallies[mode])} (" + ", ".join(f"{names[a]} {c}" for a, c in mode_keys[mode].items()) + ")")
        print(f"  the code whose frame after 4 frames is closest to the simulator's right: {shares(closest[mode], 8)}")
    print("the world's keymap: " + ", ".join(f"{names[a]} {c}" for a, c in keys.items()))


if __name__ == "__main__":
    main()
