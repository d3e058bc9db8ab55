"""The optimisation loop every stage shares: AdamW, warmup + cosine LR, grad clip, AMP, DDP, checkpoints.

A stage is a module, a loss function and a batch sampler. The loop knows nothing else about it, so
the tokenizer, the LAM and the dynamics all train (and resume, and stop on NaN) the same way.
Every random draw of step k comes from a seed made of (seed, stage, k, rank): resuming from a
checkpoint at step k replays exactly what an uninterrupted run would have done.
"""

from __future__ import annotations

import json
import math
import sys
import time
import zlib
from dataclasses import dataclass
from typing import Callable

import torch
from tqdm import tqdm

from nanogenie.config import StageConfig, TrainConfig
from nanogenie.device import autocast_for
from nanogenie.errors import UserError
from nanogenie.training.checkpoint import save_checkpoint, save_weights_atomic
from nanogenie.training.checkpoint import resume as resume_checkpoint
from nanogenie.training.distributed import Distributed
from nanogenie.training.run_folder import JsonlLog, RunFolder

# sample(generator, rank, world_size) -> this rank's batch, already on the device
BatchSampler = Callable[[torch.Generator, int, int], tuple[torch.Tensor, ...]]
LossFn = Callable[..., tuple[torch.Tensor, dict[str, float]]]


@dataclass
class Stage:
    name: str  # "tokenizer" | "lam" | "dynamics"; also the checkpoint folder and weights file name
    module: torch.nn.Module
    loss: LossFn  # e.g. module.training_loss
    sample: BatchSampler
    steps: int
    # held-out figures of the module at each checkpoint, given that step and logged with it (the LAM's nmi and probe)
    evaluate: Callable[[int], dict[str, float]] | None = None


