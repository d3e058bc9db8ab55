"""`nanogenie train`: data (given or generated) -> tokenizer -> LAM -> dynamics, each stage resumable, then
the world bundle (training/bundle.py). This file orchestrates: which stages run, in which processes, on
which config; the run folder is training/run_folder.py, the processes training/launch.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import torch

from nanogenie.config import LAM_INVERSE, STAGES, WorldConfig, preset, stage_parts, with_overrides
from nanogenie.data import ClipDataset
from nanogenie.data.splits import Span, within_first
from nanogenie.device import resolve_device
from nanogenie.errors import UserError
from nanogenie.eval.evaluate import lam_figures
from nanogenie.training import launch
from nanogenie.training.budget import budget_overrides
from nanogenie.training.bundle import write_bundle
from nanogenie.training.checkpoint import load_weights_file, save_weights_atomic
from nanogenie.training.distributed import Distributed, setup_distributed
from nanogenie.training.loop import Stage, check_batches_split, train_stage
from nanogenie.training.run_data import RunData, prepare_run_data, simulator_names
from nanogenie.training.run_folder import RunFolder
from nanogenie.training.stages import (check_true_actions, dynamics_stage, dynamics_validation, inverse_stage,
                                       inverse_validation, pixel_stage, pixel_validation, validation_figures)
from nanogenie.training.token_cache import dynamics_inputs
from nanogenie.world import build_models, user_worlds_dir

LAM_BESIDE = "the LAM's training in a second process beside the tokenizer"  # how messages name its process


def world_folder(args: argparse.Namespace) -> Path:
    """Where a training writes its world: --out, else the user's worlds folder."""
    return Path(args.out) if args.out else user_worlds_dir() / args.world


def run_config(args: argparse.Namespace, run_folder: RunFolder, to_run: list[str]) -> WorldConfig:
    """The config a run trains with. A run folder records its config when it starts; `--resume` and a
    single stage on an existing run read it back, so every stage of one run agrees whatever --preset
    says. `--set` then changes single fields, and `--steps` the steps of the stages being trained."""
    recorded = run_folder.recorded_config(args.preset) if (args.resume or args.stage != "all") else None
    config = with_overrides(preset(args.preset) if recorded is None else recorded, args.set)
    if args.steps:
        for name in to_run:
            config.train.stage(name).steps = args.steps
    if args.actions:
        config.train.dynamics_actions = args.actions
    config.check()  # --steps and --actions meet the same bounds as --set
    return config


def _check_request(args: argparse.Namespace, run_folder: RunFolder, to_run: list[str]) -> None:
    """Refuse impossible requests before any data is generated."""
    if args.data is None:
        if args.world not in simulator_names():
            raise UserError(f"no simulator named {args.world!r} to generate data from; the simulators are "
                            f"{', '.join(simulator_names())}. Pass --data FILE.h5 to train on your own video")
    elif not Path(args.data).is_file():
        raise UserError(f"data file {args.data} does not exist; make one with `nanogenie data generate` "
                        f"or `nanogenie data import`")
    if getattr(args, "held_out", None) is not None and not Path(args.held_out).is_file():
        raise UserError(f"held-out file {args.held_out} does not exist; make one with `nanogenie data generate "
                        f"--policy random` or `nanogenie data import`")
    if args.actions == "true" and "dynamics" not in to_run:
        raise UserError(f"--actions true conditions the dynamics, which --stage {args.stage} does not train; "
                        f"use --stage all or --stage dynamics")
    needed = {"dynamics": ["tokenizer", "lam"]}.get(to_run[0], [])  # the LAM learns from pixels alone
    for stage in needed:
        if not run_folder.weights(stage).is_file():
            raise UserError(f"--stage {to_run[0]} needs the trained {stage} in {run_folder.path}, which is "
                            f"missing; run --stage {stage} first")
    if args.resume and not any(run_folder.latest_checkpoint(s) for s in to_run):
        raise UserError(f"--resume found no checkpoint of {', '.join(to_run)} in {run_folder.checkpoints()}; "
                        f"train without --resume")


