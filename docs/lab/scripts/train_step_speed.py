"""Milliseconds per training step of each stage of a preset on this machine, in fp32, under bf16 autocast,
and compiled with torch.compile: which precision and compilation make CPU training minutes count.

    OMP_NUM_THREADS=1 python docs/lab/scripts/train_step_speed.py --preset cpu --steps 6
    OMP_NUM_THREADS=1 python docs/lab/scripts/train_step_speed.py --stages dynamics --modes fp32 \
        --set dynamics.clean_context=false --set train.dynamics.batch_size=8   # a config change's cost

Random inputs of the preset's shapes (the step cost does not depend on the pixels); the mean of `--steps`
steps after two warm-up steps (compilation happens in those). Forward, backward and AdamW, as the trainer.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from nanogenie.config import STAGES, preset, with_overrides
from nanogenie.training.budget import random_batch
from nanogenie.world import build_models


def batch_for(name: str, cfg) -> tuple[torch.Tensor, ...]:
    return random_batch(name, cfg, cfg.train.stage(name).batch_size)


def step_ms(module: torch.nn.Module, batch: tuple[torch.Tensor, ...], mode: str, steps: int) -> float:
    module.train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4)
    loss_fn = torch.compile(module.training_loss) if "compile" in mode else module.training_loss
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if "bf16" in mode else contextlib.nullcontext()
    times = []
    for i in range(steps + 2):
        began = time.perf_counter()
        with autocast:
            loss, _ = loss_fn(*batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 2:
            times.append(time.perf_counter() - began)
    return 1000 * sum(times) / len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--stages", default="tokenizer,lam,dynamics")
    parser.add_argument("--modes", default="fp32,bf16,compile,compile+bf16")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="change one config field of the preset, as `nanogenie train --set`")
    args = parser.parse_args()
    cfg = with_overrides(preset(args.preset), args.set)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), preset {args.preset}")
    for name in args.stages.split(","):
        batch = batch_for(name, cfg)
        for mode in args.modes.split(","):
            torch.manual_seed(0)
            try:
                ms = f"{step_ms(build_models(cfg)[STAGES.index(name)], batch, mode, args.steps):8.1f}"
            except Exception as error:  # a mode that fails is a finding, not a crash of the table
                ms = f"failed: {type(error).__name__}: {str(error).splitlines()[0][:80]}"
            print(f"{name:10s} {mode:14s} {ms} ms/step", flush=True)


if __name__ == "__main__":
    main()
