"""`nanogenie train`: data (given or generated) -> tokenizer -> LAM -> dynamics, each stage resumable, then
the world bundle (weights, prompt, fitted keymap), eval figures (nanogenie/eval) into world.json, and
plots into run/plots.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from nanogenie.atomic import RESUME, write_bytes
from nanogenie.config import STAGES, WorldConfig, preset, with_overrides
from nanogenie.data import ClipDataset
from nanogenie.errors import UserError
from nanogenie.eval.commands import control_figures
from nanogenie.eval.evaluate import evaluate_world, held_out_action_pairs, lam_figures
from nanogenie.play.propose import write_proposed_keymap
from nanogenie.training import launch
from nanogenie.training.checkpoint import clean_unfinished, latest_checkpoint, load_weights_file
from nanogenie.training.distributed import Distributed, setup_distributed
from nanogenie.training.launch import lock_run_dir, unlock_run_dir
from nanogenie.training.keymap_fit import fitted_codes, keymap_toml
from nanogenie.training.loop import JsonlLog, check_batches_split, read_records, train_stage
from nanogenie.training.run_data import prepare_run_data, simulator_names
from nanogenie.training.stages import (check_true_actions, dynamics_stage, dynamics_validation, pixel_stage,
                                       pixel_validation, precompute_tokens_and_actions, validation_figures)
from nanogenie.world import PACKAGED_KEYMAPS, World, build_models, load_world, save_world, update_world_meta, user_worlds_dir

LAM_BESIDE = "the LAM's training in a second process beside the tokenizer"  # how messages name its process
PROMPT_FRAMES = 4  # frames play starts from: enough temporal context for the first generated frame


def run_config(args: argparse.Namespace, run_dir: Path, to_run: list[str]) -> WorldConfig:
    """The config a run trains with. A run folder records its config in run/config.json when it starts;
    `--resume` and a single stage on an existing run read it back, so every stage of one run agrees
    whatever --preset says. `--set` then changes single fields, and `--steps` the steps of the stages
    being trained."""
    recorded = run_dir / "config.json"
    if (args.resume or args.stage != "all") and recorded.is_file():
        try:
            config = WorldConfig.from_dict(json.loads(recorded.read_text())["config"])
        except (OSError, ValueError, KeyError, TypeError, UserError) as err:
            raise UserError(f"{recorded} cannot be read ({err}); delete it to start the run from "
                            f"--preset {args.preset}") from None
    else:
        config = preset(args.preset)
    config = with_overrides(config, args.set)
    if args.steps:
        for name in to_run:
            config.train.stage(name).steps = args.steps
    if args.actions:
        config.train.dynamics_actions = args.actions
    config.check()  # --steps and --actions meet the same bounds as --set
    return config


def _write_json(path: Path, value: dict) -> None:
    write_bytes(path, (json.dumps(value, indent=2) + "\n").encode(), then=RESUME)


def _record_config(run_dir: Path, config: WorldConfig, preset_name: str) -> None:
    _write_json(run_dir / "config.json", {"preset": preset_name, "config": config.to_dict()})


def _stage_finished(run_dir: Path, stage: str, steps: int) -> bool:
    last = latest_checkpoint(run_dir, stage)
    return (run_dir / f"{stage}.safetensors").is_file() and last is not None and int(last.name.split("_")[1]) >= steps


def _check_request(args: argparse.Namespace, run_dir: Path, to_run: list[str]) -> None:
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
        if not (run_dir / f"{stage}.safetensors").is_file():
            raise UserError(f"--stage {to_run[0]} needs the trained {stage} in {run_dir}, which is missing; "
                            f"run --stage {stage} first")
    if args.resume and not any(latest_checkpoint(run_dir, s) for s in to_run):
        raise UserError(f"--resume found no checkpoint of {', '.join(to_run)} in {run_dir / 'checkpoints'}; "
                        f"train without --resume")


def _fresh_start(run_dir: Path, stages: list[str]) -> None:
    """A new (not resumed) run forgets the old checkpoints and weights of the stages it retrains."""
    for stage in stages:
        shutil.rmtree(run_dir / "checkpoints" / stage, ignore_errors=True)
        (run_dir / f"{stage}.safetensors").unlink(missing_ok=True)
    JsonlLog(run_dir / "log.jsonl").keep_only(lambda r: r["stage"] not in stages)  # other stages' history stays
    timings = run_dir / "timings.json"
    if timings.is_file():  # wall-clock figures naming a retrained stage no longer hold
        kept = {k: v for k, v in json.loads(timings.read_text()).items() if not any(s in k for s in stages)}
        _write_json(timings, kept)


def train(args: argparse.Namespace) -> int:
    to_run = list(STAGES) if args.stage == "all" else [args.stage]
    out = Path(args.out) if args.out else _default_out(args.world)
    run_dir = out / "run"
    if args.processes > 1 and "WORLD_SIZE" not in os.environ:  # not already under torchrun
        _check_request(args, run_dir, to_run)  # a bad request is refused once, before any process starts
        check_batches_split(run_config(args, run_dir, to_run).train, to_run, args.processes)
        _make_run_dir(out, run_dir)
        lock = lock_run_dir(run_dir)  # the workers hold it too; rank 0's lock_run_dir is this one
        try:
            launch.run_workers(train, _picklable(args), args.processes)
        finally:
            unlock_run_dir(lock)
        return 0
    if "TORCHELASTIC_RUN_ID" in os.environ:  # a torchrun worker: no orphans, the same threads
        launch.join_torchrun()
    dist = setup_distributed(args.device)
    lock = None
    try:
        _check_request(args, run_dir, to_run)
        config = run_config(args, run_dir, to_run)
        check_batches_split(config.train, to_run, dist.world_size)
        if dist.is_main:
            _make_run_dir(out, run_dir)
            lock = lock_run_dir(run_dir)
            clean_unfinished(run_dir)
            if not args.resume:
                _fresh_start(run_dir, to_run)
            _record_config(run_dir, config, args.preset)
        dist.barrier()
        _train_stages(args, config, out, run_dir, to_run, dist)
        if "dynamics" not in to_run and dist.is_main:
            following = STAGES[STAGES.index(to_run[-1]) + 1]
            print(f"{to_run[-1]} trained into {run_dir}; continue with --stage {following}", file=sys.stderr)
    finally:
        if lock is not None:
            unlock_run_dir(lock)
        dist.close()
    return 0


def _picklable(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments without the CLI's dispatcher (`run`), which cannot be sent to another process."""
    return argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "run"})