def stages_to_run(args: argparse.Namespace) -> list[str]:
    """The stages `--stage` asks for, in training order."""
    return list(STAGES) if args.stage == "all" else [args.stage]


def within_minutes(args: argparse.Namespace) -> argparse.Namespace:
    """`--minutes M`: the arguments with the steps that fit the stages to run into about M minutes here, as `--set`
    changes (training/budget.py), so that every process of the run, and its recorded config, trains those steps."""
    if getattr(args, "minutes", None) is None:
        return args
    if "WORLD_SIZE" in os.environ:
        raise UserError("--minutes times this machine from one process before training starts; under torchrun "
                        "give the steps instead (--steps N or --set train.STAGE.steps=N)")
    if args.resume:
        raise UserError("a resumed run keeps the steps it started with; drop --minutes")
    if args.steps:
        raise UserError("--minutes sets the steps of the stages to run; give --minutes or --steps, not both")
    to_run = stages_to_run(args)
    run_folder = RunFolder(world_folder(args) / "run")
    _check_request(args, run_folder, to_run)
    config = run_config(args, run_folder, to_run)
    device, processes = resolve_device(args.device), args.processes or 1
    beside = _lam_beside(to_run, device, processes, args.sequential)
    overrides, plan = budget_overrides(config, to_run, args.minutes, processes, beside, device)
    print(plan, file=sys.stderr)
    return argparse.Namespace(**{**vars(args), "set": [*args.set, *overrides], "minutes": None})


def train(args: argparse.Namespace) -> int:
    to_run = stages_to_run(args)
    run_folder = RunFolder(world_folder(args) / "run")
    if args.processes > 1 and "WORLD_SIZE" not in os.environ:  # not already under torchrun
        _check_request(args, run_folder, to_run)  # a bad request is refused once, before any process starts
        check_batches_split(run_config(args, run_folder, to_run).train, to_run, args.processes)
        with run_folder.locked():  # the workers hold it too; rank 0's lock is this one
            launch.run_workers(train, _picklable(args), args.processes)
        return 0
    if "TORCHELASTIC_RUN_ID" in os.environ:  # a torchrun worker: no orphans, the same threads
        launch.join_torchrun()
    dist = setup_distributed(args.device)
    try:
        _check_request(args, run_folder, to_run)
        config = run_config(args, run_folder, to_run)
        check_batches_split(config.train, to_run, dist.world_size)
        with run_folder.locked() if dist.is_main else nullcontext():
            if dist.is_main:
                run_folder.begin(config, args.preset, to_run, args.resume)
            dist.barrier()
            _train_stages(args, config, run_folder, to_run, dist)
            if "dynamics" not in to_run and dist.is_main:
                following = STAGES[STAGES.index(to_run[-1]) + 1]
                print(f"{to_run[-1]} trained into {run_folder.path}; continue with --stage {following}",
                      file=sys.stderr)
    finally:
        dist.close()
    return 0


def _picklable(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments without the CLI's dispatcher (`run`), which cannot be sent to another process."""
    return argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "run"})


def _train_stages(args: argparse.Namespace, config: WorldConfig, run_folder: RunFolder, to_run: list[str],
                  dist: Distributed, progress_row: int = 0) -> None:
    """Train the stages in to_run, in order (the LAM beside the tokenizer when _lam_beside), loading the
    others' weights from the run folder; with the dynamics, write the bundle and its eval."""
    device = dist.device
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    run = prepare_run_data(args.world, args.data, config, args.preset, run_folder, dist,
                           held_out_path=getattr(args, "held_out", None))
    for name in (part for stage in to_run for part in stage_parts(stage) if part != LAM_INVERSE or config.lam.inverse):
        _check_clips_fit(run, config, name)  # before hours of earlier stages
    if config.train.dynamics_actions == "true" and "dynamics" in to_run:
        check_true_actions(run.data, config.dynamics.num_actions)
    torch.manual_seed(config.train.seed)  # model init; rank 0's weights are broadcast anyway
    models = build_models(config, device)
    beside = None
    if _lam_beside(to_run, device, dist.world_size, args.sequential):
        beside, threads = launch.start_beside(_train_lam_beside, _picklable(args), config, run_folder,
                                              what=LAM_BESIDE)
        began = time.perf_counter()
        to_run = [name for name in to_run if name != "lam"]
    try:
        for name, module in zip(STAGES, models):
            if name == "lam" and beside is not None:
                launch.wait_beside(beside, threads)
                run_folder.record_minutes("tokenizer_and_lam_side_by_side", time.perf_counter() - began)
            on_step = beside.check if beside is not None else None  # a failed LAM stops the tokenizer at once
            _train_stage(name, module, models, args, config, run_folder, run, to_run, dist, progress_row, on_step)
    finally:
        if beside is not None:
            launch.stop([beside])
    if "dynamics" in to_run and dist.is_main:
        write_bundle(args.world, config, run_folder, run, models, device, dist.world_size)
    dist.barrier()