def lr_at(step: int, base_lr: float, warmup: int, total: int, final: float = 0.1) -> float:
    """Linear warmup to base_lr, then cosine decay to `final` x base_lr at `total`."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base_lr * (final + (1 - final) * 0.5 * (1 + math.cos(math.pi * progress)))


def step_seed(seed: int, stage: str, step: int, rank: int = 0) -> int:
    return ((seed * 1_000_003 + zlib.crc32(stage.encode())) * 65_537 + step * 131 + rank) % (2**62)


def sample_indices(count: int, batch_size: int, generator: torch.Generator, rank: int, world_size: int,
                   weights: torch.Tensor | None = None) -> list[int]:
    """This rank's share of one batch of batch_size random items, drawn alike on every rank: each of the
    world_size ranks takes batch_size / world_size of them (check_batches_split makes that whole), so one
    optimizer step sees batch_size items however many processes share it. Items are drawn alike, or in
    proportion to `weights` (count,) when given."""
    if weights is None:
        picks = torch.randint(count, (batch_size,), generator=generator)
    else:
        picks = torch.multinomial(weights, batch_size, replacement=True, generator=generator)
    share = batch_size // world_size
    return picks[rank * share:(rank + 1) * share].tolist()


def check_batches_split(config: TrainConfig, stages: list[str], world_size: int) -> None:
    """Refuse a batch that the processes cannot share evenly (their gradients are averaged as equals)."""
    for name in stages:
        batch = config.stage(name).batch_size
        if batch % world_size:
            raise UserError(f"train.{name}.batch_size {batch} does not split over {world_size} processes; "
                            f"set it to a multiple of {world_size} (--set train.{name}.batch_size=N) "
                            f"or use --processes 1")


def make_optimizer(module: torch.nn.Module, cfg: StageConfig, device: str) -> torch.optim.AdamW:
    # Decay matrices only: norms, biases and embeddings' 1-d gains keep their scale.
    params = [p for p in module.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), fused=device.startswith("cuda"))


def train_stage(stage: Stage, cfg: TrainConfig, run_folder: RunFolder, dist: Distributed, resume: bool,
                log: JsonlLog, on_step: Callable[[str, int], None] | None = None, progress_row: int = 0) -> None:
    """Train one stage to `stage.steps` optimizer steps, then write its weights into the run folder.

    With `resume`, continue from the stage's newest checkpoint (if any). A non-finite loss stops the
    run with a UserError; nothing is written for that step, so the last checkpoint stays good.
    `on_step(stage, step)` is called after each finished step (tests use it to interrupt a run).
    progress_row: the terminal row of the progress bar (another process's stage may hold row 0).
    """
    module = stage.module
    module.train()
    device = dist.device
    stage_cfg = cfg.stage(stage.name)
    optimizer = make_optimizer(module, stage_cfg, device)
    start, elapsed_before = 0, 0.0
    checkpoints = run_folder.checkpoints(stage.name)
    restored = resume_checkpoint(checkpoints, module, optimizer) if resume else None
    if restored is not None:
        start, checkpoint = restored
        elapsed_before = json.loads((checkpoint / "state.json").read_text()).get("elapsed", 0.0)
        if dist.is_main:
            print(f"{stage.name}: resuming from step {start} ({checkpoint})", file=sys.stderr)
            # the steps after the checkpoint are replayed exactly; their old rows would be duplicates
            log.keep_only(lambda r: r["stage"] != stage.name or r["step"] <= start)
    elif dist.is_main:
        run_folder.forget_checkpoints(stage.name)
    dist.broadcast_module(module)
    dist.barrier()

    on_cuda = device.startswith("cuda")
    loss_fn = torch.compile(stage.loss) if (cfg.compile and on_cuda) else stage.loss
    autocast = autocast_for(device, cfg.amp, stage_cfg.cpu_bf16)
    params = [p for p in module.parameters() if p.requires_grad]
    log_every = max(1, cfg.log_every)
    bar = tqdm(total=stage.steps, initial=start, desc=stage.name, unit="step", dynamic_ncols=True,
               disable=not dist.is_main, position=progress_row)
    began = time.perf_counter()
    try:
        for step in range(start, stage.steps):
            warmup = cfg.warmup_steps if stage_cfg.warmup_steps is None else stage_cfg.warmup_steps
            lr = lr_at(step, stage_cfg.lr, warmup, stage.steps, stage_cfg.final_lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = stage.sample(torch.Generator().manual_seed(step_seed(cfg.seed, stage.name, step)),
                                 dist.rank, dist.world_size)
            torch.manual_seed(step_seed(cfg.seed, stage.name, step, rank=dist.rank + 1))  # model's own draws
            with autocast:
                loss, metrics = loss_fn(*batch)
            loss_value = float(dist.mean(loss.detach().float()))  # every rank sees the same value
            if not math.isfinite(loss_value):
                kept = run_folder.latest_checkpoint(stage.name)
                raise UserError(f"{stage.name} loss became {loss_value} at step {step + 1}; stopped without saving "
                                f"it. Last good checkpoint: {kept or 'none'}. Lower the lr in the preset, "
                                f"then rerun with --resume")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            dist.average_gradients(params)
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()

            done = step + 1
            bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
            bar.update(1)
            elapsed = elapsed_before + time.perf_counter() - began
            at_checkpoint = done % cfg.checkpoint_every == 0 or done == stage.steps
            if done % log_every == 0 or at_checkpoint or done == start + 1:
                record = {"stage": stage.name, "step": done, "loss": loss_value,
                          "metrics": {k: float(v) for k, v in metrics.items()}, "lr": lr, "elapsed": round(elapsed, 3)}
                if at_checkpoint and stage.evaluate is not None and dist.is_main:
                    with torch.no_grad():
                        record["eval"] = stage.evaluate(done)
                    bar.set_postfix(loss=f"{loss_value:.4f}", **record["eval"], refresh=False)
                log.write(record)
            if at_checkpoint:
                if dist.is_main:
                    save_checkpoint(checkpoints, done, module, optimizer, cfg.keep_checkpoints,
                                    extra={"elapsed": elapsed})
                dist.barrier()
            if on_step is not None:
                on_step(stage.name, done)
    finally:
        bar.close()
    dist.check_in_sync(module, stage.name)
    if dist.is_main:
        save_weights_atomic(module, run_folder.weights(stage.name))
    dist.barrier()
    module.eval()
