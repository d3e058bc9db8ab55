"""The data a training run uses: a given .h5 file, or frames generated from the world's simulator.

Generated data is cached as run/data.h5 (so a resumed run does not regenerate it) and split by
episode into train and held-out test spans; the split is recorded in run/splits.json and in the
bundle's data summary; what is held out is defined in eval/held_out.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nanogenie.atomic import RESUME, write_bytes
from nanogenie.config import WorldConfig
from nanogenie.data import VideoData, load_dataset, split_spans, write_dataset
from nanogenie.data.simulated import simulated_data, simulated_source
from nanogenie.data.splits import Span
from nanogenie.envs import ENVS
from nanogenie.errors import UserError
from nanogenie.eval.held_out import fresh_episodes, held_out_fraction, held_out_spans
from nanogenie.training.distributed import Distributed
from nanogenie.training.run_folder import RunFolder


@dataclass
class RunData:
    data: VideoData
    splits: dict[str, list[Span]]  # train / val / test spans; test is the held-out part
    env: str | None  # simulator that made the data, if any (eval generates fresh episodes with it)
    held_out: VideoData  # what every held-out figure is measured on: fresh episodes, or `data` itself
    held_out_spans: list[Span]  # ... and which parts of it

    def summary(self) -> dict:
        """What world.json records about the training data."""
        path = self.data.path and str(Path(self.data.path).resolve())  # play --propose-keys reads it from anywhere
        return {"source": self.data.source, "path": path, "env": self.env, "frames": len(self.data),
                "episodes": len(self.data.episode_ends), "frame_size": int(self.data.frames.shape[1]),
                "splits": {name: [list(s) for s in spans] for name, spans in self.splits.items()},
                "held_out": self.held_out.source if self.held_out is not self.data else "test split"}


def simulator_names() -> list[str]:
    return sorted(ENVS)


def generate_episodes(env: str, frames: int, size: int, seed: int, path: Path, progress: bool = True) -> VideoData:
    """Roll the simulator out with its behaviour policy and write the frames as an .h5 file."""
    data = simulated_data(env, frames, size, seed, progress=progress)
    write_dataset(path, data.frames, data.actions, data.episode_ends, fps=data.fps, source=data.source,
                  action_names=data.action_names)
    return load_dataset(path)


def check_frame_size(data: VideoData, config: WorldConfig, preset: str | None = None) -> None:
    size = config.tokenizer.image_size
    height, width = data.frames.shape[1:3]
    if (height, width) != (size, size):
        raise UserError(f"{data.path}: frames are {height}x{width} but the {preset or 'world'} preset expects "
                        f"{size}x{size}; regenerate the data with `nanogenie data generate ... --size {size}` "
                        f"or choose a preset made for {height}x{width} frames")


def prepare_run_data(world: str, data_path: str | None, config: WorldConfig, preset: str, run_folder: RunFolder,
                     dist: Distributed, held_out_path: str | None = None) -> RunData:
    """Load or generate the run's data (rank 0 writes the cache), check it and split it. Held-out figures
    come from `held_out_path` (all of it) when given, else from fresh simulator episodes or the data's test split."""
    train = config.train
    size = config.tokenizer.image_size
    if data_path is not None:
        data = load_dataset(data_path)
        env = None
    else:
        if world not in simulator_names():
            raise UserError(f"no simulator named {world!r} to generate data from; the simulators are "
                            f"{', '.join(simulator_names())}. Pass --data FILE.h5 to train on your own video")
        env = world
        cache = run_folder.data_file
        wanted = simulated_source(world, train.data_frames, size, train.seed, "sticky")
        if dist.is_main:
            data = load_dataset(cache) if cache.is_file() else None
            if data is None or data.source != wanted:
                data = generate_episodes(world, train.data_frames, size, train.seed, cache)
        dist.barrier()
        if not dist.is_main:
            data = load_dataset(cache)
    check_frame_size(data, config, preset)
    splits = split_spans(data, 0.0, held_out_fraction(data, train.eval_episodes), seed=train.seed)
    if dist.is_main:
        recorded = json.dumps({name: [list(s) for s in spans] for name, spans in splits.items()}) + "\n"
        write_bytes(run_folder.splits_file, recorded.encode(), then=RESUME)
    if held_out_path is not None:
        held_out = load_dataset(held_out_path)
        check_frame_size(held_out, config, preset)
        return RunData(data, splits, env, held_out, held_out.episodes())
    if env is not None:
        held_out = fresh_episodes(env, config)
        return RunData(data, splits, env, held_out, held_out.episodes())
    return RunData(data, splits, env, data, held_out_spans(splits, data.path or "the data"))