def _check_clips_fit(run: RunData, config: WorldConfig, name: str) -> None:
    """Refuse a stage whose clips fit in none of its spans: episodes too short, or a `frames` too small."""
    stage = config.train.stage(name)
    try:
        ClipDataset(run.data, _stage_spans(run, config, name), stage.clip_frames, config.train.frame_skip)
    except UserError:
        if stage.frames is None:
            raise
        raise UserError(f"train.{name}.frames={stage.frames} leaves no clip of {stage.clip_frames} frames "
                        f"(skip {config.train.frame_skip}) in the training data; raise it, or leave it unset "
                        f"to use all the data") from None


def _stage_spans(run: RunData, config: WorldConfig, name: str) -> list[Span]:
    """The training spans a stage (or the LAM's second phase) learns from: those within its `frames`."""
    return within_first(run.splits["train"], config.train.stage(name).frames)


def _lam_beside(to_run: list[str], device: str, processes: int, sequential: bool) -> bool:
    """Train the LAM beside the tokenizer, in a second process? On a CPU, in a single-process run, with
    threads to share (2+). The LAM learns from pixels alone, so it need not wait for the tokenizer, and
    two processes keep two cores at work where a second thread in one process buys little (docs/lab/NOTES.md,
    "Tokenizer and LAM side by side"). The two share only the run folder: the data cache (written before
    the second starts), each stage's own checkpoints and weights, and log.jsonl, to which each appends whole
    lines under its lock."""
    return (not sequential and processes == 1 and device == "cpu" and torch.get_num_threads() >= 2
            and "tokenizer" in to_run and "lam" in to_run)


def _train_lam_beside(args: argparse.Namespace, config: WorldConfig, run_folder: RunFolder) -> None:
    """The LAM's process when it trains beside the tokenizer (_lam_beside)."""
    _train_stages(args, config, run_folder, ["lam"], setup_distributed(args.device), progress_row=1)


def _train_stage(name: str, module: torch.nn.Module, models: tuple, args: argparse.Namespace, config: WorldConfig,
                 run_folder: RunFolder, run: RunData, to_run: list[str], dist: Distributed, progress_row: int,
                 on_step: Callable[[], None] | None = None) -> None:
    """Train one stage of the run, or load its weights when it is not to run (or finished, on --resume)."""
    steps = config.train.stage(name).steps
    weights = run_folder.weights(name)
    if name not in to_run or (args.resume and run_folder.stage_finished(name, steps)):
        if weights.is_file():
            load_weights_file(module, weights)
            module.eval()
        if name == "lam" and config.lam.inverse and weights.is_file():
            if "lam" in to_run:
                _train_lam_inverse(module, args, config, run_folder, run, dist, progress_row, on_step)
            elif not module.reads_by_inverse and "dynamics" in to_run:
                raise UserError(f"the LAM in {run_folder.path} has not finished its second phase (its inverse "
                                f"model); finish it with --stage lam --resume")
        return
    device = dist.device
    tokenizer, lam, _ = models
    train_spans = _stage_spans(run, config, name)
    if name == "dynamics":
        began = time.perf_counter()
        tokens, actions, starts = dynamics_inputs(run_folder.dynamics_inputs_file, tokenizer, lam, run.data, train_spans,
                                                  config, device, dist)
        if dist.is_main:
            run_folder.record_minutes("dynamics_precompute", time.perf_counter() - began)
        stage = dynamics_stage(module, tokens, actions, starts, config, steps)
        held_out = dynamics_validation(tokenizer, lam, run.held_out, run.held_out_spans, config, device)
    else:
        stage = pixel_stage(name, module, run.data, train_spans, config, device, steps)
        held_out = pixel_validation(module, name, run.held_out, run.held_out_spans, config, device)
    stage.evaluate = _held_out_figures(module, held_out, run, config, device, steps,
                                       lam if name == "lam" else None)
    _train_and_plot(stage, args, config, run_folder, dist, progress_row, on_step)
    if name == "lam" and config.lam.inverse:
        _train_lam_inverse(module, args, config, run_folder, run, dist, progress_row, on_step)


