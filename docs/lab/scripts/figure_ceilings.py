"""What a perfect dynamics would score on eval's action figures, seen through the world's tokenizer.

Every frame a world generates is decoded by its tokenizer, so the best any dynamics can do is to produce
the tokens of the true next frame. This script scores that perfect dynamics on held-out simulator
states (the ones `control_accuracy` uses: fresh episodes, random actions):

- delta_t_psnr: one step with a random control a (the truth) and with another random control b; the
  PSNR of the tokenizer's reconstruction of x^a against x^a, minus that of x^b's reconstruction
  against x^a. eval's figure is the same difference for the world's own generated frames.
- control_accuracy: each control held for 4 steps; the reconstruction of x^c stands in for the frame
  generated for c, scored over the pairs of controls whose true frames differ, as eval scores them.

A bar above these figures cannot be met by a better dynamics, only by a sharper tokenizer or a game whose
controls show more per frame.

    python docs/lab/scripts/figure_ceilings.py sonic --states 144
"""

import argparse
import copy

import numpy as np
import torch

from nanogenie.data.pixels import to_model
from nanogenie.envs import make_env
from nanogenie.metrics import psnr
from nanogenie.eval.control import (accuracy_and_error, frame_distances, held_controls, held_out_state,
                                        pairs_told_apart)
from nanogenie.world import load_world


def reconstruct(world, frames: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """frames N x (H, W, 3) uint8 -> (the frames, their tokenizer reconstructions), each (N, 3, H, W)."""
    x = to_model(np.stack(frames))  # (N, 3, H, W)
    return x, world.tokenizer.decode(world.tokenizer.encode(x[:, None]))[:, 0]


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", help="bundle directory or shipped world name (a simulator world)")
    parser.add_argument("--states", type=int, default=144, help="held-out simulator states to score")
    parser.add_argument("--seed", type=int, default=0, help="seed of the states (eval's control figure uses 0)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = load_world(args.world, "cpu")
    env = make_env(world.meta["data"]["env"], world.config.tokenizer.image_size)
    controls = list(range(env.num_actions))
    rng = np.random.default_rng(args.seed)
    with_action, with_other, tallies, same_next = [], [], [], 0
    for _ in range(args.states):
        if held_out_state(env, rng) is None:
            continue
        taken, other = (int(a) for a in rng.integers(env.num_actions, size=2))
        nexts = [copy.deepcopy(env).step(a) for a in (taken, other)]
        same_next += int(np.array_equal(*nexts))
        truth, recon = reconstruct(world, nexts)
        with_action.append(psnr(recon[:1], truth[:1]))
        with_other.append(psnr(recon[1:], truth[:1]))

        held = held_controls(env, controls)
        _, recon = reconstruct(world, held)
        tallies.append(pairs_told_apart(frame_distances(recon, held), held))
    scored_states = len(with_action)
    delta = float(torch.cat(with_action).mean() - torch.cat(with_other).mean())
    tallies = np.array(tallies, dtype=np.float64).reshape(-1, 2)
    accuracy, error = accuracy_and_error(tallies)
    print(f"{args.world}: {scored_states} states, seed {args.seed}")
    print(f"perfect dynamics through this tokenizer: delta_t_psnr {delta:.2f} dB "
          f"(the other control gave the same next frame in {same_next} of {scored_states}); "
          f"control_accuracy {accuracy} (standard error {error}) over {int(tallies[:, 1].sum())} pairs "
          f"(all {env.num_actions} controls)")


if __name__ == "__main__":
    main()
