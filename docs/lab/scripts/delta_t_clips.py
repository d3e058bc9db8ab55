"""delta_t_psnr on many more held-out clips than eval's 16, with several sampling-noise draws per clip, so that two
worlds' delta_t can be told apart from its noise. For each clip: PSNR of the first generated frame driven by the
LAM's action minus driven by a random action (the same noise for both), as eval computes it.

    OMP_NUM_THREADS=1 python docs/lab/scripts/delta_t_clips.py sonic runs/lab/bf16_6k_b --clips 128 --draws 3
"""
import argparse

import numpy as np
import torch

from nanogenie.eval.evaluate import CONTEXT_FRAMES, eval_clips, generate_after_context, random_after_context
from nanogenie.eval.held_out import fresh_episodes
from nanogenie.metrics import psnr
from nanogenie.world import load_world

parser = argparse.ArgumentParser()
parser.add_argument("worlds", nargs="+")
parser.add_argument("--clips", type=int, default=128)
parser.add_argument("--draws", type=int, default=3)
args = parser.parse_args()
torch.set_grad_enabled(False)

for name in args.worlds:
    world = load_world(name, "cpu")
    data = fresh_episodes(world.meta["data"]["env"], world.config)  # the episodes `nanogenie eval` generates
    frames_all, _ = eval_clips(data, data.episodes(), args.clips, world.config.train.frame_skip)
    gains = np.zeros((args.draws, len(frames_all)))  # (draws, clips)
    for b in range(0, len(frames_all), 8):
        frames = frames_all[b:b + 8]
        tokens = world.tokenizer.encode(frames)
        actions = world.lam.infer_actions(frames)
        truth = frames[:, CONTEXT_FRAMES]
        for draw in range(args.draws):
            seed = 1000 * draw + b  # draw 0 is eval's own noise for a world trained with seed 0
            random_actions = random_after_context(actions, world.num_actions, seed + 7)
            with_action = generate_after_context(world, tokens, actions, 1, seed)[:, 0]
            with_random = generate_after_context(world, tokens, random_actions, 1, seed)[:, 0]
            gains[draw, b:b + 8] = (psnr(with_action, truth) - psnr(with_random, truth)).numpy()
    per_clip = gains.mean(axis=0)
    draws = ", ".join(f"{d:.2f}" for d in gains.mean(axis=1))
    print(f"{name}: delta_t over {gains.shape[1]} clips x {gains.shape[0]} draws {per_clip.mean():.3f} dB "
          f"(se over clips {per_clip.std(ddof=1) / np.sqrt(len(per_clip)):.3f}); per draw {draws}; "
          f"the first 16 clips, draw 0: {gains[0, :16].mean():.3f}")
