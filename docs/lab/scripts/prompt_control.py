"""control_accuracy of a sonic world from prompts played like its training data: the eval's states, with the warm-up
played by training_play's policy (actions held 2-12 frames, drawn by the simulator's weights) instead of a fresh
uniform action every frame. Tells whether the eval's prompts, unlike anything the dynamics trained on, cost control.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/prompt_control.py WORLD --states 144 --seed 1 [--prompt sticky]
"""
import sys
from pathlib import Path

import torch

import nanogenie.eval.control as control
from nanogenie.envs import make_env
from nanogenie.world import load_world

sys.path.insert(0, str(Path(__file__).parent))
from script_codes import states_parser, training_play  # noqa: E402  (a sibling lab script)


def main() -> None:
    parser = states_parser(__doc__)
    parser.add_argument("--prompt", choices=("random", "sticky"), default="sticky")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = load_world(args.world, device="cpu")
    if args.prompt == "sticky":  # control_accuracy draws its states through control.held_out_state
        act, plain = training_play(make_env("sonic", world.config.tokenizer.image_size)).act, control.held_out_state
        control.held_out_state = lambda env, rng: plain(env, rng, act)
    accuracy, error = control.control_accuracy(world, "sonic", world.keymap_path, "cpu", args.states, args.seed)
    print(f"control {accuracy} ± {error} over {args.states} states, seed {args.seed}, {args.prompt} prompts")


if __name__ == "__main__":
    main()
