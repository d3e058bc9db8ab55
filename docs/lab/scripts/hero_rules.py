"""Count sonic's hero under several rules on frames saved by hero_frames.py, so that the rule can be chosen on
the tokenizer's reconstructions (whose truth is the true frame's count) and its effect on the world read from the
same frames.

A rule is the probe's (eval/probes.py, `heroes`) with another CORE: a blob of skin colour is a hero only if one of
its pixels comes within CORE of the skin colour; 256 is no such condition.

    python docs/lab/scripts/hero_rules.py runs/lab/hero/shipped_144_s1.npz --cores 256,30,25,20,15 [--distances]

With --distances it first prints how far from the skin colour the reconstructions draw the hero's own skin
pixels, and the skin-like pixels beside rings (within 2 px of a true ring pixel, more than 3 px from the hero's).
"""

import argparse

import numpy as np

from nanogenie.envs.sonic_art import PALETTE
from nanogenie.eval.control import accuracy_and_error
from nanogenie.eval.probes import TOLERANCE, heroes, skin_distance


def grown(mask: np.ndarray, pixels: int) -> np.ndarray:
    """(..., H, W) bool -> the same, grown by `pixels` 4-neighbour steps."""
    for _ in range(pixels):
        step = mask.copy()
        step[..., 1:, :] |= mask[..., :-1, :]
        step[..., :-1, :] |= mask[..., 1:, :]
        step[..., :, 1:] |= mask[..., :, :-1]
        step[..., :, :-1] |= mask[..., :, 1:]
        mask = step
    return mask


def distances(truth: np.ndarray, rebuilt: np.ndarray) -> None:
    """Percentiles of reconstructed pixels' distance from the skin colour, on the hero's skin and beside rings."""
    skin = np.array(PALETTE["S"])
    truth, rebuilt = truth.reshape(-1, *truth.shape[-3:]), rebuilt.reshape(-1, *rebuilt.shape[-3:])
    drawn = np.stack([skin_distance(frame, skin) for frame in rebuilt])  # (N, H, W)
    hero = np.stack([skin_distance(frame, skin) == 0 for frame in truth])
    rings = np.zeros_like(hero)
    for colour in ("Y", "O"):
        rings |= np.abs(truth.astype(np.int32) - np.array(PALETTE[colour])).max(axis=-1) == 0
    beside_rings = grown(rings, 2) & ~grown(hero, 3) & (drawn < TOLERANCE)
    quantiles = [10, 25, 50, 75, 90]
    print(f"distance at percentiles {quantiles}: hero's skin {np.percentile(drawn[hero], quantiles).round(1).tolist()}, "
          f"skin-like beside rings {np.percentile(drawn[beside_rings], quantiles).round(1).tolist()}")


def figures(truth: np.ndarray, drawn: np.ndarray, core: int) -> dict[str, float]:
    """truth, drawn (S, L, H, W, 3) uint8 -> the probe's figures for `drawn` against `truth` under the rule."""
    skin = np.array(PALETTE["S"])
    tallies, one, none, doubled = [], 0, 0, 0
    for true_clip, drawn_clip in zip(truth, drawn):
        matched = 0
        for true, frame in zip(true_clip, drawn_clip):
            expected, shown = heroes(true, skin, core), heroes(frame, skin, core)
            matched += shown == expected
            if expected == 1:
                one, none, doubled = one + 1, none + (shown == 0), doubled + (shown >= 2)
        tallies.append((matched, len(true_clip)))
    whole, error = accuracy_and_error(np.array(tallies, dtype=np.float64))
    return {"whole": round(whole, 3), "se": round(error, 3), "none": round(none / max(one, 1), 3),
            "doubled": round(doubled / max(one, 1), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frames", help="an .npz written by hero_frames.py")
    parser.add_argument("--cores", default="256,30,25,20,15", help="CORE of each rule, comma-separated")
    parser.add_argument("--distances", action="store_true", help="first, where the reconstructions' colours fall")
    args = parser.parse_args()
    saved = np.load(args.frames)
    if args.distances:
        distances(saved["truth"], saved["rebuilt"])
    for core in (int(c) for c in args.cores.split(",")):
        rebuilt, made = figures(saved["truth"], saved["rebuilt"], core), figures(saved["truth"], saved["made"], core)
        print(f"core {core:3d}  reconstructed {rebuilt['whole']:.3f} (none {rebuilt['none']:.3f}, doubled "
              f"{rebuilt['doubled']:.3f})  world {made['whole']:.3f} ± {made['se']:.3f} (none {made['none']:.3f}, "
              f"doubled {made['doubled']:.3f})", flush=True)


if __name__ == "__main__":
    main()
