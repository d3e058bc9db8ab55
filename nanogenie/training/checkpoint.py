"""Checkpoints that survive a kill at any instant.

A stage's checkpoints live in a folder named for the stage (where: training/run_folder.py):
    <stage>/step_00000250/   model.safetensors, optimizer.pt, state.json

A checkpoint folder is written under a temp name, every file fsynced, then renamed into place
(nanogenie/atomic.py), so a folder named `step_*` is always complete; `state.json` is written last as
a second guard. The
learning-rate schedule and every random draw are functions of (seed, stage, step), so the step
alone restores them. The optimizer state uses torch.save because it is internal to a run and never
shipped; weights are always safetensors.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import sys
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from nanogenie.atomic import RESUME, replacing, write_bytes, write_synced
from nanogenie.errors import UserError


def module_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU, contiguous copy of a module's weights, as safetensors wants them."""
    return {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}


def save_weights_atomic(module: torch.nn.Module, path: Path) -> None:
    """Write a module's weights as safetensors, atomically; its checkpoints stay for --resume."""
    write_bytes(path, save(module_state(module)), kept="the stage's checkpoints are kept", then=RESUME)


# What reading a damaged file can raise: a cut or garbage safetensors file, a garbage pickle, a short read.
READ_ERRORS = (OSError, ValueError, RuntimeError, KeyError, EOFError, SafetensorError, pickle.UnpicklingError)


def load_weights_file(module: torch.nn.Module, path: Path) -> None:
    try:
        module.load_state_dict(load_file(str(path)), strict=True)
    except READ_ERRORS as err:
        raise UserError(f"{path} cannot be read as this model's weights ({str(err).splitlines()[0]}); "
                        f"retrain that stage (--stage NAME without --resume)") from None


def checkpoint_step(checkpoint: Path) -> int:
    """The optimizer step a checkpoint folder (`step_00000250`) was written at."""
    return int(Path(checkpoint).name.split("_")[1])


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints in a stage's folder, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("step_*") if p.is_dir() and (p / "state.json").is_file()]
    return sorted(found, key=checkpoint_step)


def latest_checkpoint(folder: Path) -> Path | None:
    found = list_checkpoints(folder)
    return found[-1] if found else None


def save_checkpoint(folder: Path, step: int, module: torch.nn.Module, optimizer: torch.optim.Optimizer, keep: int,
                    extra: dict | None = None) -> Path:
    """Write `step_<step>` into a stage's folder atomically and keep only the newest `keep` checkpoints."""
    root, stage = Path(folder), Path(folder).name
    root.mkdir(parents=True, exist_ok=True)
    previous = latest_checkpoint(root)
    kept = f"the checkpoint before it, {previous}, is kept" if previous else "no earlier checkpoint was lost"
    optimizer_state = io.BytesIO()
    torch.save(optimizer.state_dict(), optimizer_state)
    with replacing(root / f"step_{step:08d}", kept=kept, then=RESUME) as tmp:
        tmp.mkdir()
        write_synced(tmp / "model.safetensors", save(module_state(module)))
        write_synced(tmp / "optimizer.pt", optimizer_state.getvalue())
        write_synced(tmp / "state.json", (json.dumps({"stage": stage, "step": step, **(extra or {})}) + "\n").encode())
    for old in list_checkpoints(root)[:-max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return root / f"step_{step:08d}"


def load_checkpoint(path: Path, module: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None) -> int:
    """Restore weights (and optimizer state) from a checkpoint folder; returns its step."""
    path = Path(path)
    try:
        state = json.loads((path / "state.json").read_text())
        load_weights_file(module, path / "model.safetensors")
        if optimizer is not None:
            optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True))
    except (*READ_ERRORS, UserError) as err:
        raise UserError(f"checkpoint {path} cannot be read ({str(err).splitlines()[0]}); train without "
                        f"--resume") from None
    return int(state["step"])


def resume(folder: Path, module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, Path] | None:
    """Restore the newest checkpoint in a stage's folder that can be read, saying which damaged ones were
    skipped; (step, checkpoint), or None when the stage has none. A UserError when none can be read."""
    stage = Path(folder).name
    found = list_checkpoints(folder)
    for checkpoint in reversed(found):
        try:
            return load_checkpoint(checkpoint, module, optimizer), checkpoint
        except UserError as err:
            print(f"{stage}: {err}; trying the one before", file=sys.stderr)
    if found:
        raise UserError(f"no checkpoint of {stage} in {folder} can be read; train without --resume")
    return None
