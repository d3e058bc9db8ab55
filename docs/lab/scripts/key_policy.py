"""Which code should a held key play when the LAM split that key over several codes?

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/key_policy.py WORLD RANDOM.h5 KEY [--frames 200] [--seeds 0 1 2]

The key's codes S (with their shares) are read from RANDOM.h5, a file with a fresh random action every frame: every
code whose majority key is KEY. Then the world is played from its prompt with KEY held for `--frames` frames under
each policy, and the share of frames that show pong's player paddle (a vertical run of >= 8 bright pixels in columns
56-61) is printed per seed. Policies:
  fixed:c   the code c every frame (what a keymap with one code per key does)
  sample    a code drawn from S by its share, every frame
  reread    the LAM names the transition the world just drew; when that code is one of S, it is played next
            (Engine.code_for, what play does for a key that owns several codes; for control, `nanogenie eval` on a
            world whose keymap.toml owns them, docs/lab/scripts/refit_keymap.py)
  quiet     of S, the code whose head changes the last frame least beyond what the history predicts (LAM heads)
Findings: docs/lab/2026-12-07-key-codes.md.
"""
import argparse

import numpy as np
import torch

from nanogenie.data import load_dataset
from nanogenie.data.pixels import to_model
from nanogenie.envs import make_env
from nanogenie.eval.control import (accuracy_and_error, frame_distances, generated_from, pairs_told_apart,
                                    sampling_seed, scored_states)
from nanogenie.play.engine import Engine
from nanogenie.training.stages import label_transitions, sequences
from nanogenie.world import load_world


def key_codes(lam, path: str) -> dict[str, dict[int, float]]:
    """Per key name: the codes whose majority key it is, each with its share of the key's transitions (summing to 1),
    most frequent first."""
    data = load_dataset(path)
    actions = np.asarray(data.actions)
    seqs = sequences(list(data.episodes()), 1, 2)
    codes = torch.cat(label_transitions(lam, data, seqs, "cpu", False)).numpy()
    truth = actions[np.concatenate([s[:-1] for s in seqs])]
    majority = {int(c): int(np.bincount(truth[codes == c]).argmax()) for c in np.unique(codes)}
    found = {}
    for k, key in enumerate(data.action_names):
        owned = {c: float((codes[truth == k] == c).mean()) for c, m in majority.items() if m == k}
        if not owned:  # a key no code calls its own plays its most frequent code
            c = int(np.bincount(codes[truth == k]).argmax())
            owned = {c: 1.0}
        total = sum(owned.values())
        found[key] = {c: s / total for c, s in sorted(owned.items(), key=lambda kv: -kv[1])}
    return found


def paddle_present(frame: np.ndarray) -> bool:
    bright = frame.astype(np.float32).mean(axis=2)[:, 56:62] > 150
    runs = np.zeros(bright.shape[1], int)
    best = 0
    for row in bright:
        runs = np.where(row, runs + 1, 0)
        best = max(best, runs.max())
    return best >= 8


def codes_and_weights(shares: dict[int, float]) -> tuple[list[int], np.ndarray]:
    return list(shares), np.array(list(shares.values()))


def play(engine: Engine, lam, policy: str, shares: dict[int, float], frames: int, rng: np.random.Generator):
    codes, weights = codes_and_weights(shares)
    frame = engine.reset()
    shown = [frame]
    code = codes[0]
    for _ in range(frames):
        if policy.startswith("fixed:"):
            code = int(policy.split(":")[1])
        elif policy == "sample":
            code = int(rng.choice(codes, p=weights))
        elif policy == "quiet" and len(shown) >= lam.cfg.history_frames:
            history = to_model(np.stack(shown[-lam.cfg.history_frames:]))[None]
            with torch.no_grad():
                passive, predicted = lam._predict(history)
            change = (predicted[0] - passive[0]).pow(2).flatten(1).mean(dim=1)
            code = min(codes, key=lambda c: float(change[c]))
        elif policy == "reread":  # the product's rule for a key that owns several codes
            code = engine.code_for(codes)
        shown.append(engine.step(code))
    return shown[1:]


@torch.no_grad()
def sampled_control(world, env_name: str, shares: dict[str, dict[int, float]], policy: str, states: int, seed: int,
                    hold: int) -> tuple[float, float]:
    """control_accuracy (eval/control.py) with each control's codes per frame chosen by `policy`: "first" holds the
    key's most frequent code (a one-code keymap), "sample" draws every frame from the key's codes by their share."""
    env = make_env(env_name, world.config.tokenizer.image_size)
    controls = list(range(env.num_actions))
    tallies = []
    for state, context, truth in scored_states(env, controls, states, seed, hold):
        rng = np.random.default_rng((seed, state))
        rows = []
        for a in controls:
            codes, weights = codes_and_weights(shares[env.action_names[a]])
            rows.append([codes[0]] * hold if policy == "first" else list(rng.choice(codes, size=hold, p=weights)))
        generated = generated_from(world, context, torch.tensor(rows), sampling_seed(seed, state))[:, -1]
        tallies.append(pairs_told_apart(frame_distances(generated, truth), truth))
    return accuracy_and_error(np.array(tallies, dtype=np.float64).reshape(-1, 2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("world")
    parser.add_argument("data")
    parser.add_argument("key")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--policies", nargs="+", default=None)
    parser.add_argument("--control", metavar="ENV", help="instead: control_accuracy on ENV, first code against sampled")
    parser.add_argument("--states", type=int, default=48)
    parser.add_argument("--hold", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0, help="control's held-out states (eval's --seed)")
    args = parser.parse_args()
    world = load_world(args.world)
    lam = world.lam.eval()
    if args.control:
        shares = key_codes(lam, args.data)
        print({k: {c: round(s, 2) for c, s in v.items()} for k, v in shares.items()})
        for policy in args.policies or ["first", "sample"]:
            print(policy, sampled_control(world, args.control, shares, policy, args.states, args.seed, args.hold), flush=True)
        return
    shares = key_codes(lam, args.data)[args.key]
    print("codes of", args.key, {c: round(s, 3) for c, s in shares.items()})
    policies = args.policies or [f"fixed:{c}" for c in shares] + ["sample", "reread", "quiet"]
    for policy in policies:
        present = []
        for seed in args.seeds:
            engine = Engine(world, "cpu", seed=seed)
            shown = play(engine, lam, policy, shares, args.frames, np.random.default_rng(seed))
            present.append(np.mean([paddle_present(f) for f in shown]))
        print(f"{policy:10s} paddle present {' '.join(f'{p:.2f}' for p in present)}  mean {np.mean(present):.3f}",
              flush=True)


if __name__ == "__main__":
    main()
