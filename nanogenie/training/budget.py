"""`nanogenie train --minutes M`: the steps of the stages being trained, scaled by one factor so that their
optimisation takes about M minutes on this machine.

Before anything trains, a few steps of each stage part (the tokenizer, the LAM's heads and its inverse model, the
dynamics) are timed here on random inputs of the part's shapes, with the threads and the share of each batch that
part will train with. The factor keeps the config's balance between the parts. The steps are then fixed and
recorded in the run's config, so the run stays deterministic and `--resume` continues it as any other. The minutes
are an estimate: reading data, labelling, pre-computing tokens and held-out figures come on top, and a machine
busy with other work trains slower than it timed.
"""

from __future__ import annotations

import time

import torch

from nanogenie.config import LAM_INVERSE, WorldConfig, stage_parts
from nanogenie.device import autocast_for, torch_threads
from nanogenie.world import build_models

TIMED_STEPS = 3  # after one warm-up step


def random_batch(part: str, config: WorldConfig, batch_size: int, lam: torch.nn.Module | None = None
                 ) -> tuple[torch.Tensor, ...]:
    """A training batch of `part`'s shapes with random content (a step's cost does not depend on the pixels);
    the inverse model's needs its `lam` to build its input."""
    stage = config.train.stage(part)
    size = config.tokenizer.image_size
    if part in ("tokenizer", "lam"):
        return (torch.rand(batch_size, stage.clip_frames, 3, size, size) * 2 - 1,)
    if part == LAM_INVERSE:
        prev, now, after = (torch.rand(batch_size, 3, size, size) * 2 - 1 for _ in range(3))
        return lam.inverse_input(prev, now, after), torch.randint(0, config.lam.num_actions, (batch_size,))
    d = config.dynamics
    return (torch.randint(0, d.vocab_size, (batch_size, stage.clip_frames, d.tokens_per_frame)),
            torch.randint(0, d.num_actions, (batch_size, stage.clip_frames - 1)))


def step_seconds(module: torch.nn.Module, batch: tuple[torch.Tensor, ...], autocast, threads: int,
                 device: str = "cpu") -> float:
    """Seconds one optimizer step of `module` on `batch` takes here (forward, backward, AdamW) on `threads` torch
    threads. The module is trained: time a throwaway copy."""
    was = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        module.train().requires_grad_(True)  # the LAM keeps its inverse model frozen until its phase
        optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4)
        times = []
        for _ in range(TIMED_STEPS + 1):
            began = time.perf_counter()
            with autocast:
                loss, _ = module.training_loss(*batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - began)
        return sum(times[1:]) / TIMED_STEPS
    finally:
        torch.set_num_threads(was)


def scaled_steps(seconds: dict[str, float], steps: dict[str, int], minutes: float, beside: bool) -> dict[str, int]:
    """Each part's steps times one factor, so that the parts' planned seconds (steps x seconds a step) add up to
    `minutes`; with `beside`, the LAM's parts train at the same time as the tokenizer, so the longer of the two
    counts. At least one step each."""
    def planned(part: str) -> float:
        return steps[part] * seconds[part] if part in steps else 0.0

    alongside = ("tokenizer", "lam", LAM_INVERSE)
    total = sum(planned(part) for part in steps if not (beside and part in alongside))
    if beside:
        total += max(planned("tokenizer"), planned("lam") + planned(LAM_INVERSE))
    factor = minutes * 60 / total
    return {part: max(1, round(count * factor)) for part, count in steps.items()}


def budget_overrides(config: WorldConfig, to_run: list[str], minutes: float, processes: int, beside: bool,
                     device: str = "cpu") -> tuple[list[str], str]:
    """The `--set train.PART.steps=N` changes that fit the stages in `to_run` into `minutes`, and one line saying
    what was planned. Each part is timed with the threads and the share of each batch it will train with."""
    parts = [part for stage in to_run for part in stage_parts(stage)
             if part != LAM_INVERSE or config.lam.inverse]
    workers = torch_threads("workers", processes)[0]
    threads = {part: workers for part in parts}
    if beside:  # the LAM's parts take its process's threads
        for stage, count in zip(("tokenizer", "lam"), torch_threads("stages", 2)):
            threads.update({part: count for part in stage_parts(stage) if part in threads})
    seconds = {}
    with torch.random.fork_rng(devices=[]):  # timing leaves the run's random stream as it was
        torch.manual_seed(0)
        tokenizer, lam, dynamics = build_models(config, device)
        modules = {"tokenizer": tokenizer, "lam": lam, "dynamics": dynamics}
        for part in parts:
            share = config.train.stage(part).batch_size // processes
            batch = tuple(t.to(device) for t in random_batch(part, config, share, lam))
            autocast = autocast_for(device, config.train.amp, config.train.stage(part).cpu_bf16)
            module = lam.inverse if part == LAM_INVERSE else modules[part]
            seconds[part] = step_seconds(module, batch, autocast, threads[part], device)
    steps = scaled_steps(seconds, {part: config.train.stage(part).steps for part in parts}, minutes, beside)
    plan = ", ".join(f"{part} {count:,} steps (~{count * seconds[part] / 60:.1f} min)" for part, count in steps.items())
    together = " (the LAM beside the tokenizer)" if beside else ""
    line = (f"--minutes {minutes:g}: {plan}{together}, from this machine's step times; reading data, labelling, "
            f"pre-computing and held-out figures come on top")
    return [f"train.{part}.steps={count}" for part, count in steps.items()], line