def _train_and_plot(stage: Stage, args: argparse.Namespace, config: WorldConfig, run_folder: RunFolder,
                    dist: Distributed, progress_row: int, on_step: Callable[[], None] | None) -> None:
    from nanogenie.training.plots import plot_held_out_figures, plot_losses  # matplotlib: only when training

    train_stage(stage, config.train, run_folder, dist, args.resume, run_folder.log(writes=dist.is_main),
                progress_row=progress_row, on_step=None if on_step is None else lambda stage, step: on_step())
    if dist.is_main:
        plot_losses(run_folder.log_file, run_folder.plots / "losses.png")
        plot_held_out_figures(run_folder.log_file, run_folder.plots / "held_out.png")


def _train_lam_inverse(lam: torch.nn.Module, args: argparse.Namespace, config: WorldConfig, run_folder: RunFolder,
                       run: RunData, dist: Distributed, progress_row: int, on_step: Callable[[], None] | None) -> None:
    """The LAM stage's second phase (lam.inverse): the trained heads label the training transitions, an inverse
    model learns those codes, and the LAM's weights are written again, now naming codes by the inverse model.
    Until then lam.safetensors names them by the heads, so a phase cut short resumes from its own checkpoints."""
    if lam.reads_by_inverse:  # a resumed run whose LAM finished both phases
        return
    steps = config.train.lam_inverse.steps
    began = time.perf_counter()
    lam.inverse.requires_grad_(True)
    if args.resume and run_folder.stage_finished(LAM_INVERSE, steps):
        load_weights_file(lam.inverse, run_folder.weights(LAM_INVERSE))
    else:
        stage = inverse_stage(lam, run.data, _stage_spans(run, config, LAM_INVERSE), config, dist.device, steps, dist)
        if dist.is_main:
            run_folder.record_minutes("lam_inverse_labels", time.perf_counter() - began)
        held_out = inverse_validation(lam, run.held_out, run.held_out_spans, config, dist.device)
        lam.inverse_trained.fill_(True)  # the phase's held-out action figures are the inverse model's
        stage.evaluate = _held_out_figures(lam.inverse, held_out, run, config, dist.device, steps, lam)
        _train_and_plot(stage, args, config, run_folder, dist, progress_row, on_step)
    lam.inverse_trained.fill_(True)
    lam.inverse.requires_grad_(False)
    lam.eval()
    if dist.is_main:
        save_weights_atomic(lam, run_folder.weights("lam"))
    dist.barrier()


def _held_out_figures(module: torch.nn.Module, batches: list, run: RunData, config: WorldConfig,
                      device: str, steps: int, lam: torch.nn.Module | None = None
                      ) -> Callable[[int], dict[str, float | None]]:
    """What a stage logs at each checkpoint: its validation loss on held-out clips, and with a `lam` (its
    stage and its second phase) on data with true actions the LAM's lam_nmi and lam_probe_accuracy (every
    action_figures_every steps and at the last)."""
    every = config.train.action_figures_every

    def evaluate(step: int) -> dict[str, float | None]:
        figures = validation_figures(module, batches)
        if lam is not None and run.held_out.actions is not None and (step % every == 0 or step == steps):
            figures.update(lam_figures(lam, run.held_out, run.held_out_spans, config, device))
        return figures

    return evaluate
