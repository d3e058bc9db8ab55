"""Where the world draws sonic's hero, by stretch of the hero probe's script, from frames hero_frames.py saved:
over frames where the simulator shows one hero, the share where the world draws one, the share where it stands
within PLACE pixels of the simulator's (the probe's `hero_placed`), and the median distance when one is drawn;
then the placed share at other distances.

    python docs/lab/scripts/hero_placed.py runs/lab/hero/open50_48_s0.npz [more.npz ...] [--picture OUT.png]

--picture draws the first file's states 0, 5, ..., 25 at frames 16, 18, ..., 30 (the end of the run right, the
left and the idle stretches): per state the simulator's frames above the world's.
"""

import argparse
import math

import numpy as np

from nanogenie.envs.sonic_art import PALETTE
from nanogenie.eval.probes import PLACE, hero_places

SKIN = np.array(PALETTE["S"])
STRETCHES = {"frames 0-7, right": range(0, 8), "frames 8-10, jump": range(8, 11), "frames 11-19, right": range(11, 20),
             "frames 20-27, left": range(20, 28), "frames 28-31, idle": range(28, 32)}


def distances(truth: np.ndarray, made: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """truth, made (S, L, H, W, 3) -> per frame (S, L): the truth shows one hero; the world draws one; the distance
    between the two (NaN unless both show exactly one)."""
    one, drawn_one = np.zeros(truth.shape[:2], bool), np.zeros(truth.shape[:2], bool)
    apart = np.full(truth.shape[:2], np.nan)
    for s in range(truth.shape[0]):
        for t in range(truth.shape[1]):
            expected, shown = hero_places(truth[s, t], SKIN), hero_places(made[s, t], SKIN)
            one[s, t], drawn_one[s, t] = len(expected) == 1, len(shown) == 1
            if one[s, t] and drawn_one[s, t]:
                apart[s, t] = math.dist(expected[0], shown[0])
    return one, drawn_one, apart


def picture(frames, out: str) -> None:
    import matplotlib.pyplot as plt

    def strip(images):  # (L, H, W, 3) -> one row, each frame framed in white
        return np.concatenate([np.pad(image, ((1, 1), (1, 1), (0, 0)), constant_values=255) for image in images], axis=1)
    rows = []
    for state in range(0, 30, 5):
        rows += [strip(frames["truth"][state, 16::2]), strip(frames["made"][state, 16::2])]
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    plt.imsave(out, np.kron(np.concatenate(rows[:-1]), np.ones((2, 2, 1), np.uint8)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frames", nargs="+", help=".npz files written by hero_frames.py")
    parser.add_argument("--picture", help="a PNG of the first file's left and idle stretches")
    args = parser.parse_args()
    if args.picture:
        picture(np.load(args.frames[0]), args.picture)
    for path in args.frames:
        frames = np.load(path)
        one, drawn_one, apart = distances(frames["truth"], frames["made"])
        print(path)
        for name, span in STRETCHES.items():
            span = list(span)
            o, d, a = one[:, span], drawn_one[:, span], apart[:, span]
            print(f"  {name:20s} one-hero frames {o.sum():4d}  one drawn {(d & o).sum() / o.sum():.3f}  "
                  f"placed {((a <= PLACE) & o).sum() / o.sum():.3f}  median px {np.nanmedian(a):.1f}")
        print("  placed within " + ", ".join(f"{limit} px {((apart <= limit) & one).sum() / one.sum():.3f}"
                                             for limit in (4, 8, 12, 16, 64)))


if __name__ == "__main__":
    main()
