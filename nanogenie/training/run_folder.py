"""A training's run folder, `<world>/run/`: the one home of its layout and its lifecycle.

    config.json                 the config the run trains with, and the preset it started from
    timings.json                wall minutes outside the loop (the dynamics' pre-computation, the
                                tokenizer and the LAM side by side)
    data.h5, splits.json        the generated data (a cache) and the run's split (training/run_data.py)
    log.jsonl                   one record per logged step of every stage, appended under log.jsonl.lock
    checkpoints/<stage>/step_*  training/checkpoint.py
    <stage>.safetensors         each stage's final weights (what the next stage reads)
    plots/
    lock                        held while any process of a training can write here (training/launch.py)

Every file here is replaced through nanogenie/atomic.py, except log.jsonl, which is appended to (a line
a kill tore is skipped when read).
"""

from __future__ import annotations

import fcntl
import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from nanogenie.atomic import RESUME, disk_full, is_disk_full, is_temp, write_all, write_bytes
from nanogenie.config import WorldConfig, stage_parts
from nanogenie.errors import UserError
from nanogenie.training.checkpoint import checkpoint_step, latest_checkpoint
from nanogenie.training.launch import lock_run_dir, unlock_run_dir


class RunFolder:
    """The run folder at `path`, inside the world folder it trains (`world`). Picklable: the processes of
    one training each hold one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.world = self.path.parent
        self.config_file = self.path / "config.json"
        self.timings_file = self.path / "timings.json"
        self.log_file = self.path / "log.jsonl"
        self.data_file = self.path / "data.h5"
        self.splits_file = self.path / "splits.json"
        self.dynamics_inputs_file = self.path / "dynamics_inputs.npz"  # training/token_cache.py
        self.plots = self.path / "plots"

    def weights(self, stage: str) -> Path:
        return self.path / f"{stage}.safetensors"

    def checkpoints(self, stage: str | None = None) -> Path:
        """A stage's checkpoint folder (every stage's, without one)."""
        root = self.path / "checkpoints"
        return root if stage is None else root / stage

    def latest_checkpoint(self, stage: str) -> Path | None:
        return latest_checkpoint(self.checkpoints(stage))

    def log(self, writes: bool = True) -> JsonlLog:
        """The run's log (one that writes nothing on ranks other than 0)."""
        return JsonlLog(self.log_file if writes else None)

    # --- lifecycle ------------------------------------------------------------------------------
    def make(self) -> None:
        if self.world.exists() and not self.world.is_dir():
            raise UserError(f"--out {self.world} is a file; choose a folder for the world")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(f"cannot create {self.path} ({err.strerror}); choose a writable --out") from None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The folder made and locked while the block runs (training/launch.py: every process the
        training starts holds the lock too; a second training here is refused)."""
        self.make()
        lock = lock_run_dir(self.path)
        try:
            yield
        finally:
            unlock_run_dir(lock)

    def begin(self, config: WorldConfig, preset: str, stages: list[str], resume: bool) -> None:
        """What rank 0 does holding the lock before any stage trains: remove what a kill left half
        written, forget the stages a new (not resumed) run retrains, and record the config."""
        self.clean_unfinished()
        if not resume:
            self.fresh_start(stages)
        _write_json(self.config_file, {"preset": preset, "config": config.to_dict()})

    def recorded_config(self, preset: str) -> WorldConfig | None:
        """The config the run recorded when it started, or None; `preset` is what the message for an
        unreadable one offers to start from instead."""
        if not self.config_file.is_file():
            return None
        try:
            return WorldConfig.from_dict(json.loads(self.config_file.read_text())["config"])
        except (OSError, ValueError, KeyError, TypeError, UserError) as err:
            raise UserError(f"{self.config_file} cannot be read ({err}); delete it to start the run from "
                            f"--preset {preset}") from None

    def clean_unfinished(self) -> None:
        """Remove what writes a kill interrupted (temp files and checkpoint folders, never complete ones) in
        the world folder, the run folder and its checkpoints. Call it holding the run's lock."""
        for folder in (self.world, self.path, *self.checkpoints().glob("*")):
            for tmp in filter(is_temp, folder.glob(".*.tmp-*")):
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)

    def fresh_start(self, stages: list[str]) -> None:
        """A new (not resumed) run forgets the old checkpoints and weights of the stages it retrains."""
        stages = [part for stage in stages for part in stage_parts(stage)]
        for stage in stages:
            self.forget_checkpoints(stage)
            self.weights(stage).unlink(missing_ok=True)
        self.log().keep_only(lambda r: r["stage"] not in stages)  # other stages' history stays
        if self.timings_file.is_file():  # wall-clock figures naming a retrained stage no longer hold
            kept = {k: v for k, v in self.timings().items() if not any(s in k for s in stages)}
            _write_json(self.timings_file, kept)

    def forget_checkpoints(self, stage: str) -> None:
        shutil.rmtree(self.checkpoints(stage), ignore_errors=True)

    def stage_finished(self, stage: str, steps: int) -> bool:
        """Has the stage written its weights and a checkpoint at `steps` or later?"""
        last = self.latest_checkpoint(stage)
        return self.weights(stage).is_file() and last is not None and checkpoint_step(last) >= steps

    # --- minutes --------------------------------------------------------------------------------
    def timings(self) -> dict[str, float]:
        return json.loads(self.timings_file.read_text()) if self.timings_file.is_file() else {}

    def record_minutes(self, name: str, seconds: float) -> None:
        """Add one wall-clock figure to timings.json (read into world.json's training minutes)."""
        _write_json(self.timings_file, {**self.timings(), name: round(seconds / 60, 1)})

    def minutes(self) -> dict[str, float]:
        """Each stage's wall minutes (its optimizer steps and checkpoint figures, summed over resumes), and
        the timings outside the loop."""
        minutes: dict[str, float] = {}
        for record in read_records(self.log_file):  # elapsed only grows within a stage, across resumes too
            minutes[record["stage"]] = max(minutes.get(record["stage"], 0.0), round(record["elapsed"] / 60, 1))
        return {**minutes, **self.timings()}


def _write_json(path: Path, value: dict) -> None:
    write_bytes(path, (json.dumps(value, indent=2) + "\n").encode(), then=RESUME)


def read_records(path: Path) -> list[dict]:
    """Every record of a log.jsonl, skipping a line a kill tore in half (only ever the last)."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "stage" in record and "step" in record:
            records.append(record)
    return records


class JsonlLog:
    """Appends one JSON object per line; only rank 0 writes. Two processes may share the file (the tokenizer
    and the LAM side by side): each write and rewrite holds an exclusive lock on <log>.lock."""

    def __init__(self, path: Path | None):
        self.path = path

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(Path(self.path).with_name(Path(self.path).name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield  # closing the file releases the lock

    def write(self, record: dict) -> None:
        if self.path is not None:
            try:
                with self._locked(), open(self.path, "ab") as f:
                    write_all(f, (json.dumps(record) + "\n").encode())
            except OSError as err:  # a line torn by a full disk is skipped when read
                if is_disk_full(err):
                    raise disk_full(Path(self.path), "the checkpoints are kept", RESUME) from None
                raise

    def keep_only(self, keep: Callable[[dict], bool]) -> None:
        """Rewrite the log with the records `keep` accepts (atomically: temp file + rename)."""
        if self.path is None or not Path(self.path).is_file():
            return
        with self._locked():
            kept = "".join(json.dumps(r) + "\n" for r in read_records(self.path) if keep(r))
            write_bytes(self.path, kept.encode(), then=RESUME)
