"""Does a world's dynamics predict what moves, and does the action change its prediction? In seconds,
where `nanogenie eval` takes minutes.

    python docs/lab/scripts/dynamics_listens.py sonic
    python docs/lab/scripts/dynamics_listens.py runs/exp/NAME          # any bundle directory

On 32 held-out clips of fresh random-action episodes (the ones eval uses), the last frame of a
context_frames-long clip is masked at a fixed rate with a clean history before it, and the dynamics'
most likely token is compared with the true one: over all masked tokens, and over the *changed* ones
(different from the frame before), which are what a player watches. Then, at rates 1.0 and 0.5, the
last frame's action is replaced by each other code: if the accuracy on changed tokens does not fall
and the argmax rarely moves, the dynamics is not listening to its action.
"""

import sys

import torch

from nanogenie.eval.held_out import fresh_episodes
from nanogenie.eval.evaluate import eval_clips
from nanogenie.world import load_world

CLIPS = 32
BATCH = 8
RATES = (1.0, 0.9, 0.7, 0.5, 0.375, 0.2)
REPEATS = 4  # random masks per rate


def masked_inputs(tokens: torch.Tensor, rate: float, mask_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """tokens (B, T, P) -> inputs with the last frame masked at `rate`, and that mask (B, P)."""
    mask = torch.rand(tokens.shape[0], tokens.shape[2]) < rate
    inputs = tokens.clone()
    inputs[:, -1][mask] = mask_id
    return inputs, mask


@torch.no_grad()
def main() -> None:
    torch.manual_seed(0)
    world = load_world(sys.argv[1])
    cfg = world.config
    data = fresh_episodes(world.meta["data"]["env"], cfg)
    frames, _ = eval_clips(data, data.episodes(), CLIPS, cfg.train.frame_skip)
    frames = frames[:, :cfg.dynamics.context_frames]  # (B, T, 3, H, W)
    tokens = torch.cat([world.tokenizer.encode(frames[i:i + BATCH]) for i in range(0, CLIPS, BATCH)])  # (B, T, P)
    actions = torch.cat([world.lam.infer_actions(frames[i:i + BATCH]) for i in range(0, CLIPS, BATCH)])  # (B, T-1)
    dynamics, target = world.dynamics, tokens[:, -1]
    changed = target != tokens[:, -2]  # (B, P)
    print(f"{sys.argv[1]}: {CLIPS} clips, {changed.float().mean():.1%} of the last frame's tokens changed")
    for rate in RATES:
        right, right_changed = [], []
        for _ in range(REPEATS):
            inputs, mask = masked_inputs(tokens, rate, dynamics.mask_id)
            hit = dynamics(inputs, actions)[:, -1].argmax(-1) == target
            right.append(hit[mask].float().mean())
            right_changed.append(hit[mask & changed].float().mean())
        print(f"mask rate {rate}: accuracy {torch.stack(right).mean():.3f}, on changed tokens "
              f"{torch.stack(right_changed).mean():.3f}")
    for rate in (1.0, 0.5):
        inputs, mask = masked_inputs(tokens, rate, dynamics.mask_id)
        scored = mask & changed
        told = dynamics(inputs, actions)[:, -1].argmax(-1)
        right_other, moved = [], []
        for shift in range(1, world.num_actions):
            other = actions.clone()
            other[:, -1] = (other[:, -1] + shift) % world.num_actions
            guess = dynamics(inputs, other)[:, -1].argmax(-1)
            right_other.append((guess == target)[scored].float().mean())
            moved.append((guess != told)[scored].float().mean())
        print(f"mask rate {rate}, changed tokens: accuracy with the inferred action "
              f"{(told == target)[scored].float().mean():.3f}, with another {torch.stack(right_other).mean():.3f}; "
              f"another action changes the argmax of {torch.stack(moved).mean():.3f}")


if __name__ == "__main__":
    main()
