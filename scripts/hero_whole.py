"""Does a sonic world keep its hero whole? A count of heroes per generated frame, against the truth.

From held-out simulator states (the ones `control_accuracy` uses), a scripted sequence of keys (right,
jump, right, left, idle; 32 frames) is played on a copy of the simulator and in the world (the keymap's
codes, after the same 4 true context frames). In every frame the hero is counted as the blobs of its
skin colour (sonic's sprites are the only skin-coloured things on screen; the rolling ball, which shows
none, is not in the script). Prints the share of frames whose count matches the simulator's, and, over
frames where the simulator shows one hero, the share where the world shows none (a vanished hero) or
two or more (a doubled one). The tokenizer's reconstruction of the true frames is scored the same way:
the ceiling of what a dynamics can reach through it.

    python scripts/hero_whole.py sonic --states 16
"""

import argparse
import copy

import numpy as np
import torch

from nanogenie.data.pixels import to_model, to_stored
from nanogenie.envs import make_env
from nanogenie.envs.sonic_art import PALETTE
from nanogenie.training.control import generated_from, held_out_state, keymap_codes
from nanogenie.world import load_world

IDLE, LEFT, RIGHT, JUMP = 0, 1, 2, 3  # sonic's true controls
SCRIPT = [RIGHT] * 8 + [JUMP] * 3 + [RIGHT] * 9 + [LEFT] * 8 + [IDLE] * 4
SKIN = np.array(PALETTE["S"])
TOLERANCE = 60  # per channel: a decoded pixel is a little off the palette
MIN_PIXELS = 3  # smaller specks are not a hero
JOIN = 2  # pixels of a sprite's skin are separated by its outline; blobs this close are one


def heroes(frame: np.ndarray) -> int:
    """frame (H, W, 3) uint8 -> the number of skin-coloured blobs of at least MIN_PIXELS pixels."""
    skin = np.abs(frame.astype(np.int32) - SKIN).max(axis=-1) < TOLERANCE  # (H, W)
    grown = skin.copy()
    for _ in range(JOIN):  # 4-neighbour dilation, so nearby parts of one sprite join
        step = grown.copy()
        step[1:] |= grown[:-1]
        step[:-1] |= grown[1:]
        step[:, 1:] |= grown[:, :-1]
        step[:, :-1] |= grown[:, 1:]
        grown = step
    seen, found = np.zeros_like(grown), 0
    for y, x in zip(*np.nonzero(grown)):
        if seen[y, x]:
            continue
        seen[y, x], stack, pixels = True, [(y, x)], 0
        while stack:
            cy, cx = stack.pop()
            pixels += int(skin[cy, cx])
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < grown.shape[0] and 0 <= nx < grown.shape[1] and grown[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        found += pixels >= MIN_PIXELS
    return found


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", help="bundle directory or shipped world name (a sonic world)")
    parser.add_argument("--states", type=int, default=16, help="held-out simulator states to start from")
    parser.add_argument("--seed", type=int, default=0, help="seed of the states and of the sampler")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = load_world(args.world, "cpu")
    env = make_env("sonic", world.config.tokenizer.image_size)
    codes = keymap_codes(world.keymap_path, list(env.action_names))
    held = torch.tensor([[codes[a] for a in SCRIPT]])
    rng = np.random.default_rng(args.seed)
    matched = reconstructed = frames = one = vanished = doubled = 0
    for _ in range(args.states):
        context = held_out_state(env, rng)
        if context is None:
            continue
        sim = copy.deepcopy(env)
        truth = [sim.step(a) for a in SCRIPT]
        made = generated_from(world, context, held, args.seed)[0]  # (L, 3, H, W)
        recon = world.tokenizer.decode(world.tokenizer.encode(to_model(np.stack(truth))[:, None]))[:, 0]
        for true, generated, rebuilt in zip(truth, to_stored(made).numpy(), to_stored(recon).numpy()):
            expected, shown = heroes(true), heroes(generated)
            frames += 1
            matched += shown == expected
            reconstructed += heroes(rebuilt) == expected
            if expected == 1:
                one += 1
                vanished += shown == 0
                doubled += shown >= 2
    print(f"{args.world}: {frames} frames from {frames // len(SCRIPT)} states")
    print(f"hero count as the simulator's: {matched / frames:.3f} (the tokenizer's reconstruction: "
          f"{reconstructed / frames:.3f}); where the simulator shows one hero ({one} frames): none "
          f"{vanished / max(one, 1):.3f}, two or more {doubled / max(one, 1):.3f}")


if __name__ == "__main__":
    main()
