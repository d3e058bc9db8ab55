"""Count sonic's hero under several rules on frames saved by hero_frames.py, so that the rule can be chosen on
the tokenizer's reconstructions (whose truth is the true frame's count) and its effect on the world read from the
same frames.

A rule is the probe's (eval/probes.py, `heroes`) with another CORE: a blob of skin colour is a hero only if one of
its pixels comes within CORE of the skin colour; 256 is no such condition.

    python docs/lab/scripts/hero_rules.py runs/lab/hero/shipped_144_s1.npz --cores 256,30,25,20,15 \
        [--distances] [--compare 256,20] [--pictures DIR] [--stretches] [--first-frame]

--distances first prints how far from the skin colour the reconstructions draw the hero's own skin pixels, and the
skin-like pixels beside rings (within 2 px of a true ring pixel, more than 3 px from the hero's). --compare OLD,NEW
prints, over the world's one-hero frames, how each frame's outcome (none, one, two or more) moved from rule OLD to
rule NEW. --pictures writes two pictures into DIR: reconstructions that OLD counts with two heroes (true,
reconstructed, true skin mask, reconstructed skin mask with the pixels within NEW's CORE in red), and generated
frames that NEW counts with no hero where OLD counted one (true beside generated, six drawn at random).
--stretches prints the world's figures by stretch of the probe's script under the probe's own rule, as
hero_by_frame.py does while drawing. --first-frame splits the states whose true frame 0 shows one hero by how
many heroes the prompt's last frame shows (files saved with `context`), and counts the world's frame 0 drawn
with none.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from hero_by_frame import print_stretches  # a sibling lab script
from nanogenie.envs import make_env
from nanogenie.envs.sonic_art import PALETTE
from nanogenie.eval.control import accuracy_and_error
from nanogenie.eval.probes import CORE, TOLERANCE, colour_distance, grown, hero_counts, hero_outcomes, heroes, skin_mask

SKIN = np.array(PALETTE["S"])


def figures(expected: np.ndarray, shown: np.ndarray) -> dict[str, float]:
    """Hero counts (S, L) of the true and of the drawn frames -> the probe's figures for the drawn ones."""
    tallies = hero_outcomes(expected, shown).sum(axis=1)  # (S, 4)
    whole, error = accuracy_and_error(np.stack([tallies[:, 0], np.full(len(tallies), expected.shape[1])], axis=1))
    one = max(int(tallies[:, 1].sum()), 1)
    return {"whole": round(whole, 3), "se": round(error, 3), "none": round(tallies[:, 2].sum() / one, 3),
            "doubled": round(tallies[:, 3].sum() / one, 3)}


def distances(truth: np.ndarray, rebuilt: np.ndarray) -> None:
    """Percentiles of reconstructed pixels' distance from the skin colour, on the hero's skin and beside rings."""
    drawn = colour_distance(rebuilt, SKIN)  # (S, L, H, W)
    hero = colour_distance(truth, SKIN) == 0
    rings = (colour_distance(truth, PALETTE["Y"]) == 0) | (colour_distance(truth, PALETTE["O"]) == 0)
    beside_rings = grown(rings, 2) & ~grown(hero, 3) & (drawn < TOLERANCE)
    quantiles = [10, 25, 50, 75, 90]
    print(f"distance at percentiles {quantiles}: hero's skin {np.percentile(drawn[hero], quantiles).round(1).tolist()}, "
          f"skin-like beside rings {np.percentile(drawn[beside_rings], quantiles).round(1).tolist()}")


def outcome(count: int) -> str:
    return ("none", "one", "two or more")[min(count, 2)]


def compare(truth: np.ndarray, made: np.ndarray, counted: dict, old: int, new: int) -> list[tuple]:
    """Print how the world's one-hero frames moved between the rules; returns (true, drawn, old, new) per frame."""
    (_, _, before), (expected, _, after) = counted[old], counted[new]
    ones = expected == 1  # (S, L)
    moves: dict[tuple[str, str], int] = {}
    for a, b in zip(before[ones], after[ones]):
        moves[outcome(a), outcome(b)] = moves.get((outcome(a), outcome(b)), 0) + 1
    print(f"one-hero frames ({ones.sum()}) by outcome under core {old} -> core {new}: "
          + ", ".join(f"{a} -> {b}: {n}" for (a, b), n in sorted(moves.items())))
    return list(zip(truth[ones], made[ones], before[ones], after[ones]))


