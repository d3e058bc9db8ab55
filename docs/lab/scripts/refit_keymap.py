"""The keymap training fits (training/bundle.py: keymap_fit.owned_codes on every held-out transition), refit on a
world's own LAM from a file with true actions, printed or written as WORLD/keymap.toml: for a bundle trained
before keys could own several codes.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/refit_keymap.py WORLD RANDOM.h5 [--write]
"""
import argparse
from pathlib import Path

from nanogenie.data import load_dataset
from nanogenie.eval.evaluate import held_out_action_pairs
from nanogenie.training.keymap_fit import keymap_toml, owned_codes
from nanogenie.world import load_world


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("world")
    parser.add_argument("data")
    parser.add_argument("--write", action="store_true", help="write WORLD/keymap.toml")
    args = parser.parse_args()
    world = load_world(args.world)
    data = load_dataset(args.data)
    truth, latent = held_out_action_pairs(world.lam.eval(), data, list(data.episodes()), world.config, "cpu")
    text = keymap_toml(owned_codes(truth, latent, data.action_names, world.num_actions), world.num_actions)
    print(text)
    if args.write:
        (Path(args.world) / "keymap.toml").write_text(text)


if __name__ == "__main__":
    main()
