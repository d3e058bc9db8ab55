"""Which pairs of keys does a world tell apart? control_accuracy (eval/control.py) broken down by pair and by how far
apart the simulator's own two frames are.

    python docs/lab/scripts/control_pairs.py WORLD [--states 144] [--seed 1] [--draws 1] [--json OUT]

The same held-out states, sampling noise and rule as `nanogenie eval`'s control_accuracy: from each state every
control is held for HOLD steps, on the simulator and in the world, and the ordered pair (i, j) is right when the
world's frame for i is closer to the simulator's x^i than to x^j. Printed: accuracy per pair of control names
(both orders pooled), accuracy by quartile of the true frames' distance |x^i - x^j|^2, and how far apart the
world's own frames for i and j are against the simulator's (a world that ignores its codes draws the same frame
for both; one that answers draws frames as far apart as the simulator's). With --draws N > 1 each control is
generated N times from the state with N noise draws, and a pair is right when the world's frames for i are closer to
x^i than to x^j on average over the draws: how often the world knows a key's effect, apart from one draw's luck.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np
import torch

from nanogenie.data.pixels import to_model
from nanogenie.envs import make_env
from nanogenie.eval.control import (HOLD, frame_distances, held_codes, held_controls, held_out_state, keymap_codes,
                                    sampling_seed)
from nanogenie.world import load_world


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("world")
    parser.add_argument("--states", type=int, default=144)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--draws", type=int, default=1, help="noise draws per control, distances averaged")
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = load_world(args.world, "cpu")
    env_name = world.meta["data"]["env"]
    env = make_env(env_name, world.config.tokenizer.image_size)
    names = list(env.action_names)
    codes = keymap_codes(world.keymap_path, names)
    controls = sorted(codes)
    rng = np.random.default_rng(args.seed)
    rows = []  # (i, j, right, true distance, the world's distance between its two frames)
    for state in range(args.states):
        context = held_out_state(env, rng)
        if context is None:
            continue
        truth = held_controls(env, controls)
        if truth is None:
            continue
        with torch.no_grad():
            draws = [held_codes(world, context, [codes[a] for a in controls], "cpu",
                                sampling_seed(args.seed, state) + draw) for draw in range(args.draws)]
        generated = draws[0]
        distance = np.mean([frame_distances(g, truth) for g in draws], axis=0)  # (C, C)
        true = to_model(np.stack(truth))
        true_apart = (true[:, None] - true[None]).pow(2).flatten(2).mean(2).numpy()
        drawn_apart = (generated[:, None] - generated[None]).pow(2).flatten(2).mean(2).numpy()
        for i in range(len(controls)):
            for j in range(len(controls)):
                if i != j and not np.array_equal(truth[i], truth[j]):
                    rows.append((controls[i], controls[j], int(distance[i, i] < distance[i, j]),
                                 float(true_apart[i, j]), float(drawn_apart[i, j])))
    table = np.array([row[2:] for row in rows])
    by_pair = defaultdict(list)
    for i, j, right, true_apart, drawn_apart in rows:
        key = " / ".join(sorted((names[i], names[j])))
        by_pair[key].append((right, true_apart, drawn_apart))
    report = {"world": args.world, "states": args.states, "seed": args.seed, "draws": args.draws, "hold": HOLD,
              "codes": {names[a]: codes[a] for a in controls}, "pairs": len(rows),
              "accuracy": round(float(table[:, 0].mean()), 4), "by_pair": {}, "by_true_distance": []}
    for key, values in sorted(by_pair.items(), key=lambda item: np.mean([v[0] for v in item[1]])):
        v = np.array(values)
        report["by_pair"][key] = {"n": len(v), "accuracy": round(float(v[:, 0].mean()), 3),
                                  "true_apart": round(float(np.median(v[:, 1])), 5),
                                  "drawn_apart": round(float(np.median(v[:, 2])), 5)}
    edges = np.quantile(table[:, 1], [0, 0.25, 0.5, 0.75, 1])
    for low, high in zip(edges[:-1], edges[1:]):
        inside = table[(table[:, 1] >= low) & (table[:, 1] <= high)]
        report["by_true_distance"].append({"true_apart": [round(float(low), 5), round(float(high), 5)],
                                           "n": len(inside), "accuracy": round(float(inside[:, 0].mean()), 3),
                                           "drawn_apart": round(float(np.median(inside[:, 2])), 5)})
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
