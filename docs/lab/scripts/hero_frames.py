"""Save the frames the hero-whole probe looks at, so that ways of counting the hero can be compared on the
same frames without drawing them again: for each of the probe's held-out states (`nanogenie eval --probe
hero-whole --states N --seed S`: the same states, keys and sampling noise), the simulator's 32 frames, the
tokenizer's reconstruction of them and the world's generated frames.

    python docs/lab/scripts/hero_frames.py nanogenie/worlds/sonic --states 144 --seed 1 --out runs/lab/hero/shipped_144_s1.npz

The .npz holds `truth`, `rebuilt` and `made`, each (S, 32, H, W, 3) uint8, S the states whose episode lasts the
script (the probe skips the others too: 140 of 144 for seed 1), and `context` (S, 4, H, W, 3), the true frames the
world was prompted with.
"""

import numpy as np
import torch

from nanogenie.data.pixels import to_model, to_stored
from nanogenie.envs import make_env
from nanogenie.eval.control import generated_from, keymap_codes, sampling_seed
from nanogenie.eval.probes import SCRIPT
from nanogenie.world import load_world
from script_codes import script_states, states_parser  # a sibling lab script


@torch.no_grad()
def main() -> None:
    parser = states_parser(__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--prompt", choices=("random", "sticky"), default="random",
                        help="the warm-up's actions: the probe's (a fresh uniform one every frame) or the training data's")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = load_world(args.world)
    env = make_env("sonic", world.config.tokenizer.image_size)
    codes = keymap_codes(world.keymap_path, list(env.action_names))
    held = torch.tensor([[codes[a] for a in SCRIPT]])
    rng = np.random.default_rng(args.seed)
    truths, rebuilt, made, contexts = [], [], [], []
    for state, context, truth in script_states(env, rng, args.states, args.prompt):  # the probe's loop, keeping the frames
        generated = generated_from(world, context, held, sampling_seed(args.seed, state))[0]
        recon = world.tokenizer.decode(world.tokenizer.encode(to_model(np.stack(truth))[:, None]))[:, 0]
        truths.append(np.stack(truth))
        contexts.append(np.stack(context))
        rebuilt.append(to_stored(recon).numpy())
        made.append(to_stored(generated).numpy())
    np.savez_compressed(args.out, truth=np.stack(truths), rebuilt=np.stack(rebuilt), made=np.stack(made),
                        context=np.stack(contexts))
    print(f"{len(truths)} states -> {args.out}")


if __name__ == "__main__":
    main()
