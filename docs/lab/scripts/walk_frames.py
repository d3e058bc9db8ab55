"""A picture of what sonic's world draws where right walks the hero (the camera still): per state, the prompt's last
frame, the simulator's frames after idle, left and right are held 4 steps, then the world's frame after each of its
latent codes is held 4 frames.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/walk_frames.py WORLD --out IMAGE.png [--rows 8] [--seed 0]

The states are the eval's control_accuracy draws (right_modes.py's, --states 48 by default). Findings:
docs/lab/2026-12-06-spatial-rope.md.
"""
import numpy as np
import torch
from PIL import Image

from nanogenie.data.pixels import to_stored
from nanogenie.eval.control import HOLD, generated_from, sampling_seed
from right_modes import readings, sonic_world  # a sibling lab script
from script_codes import states_parser


def picture(frame) -> np.ndarray:
    """A model frame (3, H, W) in [-1, 1] or a simulator frame (H, W, 3) uint8 -> (H + 2, W + 2, 3) uint8, framed."""
    if isinstance(frame, torch.Tensor):
        frame = to_stored(frame).numpy()
    return np.pad(frame, ((1, 1), (1, 1), (0, 0)), constant_values=255)


@torch.no_grad()
def main() -> None:
    parser = states_parser(__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rows", type=int, default=8)
    args = parser.parse_args()
    world, env = sonic_world(args.world)
    names = list(env.action_names)
    every_code = torch.arange(world.lam.num_actions)[:, None].expand(-1, HOLD)
    rows = []
    for state, context, mode, x, _, truth in readings(env, world.lam, args.states, args.seed):
        if mode != "walk":
            continue
        made = generated_from(world, context, every_code, sampling_seed(args.seed, state))[:, -1]  # (A, 3, H, W)
        row = [context[-1]] + [truth[names.index(n)] for n in ("idle", "left", "right")] + list(made)
        rows.append(np.concatenate([picture(f) for f in row], axis=1))
        print(f"row {len(rows)}: state {state}, the hero's screen x {x:.1f}")
        if len(rows) == args.rows:
            break
    grid = np.concatenate(rows, axis=0)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(args.out)


if __name__ == "__main__":
    main()