def _make_run_dir(out: Path, run_dir: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; choose a folder for the world")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create {run_dir} ({err.strerror}); choose a writable --out") from None


def _default_out(world: str) -> Path:
    return user_worlds_dir() / world


def _train_stages(args: argparse.Namespace, config: WorldConfig, out: Path, run_dir: Path, to_run: list[str],
                  dist: Distributed, progress_row: int = 0) -> None:
    """Train the stages in to_run, in order (the LAM beside the tokenizer when _lam_beside), loading the
    others' weights from the run folder; with the dynamics, write the bundle and its eval."""
    device = dist.device
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    run = prepare_run_data(args.world, args.data, config, args.preset, run_dir, dist,
                           held_out_path=getattr(args, "held_out", None))
    for name in to_run:  # episodes too short for a stage's clips: say so before hours of earlier stages
        ClipDataset(run.data, run.splits["train"], config.train.stage(name).clip_frames, config.train.frame_skip)
    if config.train.dynamics_actions == "true" and "dynamics" in to_run:
        check_true_actions(run.data, config.dynamics.num_actions)
    torch.manual_seed(config.train.seed)  # model init; rank 0's weights are broadcast anyway
    models = build_models(config, device)
    beside = None
    if _lam_beside(to_run, device, dist.world_size, args.sequential):
        beside, threads = launch.start_beside(_train_lam_beside, _picklable(args), config, out, run_dir,
                                              what=LAM_BESIDE)
        began = time.perf_counter()
        to_run = [name for name in to_run if name != "lam"]
    try:
        for name, module in zip(STAGES, models):
            if name == "lam" and beside is not None:
                launch.wait_beside(beside, threads)
                _record_minutes(run_dir, "tokenizer_and_lam_side_by_side", time.perf_counter() - began)
            on_step = beside.check if beside is not None else None  # a failed LAM stops the tokenizer at once
            _train_stage(name, module, models, args, config, run_dir, run, to_run, dist, progress_row, on_step)
    finally:
        if beside is not None:
            launch.stop([beside])
    if "dynamics" in to_run and dist.is_main:
        _write_bundle(args, config, out, run, models, device, dist.world_size)
    dist.barrier()


