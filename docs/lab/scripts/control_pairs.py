"""Which pairs of keys does a world tell apart? control_accuracy (eval/control.py) broken down by pair and by how far
apart the simulator's own two frames are.

    python docs/lab/scripts/control_pairs.py WORLD [--states 144] [--seed 1] [--draws 1] [--json OUT]
        [--image PNG --image-states 4]

The same held-out states, sampling noise and rule as `nanogenie eval`'s control_accuracy: from each state every
control is held for HOLD steps, on the simulator and in the world, and the ordered pair (i, j) is right when the
world's frame for i is closer to the simulator's x^i than to x^j. Printed: accuracy per pair of control names
(both orders pooled), accuracy by quartile of the true frames' distance |x^i - x^j|^2, and how far apart the
world's own frames for i and j are against the simulator's (a world that ignores its codes draws the same frame
for both; one that answers draws frames as far apart as the simulator's). With --draws N > 1 each control is
generated N times from the state with N noise draws, and a pair is right when the world's frames for i are closer to
x^i than to x^j on average over the draws: how often the world knows a key's effect, apart from one draw's luck.
For sonic, the same pairs are also judged by where the hero is (the centre of its skin-coloured pixels, the hero
probe's colour): over pairs whose true heroes both show and stand >= 2 px apart, right when the world's hero for i
is nearer x^i's hero than x^j's (a world frame without a hero is wrong). Pixel distance asks for the sprite drawn to
the pixel; this asks only that it went where the key sends it.
With --image, the first --image-states scored states are drawn as one row each: for every control the simulator's
frame after HOLD steps over the world's (first draw), the controls in the keymap's order.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np
import torch

from nanogenie.data.pixels import to_model, to_stored
from nanogenie.envs import make_env
from nanogenie.eval.control import HOLD, frame_distances, held_codes, keymap_codes, sampling_seed, scored_states
from nanogenie.envs.sonic_art import PALETTE
from nanogenie.eval.probes import MIN_PIXELS, skin_mask
from nanogenie.world import load_world

MIN_SKIN = MIN_PIXELS  # skin-coloured pixels that make a hero, as the hero probe counts them


def hero_at(frame: np.ndarray) -> np.ndarray | None:
    """frame (H, W, 3) uint8 -> (y, x) of the centre of sonic's skin-coloured pixels, None without a hero."""
    skin = skin_mask(frame, np.array(PALETTE["S"]))
    return np.argwhere(skin).mean(axis=0) if skin.sum() >= MIN_SKIN else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("world")
    parser.add_argument("--states", type=int, default=144)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--draws", type=int, default=1, help="noise draws per control, distances averaged")
    parser.add_argument("--json")
    parser.add_argument("--image", help="PNG of the simulator's and the world's frames for the first states")
    parser.add_argument("--image-states", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = load_world(args.world, "cpu")
    env_name = world.meta["data"]["env"]
    env = make_env(env_name, world.config.tokenizer.image_size)
    names = list(env.action_names)
    codes = keymap_codes(world.keymap_path, names)
    controls = sorted(codes)
    rows = []  # (i, j, right, true distance, the world's distance between its two frames)
    pictures = []  # per pictured state: (H * 2, W * C, 3) uint8, the simulator's row over the world's
    placed = defaultdict(list)  # sonic: pair of control names -> [hero placed right]
    for state, context, truth in scored_states(env, controls, args.states, args.seed):
        with torch.no_grad():
            draws = [held_codes(world, context, [codes[a] for a in controls], "cpu",
                                sampling_seed(args.seed, state) + draw) for draw in range(args.draws)]
        generated = draws[0]
        drawn = to_stored(generated).numpy()  # (C, H, W, 3)
        if env_name == "sonic":
            true_at, drawn_at = [hero_at(f) for f in truth], [hero_at(f) for f in drawn]
            for i in range(len(controls)):
                for j in range(len(controls)):
                    if i == j or true_at[i] is None or true_at[j] is None or \
                            np.linalg.norm(true_at[i] - true_at[j]) < 2:
                        continue
                    right = drawn_at[i] is not None and \
                        np.linalg.norm(drawn_at[i] - true_at[i]) < np.linalg.norm(drawn_at[i] - true_at[j])
                    placed[" / ".join(sorted((names[controls[i]], names[controls[j]])))].append(int(right))
        if args.image and len(pictures) < args.image_states:
            pictures.append(np.concatenate([np.concatenate(truth, axis=1), np.concatenate(list(drawn), axis=1)]))
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
    if placed:
        everything = [r for values in placed.values() for r in values]
        report["hero_placed"] = {"accuracy": round(float(np.mean(everything)), 4), "pairs": len(everything),
                                 "by_pair": {key: {"n": len(v), "accuracy": round(float(np.mean(v)), 3)}
                                             for key, v in sorted(placed.items(), key=lambda item: np.mean(item[1]))}}
    edges = np.quantile(table[:, 1], [0, 0.25, 0.5, 0.75, 1])
    for low, high in zip(edges[:-1], edges[1:]):
        inside = table[(table[:, 1] >= low) & (table[:, 1] <= high)]
        report["by_true_distance"].append({"true_apart": [round(float(low), 5), round(float(high), 5)],
                                           "n": len(inside), "accuracy": round(float(inside[:, 0].mean()), 3),
                                           "drawn_apart": round(float(np.median(inside[:, 2])), 5)})
    if args.image:
        import matplotlib.pyplot as plt
        gap = np.full((4, pictures[0].shape[1], 3), 255, np.uint8)
        sheet = np.concatenate([part for picture in pictures for part in (picture, gap)][:-1])
        plt.imsave(args.image, sheet.repeat(2, axis=0).repeat(2, axis=1))
        report["image_columns"] = [names[a] for a in controls]
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
