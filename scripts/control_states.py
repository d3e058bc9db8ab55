"""control_accuracy over more held-out states, or other ones, than `nanogenie eval` scores (48, seed 0):
how much of a difference between two worlds is the eval's own sampling.

    python scripts/control_states.py sonic --states 144 --seed 1
    python scripts/control_states.py runs/exp/NAME --states 144 --seed 1   # any bundle of a simulator world
"""

import argparse

import torch

from nanogenie.training.control import control_accuracy
from nanogenie.world import load_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", help="bundle directory or shipped world name")
    parser.add_argument("--states", type=int, default=144, help="held-out simulator states to score")
    parser.add_argument("--seed", type=int, default=1, help="seed of the states (eval uses 0)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = load_world(args.world, "cpu")
    env = world.meta["data"]["env"]
    accuracy, error = control_accuracy(world, env, world.keymap_path, "cpu", states=args.states, seed=args.seed)
    print(f"{args.world}: control_accuracy {accuracy} (standard error {error}) over {args.states} states, "
          f"seed {args.seed}")


if __name__ == "__main__":
    main()