def _lam_beside(to_run: list[str], device: str, processes: int, sequential: bool) -> bool:
    """Train the LAM beside the tokenizer, in a second process? On a CPU, in a single-process run, with
    threads to share (2+). The LAM learns from pixels alone, so it need not wait for the tokenizer, and
    two processes keep two cores at work where a second thread in one process buys little (docs/lab/NOTES.md,
    "Tokenizer and LAM side by side"). The two share only the run folder: the data cache (written before
    the second starts), each stage's own checkpoints and weights, and log.jsonl, to which each appends whole
    lines under its lock."""
    return (not sequential and processes == 1 and device == "cpu" and torch.get_num_threads() >= 2
            and "tokenizer" in to_run and "lam" in to_run)


def _train_lam_beside(args: argparse.Namespace, config: WorldConfig, out: Path, run_dir: Path) -> None:
    """The LAM's process when it trains beside the tokenizer (_lam_beside)."""
    _train_stages(args, config, out, run_dir, ["lam"], setup_distributed(args.device), progress_row=1)


def _record_minutes(run_dir: Path, name: str, seconds: float) -> None:
    """Add one wall-clock figure to run/timings.json (read into world.json's training minutes)."""
    path = run_dir / "timings.json"
    timings = json.loads(path.read_text()) if path.is_file() else {}
    _write_json(path, {**timings, name: round(seconds / 60, 1)})


def _train_stage(name: str, module: torch.nn.Module, models: tuple, args: argparse.Namespace, config: WorldConfig,
                 run_dir: Path, run, to_run: list[str], dist: Distributed, progress_row: int,
                 on_step: Callable[[], None] | None = None) -> None:
    """Train one stage of the run, or load its weights when it is not to run (or finished, on --resume)."""
    from nanogenie.training.plots import plot_held_out_figures, plot_losses  # matplotlib: only when training

    steps = config.train.stage(name).steps
    weights = run_dir / f"{name}.safetensors"
    if name not in to_run or (args.resume and _stage_finished(run_dir, name, steps)):
        if weights.is_file():
            load_weights_file(module, weights)
            module.eval()
        return
    device = dist.device
    tokenizer, lam, _ = models
    train_spans = run.splits["train"]
    log = JsonlLog(run_dir / "log.jsonl" if dist.is_main else None)
    if name == "dynamics":
        began = time.perf_counter()
        tokens, actions, starts = precompute_tokens_and_actions(tokenizer, lam, run.data, train_spans, config, device, dist)
        if dist.is_main:
            _record_minutes(run_dir, "dynamics_precompute", time.perf_counter() - began)
        stage = dynamics_stage(module, tokens, actions, starts, config, steps)
        held_out = dynamics_validation(tokenizer, lam, run.held_out, run.held_out_spans, config, device)
    else:
        stage = pixel_stage(name, module, run.data, train_spans, config, device, steps)
        held_out = pixel_validation(module, name, run.held_out, run.held_out_spans, config, device)
    stage.evaluate = _held_out_figures(name, module, held_out, run, config, device, steps)
    train_stage(stage, config.train, run_dir, dist, args.resume, log, progress_row=progress_row,
                on_step=None if on_step is None else lambda stage, step: on_step())
    if dist.is_main:
        plot_losses(run_dir / "log.jsonl", run_dir / "plots" / "losses.png")
        plot_held_out_figures(run_dir / "log.jsonl", run_dir / "plots" / "held_out.png")