def save(rows: list[np.ndarray], path: Path) -> None:
    picture = np.concatenate(rows, axis=0)
    Image.fromarray(picture).resize((picture.shape[1] * 2, picture.shape[0] * 2), Image.NEAREST).save(path, optimize=True)


def pictures(truth: np.ndarray, rebuilt: np.ndarray, frames: list, old: int, new: int, folder: Path) -> None:
    """The two pictures of --pictures (module docstring)."""
    rows = []
    for true, drawn in zip(truth.reshape(-1, *truth.shape[-3:]), rebuilt.reshape(-1, *rebuilt.shape[-3:])):
        if len(rows) < 4 and heroes(true, SKIN, old) == 1 and heroes(drawn, SKIN, old) >= 2:
            true_mask, drawn_mask = np.zeros_like(true), np.zeros_like(drawn)
            true_mask[skin_mask(true, SKIN)] = 255
            drawn_mask[skin_mask(drawn, SKIN)] = 255
            drawn_mask[colour_distance(drawn, SKIN) < new] = (255, 80, 80)
            rows.append(np.concatenate([true, drawn, true_mask, drawn_mask], axis=1))
    save(rows, folder / "hero_probe_rings.png")
    lost = [np.concatenate([true, drawn], axis=1) for true, drawn, before, after in frames if before == 1 and after == 0]
    picks = np.random.default_rng(1).choice(len(lost), min(6, len(lost)), replace=False)
    save([np.concatenate([lost[i] for i in picks[k:k + 3]], axis=1) for k in range(0, len(picks), 3)],
         folder / "hero_probe_blurred.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frames", help="an .npz written by hero_frames.py")
    parser.add_argument("--cores", default="256,30,25,20,15", help="CORE of each rule, comma-separated")
    parser.add_argument("--distances", action="store_true", help="first, where the reconstructions' colours fall")
    parser.add_argument("--compare", help="OLD,NEW: how the world's one-hero frames move from rule OLD to NEW")
    parser.add_argument("--pictures", type=Path, help="with --compare: write the two pictures into this folder")
    parser.add_argument("--stretches", action="store_true", help="the world's figures by stretch of the script")
    parser.add_argument("--first-frame", action="store_true", help="frame 0's lost heroes by what the prompt showed")
    args = parser.parse_args()
    saved = np.load(args.frames)
    truth, rebuilt, made = saved["truth"], saved["rebuilt"], saved["made"]
    if args.distances:
        distances(truth, rebuilt)
    cores = [int(c) for c in args.cores.split(",")]
    compared = [int(c) for c in args.compare.split(",")] if args.compare else []
    counted = {core: tuple(hero_counts(frames, SKIN, core) for frames in (truth, rebuilt, made))  # (S, L) each
               for core in dict.fromkeys(cores + compared + [CORE])}
    for core in cores:
        expected, ours, world = counted[core][0], figures(*counted[core][:2]), figures(*counted[core][::2])
        print(f"core {core:3d}  true frames by hero count {np.bincount(expected.ravel()).tolist()}  reconstructed "
              f"{ours['whole']:.3f} (none {ours['none']:.3f}, doubled {ours['doubled']:.3f})  world {world['whole']:.3f} "
              f"± {world['se']:.3f} (none {world['none']:.3f}, doubled {world['doubled']:.3f})", flush=True)
    if compared:
        old, new = compared
        frames = compare(truth, made, counted, old, new)
        if args.pictures:
            pictures(truth, rebuilt, frames, old, new, args.pictures)
    expected, _, shown = counted[CORE]
    if args.stretches:
        per_frame = hero_outcomes(expected, shown).sum(axis=0)  # (L, 4) over the states
        print_stretches(per_frame, len(truth), make_env("sonic", truth.shape[-2]).action_names)
    if args.first_frame:
        split: dict[int, list[int]] = {}  # heroes in the prompt's last frame -> [states, frame 0 drawn with none]
        for prompt, first, drawn in zip(saved["context"], expected[:, 0], shown[:, 0]):
            if first == 1:
                tally = split.setdefault(heroes(prompt[-1], SKIN), [0, 0])
                tally[0], tally[1] = tally[0] + 1, tally[1] + (drawn == 0)
        for heroes_shown, (states, lost) in sorted(split.items()):
            print(f"prompt's last frame shows {heroes_shown} hero(es): {states} states, frame 0 drawn with none in {lost}")

if __name__ == "__main__":
    main()
