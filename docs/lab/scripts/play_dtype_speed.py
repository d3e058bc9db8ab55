"""Play's frame time with the world's models in fp32 (what play uses on a CPU) and in bf16: the cached generator and
decode of `nanogenie bench` (its best frame), on this machine.

    python docs/lab/scripts/play_dtype_speed.py sonic --frames 48 --rounds 3
"""
import argparse
import copy

import torch

from nanogenie.play.bench import _frame_ms
from nanogenie.play.engine import use_play_threads
from nanogenie.world import load_world

parser = argparse.ArgumentParser()
parser.add_argument("world")
parser.add_argument("--frames", type=int, default=48)
parser.add_argument("--rounds", type=int, default=3)
args = parser.parse_args()
use_play_threads()
torch.set_grad_enabled(False)
world = load_world(args.world, "cpu")
cfg = world.dynamics.cfg
models = {dtype: (copy.deepcopy(world.tokenizer).to(dtype).eval(), copy.deepcopy(world.dynamics).to(dtype).eval())
          for dtype in (torch.float32, torch.bfloat16)}
for r in range(args.rounds):  # alternate, so that a burst of load falls on both
    for dtype, (tokenizer, dynamics) in models.items():
        ms = _frame_ms(tokenizer, dynamics, "cpu", True, args.frames, cfg.maskgit_steps, cfg.temperature)
        print(f"round {r} {str(dtype):15s} {ms:6.1f} ms a frame ({cfg.maskgit_steps} MaskGIT steps)")