def _held_out_figures(name: str, module: torch.nn.Module, batches: list, run, config: WorldConfig, device: str,
                      steps: int):
    """What a stage logs at each checkpoint: its validation loss on held-out clips, and for the LAM on
    data with true actions its lam_nmi and lam_probe_accuracy (every action_figures_every steps and at
    the last)."""
    every = config.train.action_figures_every

    def evaluate(step: int) -> dict[str, float | None]:
        figures = validation_figures(module, batches)
        if name == "lam" and run.held_out.actions is not None and (step % every == 0 or step == steps):
            figures.update(lam_figures(module, run.held_out, run.held_out_spans, config, device))
        return figures

    return evaluate


def _prompt_frames(run, config: WorldConfig) -> np.ndarray:
    """The first frames of the first held-out (else training) span long enough to hold them."""
    skip = config.train.frame_skip
    length = min(PROMPT_FRAMES, config.dynamics.context_frames)
    for start, end in run.splits["test"] + run.splits["train"]:
        if end - start >= (length - 1) * skip + 1:
            return np.ascontiguousarray(run.data.frames[start:start + (length - 1) * skip + 1:skip])
    raise UserError(f"no episode in {run.data.path or 'the data'} has {length} frames for the play prompt; "
                    f"use longer episodes")


def _write_bundle(args: argparse.Namespace, config: WorldConfig, out: Path, run, models, device: str,
                  processes: int) -> None:
    tokenizer, lam, dynamics = models
    prompt = _prompt_frames(run, config)
    fitted = None
    if run.held_out.actions is not None:
        truth, latent = held_out_action_pairs(lam, run.held_out, run.held_out_spans, config, device)
        if config.train.dynamics_actions == "true":
            latent = truth  # the dynamics takes the recorded actions themselves: each key binds its own
        fitted = keymap_toml(fitted_codes(truth, latent, run.data.action_names, config.lam.num_actions),
                             config.lam.num_actions)
    packaged = args.world if (PACKAGED_KEYMAPS / f"{args.world}.toml").is_file() else None
    meta = {"keymap": packaged, "keymap_origin": "fitted" if fitted else None, "data": run.summary()}
    save_world(World(path=out, name=args.world, config=config, meta=meta,
                     tokenizer=tokenizer, lam=lam, dynamics=dynamics, prompt=prompt, fps=run.data.fps,
                     action_names=run.data.action_names or []), keymap_toml=fitted, then=RESUME)
    world = load_world(out, device)  # evaluate exactly what was saved
    if fitted is None and packaged is None:  # no true actions: keys from what each latent action moves
        write_proposed_keymap(world, device)
    figures = evaluate_world(world, run.held_out, run.held_out_spans, device, seed=config.train.seed,
                             plots_dir=out / "run" / "plots")
    figures.update(control_figures(world, run.env, device))
    update_world_meta(out, then=RESUME, eval=figures, training=_training_record(out / "run", device, processes))
    print(f"world saved to {out}", file=sys.stderr)
    print(json.dumps(figures))


def _training_record(run_dir: Path, device: str, processes: int) -> dict:
    """What world.json says of how the world was trained: where, and each stage's wall minutes (its
    optimizer steps and checkpoint figures, summed over resumes; the dynamics' pre-computation apart)."""
    minutes: dict[str, float] = {}
    for record in read_records(run_dir / "log.jsonl"):  # elapsed only grows within a stage, across resumes too
        minutes[record["stage"]] = max(minutes.get(record["stage"], 0.0), round(record["elapsed"] / 60, 1))
    timings = run_dir / "timings.json"
    if timings.is_file():
        minutes.update(json.loads(timings.read_text()))
    return {"device": device, "torch_threads": torch.get_num_threads(), "processes": processes, "minutes": minutes}
