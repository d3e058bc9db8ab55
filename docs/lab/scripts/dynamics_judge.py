"""Does a world's dynamics know which action was taken better than its LAM does? The dynamics as a judge: for each
held-out transition, the code under which the dynamics finds the true next frame most likely.

    OMP_NUM_THREADS=1 .venv/bin/python docs/lab/scripts/dynamics_judge.py WORLD [--clips 256] [--min-context 4]

On clips of fresh random-action episodes (the ones eval uses), each clip goes in as training feeds it with
`clean_context`: its frames 0..T-2 clean, then every frame 1..T-1 fully masked, each target seeing only the clean
frames before it. The clean copy carries the LAM's codes; the targets all carry one code a, so one pass scores every
transition of the clip under a. Repeating for every code gives each transition's log-likelihood per code (the sum
over its tokens); the judge's code is the best. Transitions with fewer than `--min-context` frames before them are
left out: with one frame of context no model can see momentum.

Prints the probe (each code read as its majority action) and NMI of the LAM's codes and of the judge's, on the same
transitions, their agreement, and the judge's margin. Findings: docs/lab/2026-12-07-dynamics-judge.md.
"""
import argparse

import numpy as np
import torch

from nanogenie.eval.held_out import fresh_episodes
from nanogenie.metrics import normalized_mutual_information, probe_accuracy
from nanogenie.training.stages import held_out_clips
from nanogenie.world import load_world

BATCH = 8


@torch.no_grad()
def code_likelihoods(dynamics, tokens: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """tokens (B, T, P), the LAM's codes (B, T-1) -> log p(frame t+1 | clean frames <= t, code a), (B, T-1, A)."""
    b, t, p = tokens.shape
    targets = torch.full_like(tokens[:, 1:], dynamics.mask_id)
    inputs = torch.cat((tokens[:, :-1], targets), dim=1)
    positions, frame_mask = dynamics._clean_context_frames(t, tokens.device)
    context_actions = dynamics.frame_actions(codes)[:, :-1]  # (B, T-1): the clean copy's frame actions
    scores = []
    for a in range(dynamics.cfg.num_actions):
        target_actions = torch.full_like(codes, a)
        both = torch.cat((context_actions, target_actions), dim=1)
        states = dynamics.hidden(inputs, both, positions, frame_mask=frame_mask)[:, t - 1:]  # (B, T-1, P, D)
        logp = dynamics.logits(states).float().log_softmax(-1)  # (B, T-1, P, V)
        scores.append(logp.gather(-1, tokens[:, 1:, :, None]).squeeze(-1).sum(-1))  # (B, T-1)
    return torch.stack(scores, dim=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("world")
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--min-context", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    world = load_world(args.world, "cpu")
    world.dynamics.eval()
    cfg = world.config
    data = fresh_episodes(world.meta["data"]["env"], cfg)
    frames, truth = held_out_clips(data, data.episodes(), cfg.dynamics.context_frames, cfg.train.frame_skip,
                                   args.clips)
    lam_codes, judged, margins = [], [], []
    for i in range(0, len(frames), BATCH):
        clip = frames[i:i + BATCH]
        tokens = world.tokenizer.encode(clip)  # (B, T, P)
        codes = world.lam.infer_actions(clip)  # (B, T-1)
        scores = code_likelihoods(world.dynamics, tokens, codes)
        top2 = scores.topk(2, dim=-1).values
        lam_codes.append(codes)
        judged.append(scores.argmax(-1))
        margins.append(top2[..., 0] - top2[..., 1])
    keep = slice(args.min_context - 1, None)  # transition t leads from frame t to t+1: t frames of context before it
    lam_codes = torch.cat(lam_codes)[:, keep].reshape(-1).numpy()
    judged = torch.cat(judged)[:, keep].reshape(-1).numpy()
    margins = torch.cat(margins)[:, keep].reshape(-1).numpy()
    truth = truth[:, keep].reshape(-1).numpy()
    known = truth >= 0
    lam_codes, judged, margins, truth = lam_codes[known], judged[known], margins[known], truth[known]
    print(f"{args.world}: {len(truth)} transitions of {args.clips} clips, at least {args.min_context} frames of context")
    for name, codes in (("LAM", lam_codes), ("dynamics as judge", judged)):
        shares = np.bincount(codes, minlength=world.num_actions) / len(codes)
        print(f"{name:18s} probe {probe_accuracy(truth, codes):.3f}  NMI {normalized_mutual_information(truth, codes):.3f}"
              f"  shares {' '.join(f'{s:.2f}' for s in shares)}")
    print(f"judge agrees with the LAM on {np.mean(judged == lam_codes):.3f}; median margin {np.median(margins):.2f} nats")


if __name__ == "__main__":
    main()
