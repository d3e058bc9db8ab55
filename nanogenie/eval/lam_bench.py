"""Latent actions measured on any labelled data: the probe of a trained LAM, and beside it the ceiling and
the leak (PRINCIPLES: a figure stands beside its ceiling and its leak).

    nanogenie lam probe --world runs/game --held-out game_random.h5
    nanogenie lam ceiling --data game.h5 --held-out game_random.h5 --minutes 5
    nanogenie lam ceiling --world firefly --minutes 5          # a simulator: its data and fresh episodes

- probe: the LAM of a run folder (a `--stage lam` run is enough) or a world bundle labels every held-out
  transition; Genie's probe maps each code to its most frequent true action and scores that map.
- ceiling: a small CNN inverse model trained WITH the true actions on the same frames, for the same CPU
  minutes, sees x_t-1, x_t, x_t+1: how much of the action the frames show at all.
- leak: the same CNN seeing only x_t-1, x_t. On held-out data with a fresh random action every frame it
  must score chance; on sticky data, past motion predicts the action and it scores above.
Held-out figures should come from episodes with a fresh random action every frame (`nanogenie data
generate --policy random`, or a recording of such play): with sticky actions a code that only reads past
motion would score.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nanogenie.config import WorldConfig, preset
from nanogenie.data import VideoData, load_dataset, split_spans
from nanogenie.data.pixels import to_model
from nanogenie.data.simulated import simulated_data
from nanogenie.errors import UserError
from nanogenie.eval.held_out import describe_fresh, fresh_episodes, held_out_fraction, held_out_spans
from nanogenie.metrics import normalized_mutual_information
from nanogenie.models.inverse import PAST_CHANNELS, TRANSITION_CHANNELS, InverseModel, transition_channels

BATCH = 32


def labelled(data: VideoData, what: str) -> VideoData:
    if data.actions is None or not (data.actions >= 0).any():
        raise UserError(f"{data.path or what} has no recorded actions, so nothing can be scored against them; "
                        f"use a file made by `nanogenie data generate` or one with an `actions` array")
    return data


def transitions(data: VideoData, spans: list[tuple[int, int]] | None = None) -> np.ndarray:
    """Indices t with x_t-1, x_t, x_t+1 inside one episode (or span) and a known action a_t."""
    found = [np.arange(start + 1, end - 1) for start, end in (spans or data.episodes())]
    index = np.concatenate(found) if found else np.zeros(0, np.int64)
    return index[data.actions[index] >= 0]


def inputs(data: VideoData, index: np.ndarray, past_only: bool) -> torch.Tensor:
    """(N, C, H, W): x_t-1, x_t (and x_t+1, x_t+1 - x_t unless past_only) as channels."""
    after = None if past_only else to_model(data.frames[index + 1])
    return transition_channels(to_model(data.frames[index - 1]), to_model(data.frames[index]), after)


def scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """accuracy (for a LAM, the probe's), NMI and the majority share (the accuracy of always guessing one)."""
    truth, predicted = np.asarray(truth, np.int64), np.asarray(predicted, np.int64)
    return {"nmi": round(normalized_mutual_information(truth, predicted), 4),
            "majority": round(float(np.bincount(truth).max() / len(truth)), 4)}


def train_inverse_model(train: VideoData, train_spans: list | None, held_out: VideoData, held_spans: list | None,
                        minutes: float, past_only: bool, steps: int | None = None, seed: int = 0,
                        report_every: float = 60.0):
    """Yields a figures dict every `report_every` seconds and at the end, for the ceiling (or the leak),
    trained on `train_spans` of `train` (None: all of it) and scored on `held_spans` of `held_out`.
    It trains for `minutes` of this CPU (the LAM's budget), or exactly `steps` steps when given."""
    torch.manual_seed(seed)
    train_index, held_index = transitions(train, train_spans), transitions(held_out, held_spans)
    if len(train_index) == 0 or len(held_index) == 0:
        raise UserError("no labelled transitions of three frames in one episode to train or score on; "
                        "the data needs episodes of at least 3 frames with recorded actions")
    actions = int(max(train.actions.max(), held_out.actions.max())) + 1
    model = InverseModel(actions, PAST_CHANNELS if past_only else TRANSITION_CHANNELS)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    truth = held_out.actions[held_index].astype(np.int64)
    began, step, next_report = time.perf_counter(), 0, 0.0
    while True:
        elapsed = time.perf_counter() - began
        done = step >= steps if steps is not None else elapsed >= minutes * 60
        if elapsed >= next_report or done:
            model.eval()
            with torch.no_grad():
                predicted = torch.cat([model(inputs(held_out, held_index[i:i + 256], past_only)).argmax(1)
                                       for i in range(0, len(held_index), 256)]).numpy()
            model.train()
            yield {"model": "leak" if past_only else "ceiling", "step": step, "minutes": round(elapsed / 60, 2),
                   "accuracy": round(float((predicted == truth).mean()), 4), **scores(truth, predicted)}
            next_report += report_every
            if done:
                return
        pick = train_index[torch.randint(len(train_index), (BATCH,), generator=generator).numpy()]
        loss = F.cross_entropy(model(inputs(train, pick, past_only)), torch.from_numpy(train.actions[pick].astype(np.int64)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1


def held_out_data(held_out: str | None, data: VideoData, config: WorldConfig
                  ) -> tuple[list | None, VideoData, list | None, str]:
    """(train spans of `data`, held-out data, its spans, what it is): all of `data` and the held-out file
    when one is given; else the split training makes of `data` (train spans, test spans)."""
    if held_out is not None:
        return None, labelled(load_dataset(held_out), held_out), None, held_out
    splits = split_spans(data, 0.0, held_out_fraction(data, config.train.eval_episodes), seed=config.train.seed)
    spans = held_out_spans(splits, data.path or "the data")
    return splits["train"], data, spans, f"{data.path} (its held-out split: sticky actions, so the leak scores above chance)"


def load_lam(path: str):
    """(LAM, its WorldConfig) from a run folder (`--out` of `nanogenie train`; a `--stage lam` run is enough,
    and a stopped one gives its latest checkpoint) or a world bundle."""
    from safetensors.torch import load_file

    from nanogenie.models.lam import LatentActionModel
    from nanogenie.training.checkpoint import load_checkpoint
    from nanogenie.training.run_folder import RunFolder
    from nanogenie.world import resolve_world

    folder = Path(path)
    if not folder.is_dir():
        folder = resolve_world(path)
    run = RunFolder(folder / "run")
    checkpoint = None if run.weights("lam").is_file() else run.latest_checkpoint("lam")
    if run.config_file.is_file() and (checkpoint is not None or run.weights("lam").is_file()):
        config_file, weights = run.config_file, run.weights("lam")
    elif (folder / "world.json").is_file() and (folder / "lam.safetensors").is_file():
        config_file, weights, checkpoint = folder / "world.json", folder / "lam.safetensors", None
    else:
        raise UserError(f"{path}: no trained LAM there (looked for run/lam.safetensors or a LAM checkpoint with "
                        f"run/config.json, and a world bundle's lam.safetensors); train one with "
                        f"`nanogenie train --stage lam --out {path}`")
    d = json.loads(config_file.read_text())
    config = WorldConfig.from_dict(d.get("config", d))
    lam = LatentActionModel(config.lam)
    if checkpoint is None:
        lam.load_state_dict(load_file(weights))
    else:
        step = load_checkpoint(checkpoint, lam)
        print(f"{path}: the LAM did not finish; using its checkpoint of step {step}", file=sys.stderr)
    return lam.eval(), config


def probe_command(args) -> None:
    from nanogenie.eval.evaluate import lam_figures

    lam, config = load_lam(args.world)
    data = labelled(load_dataset(args.held_out), args.held_out)
    if data.frames.shape[1] != lam.cfg.image_size:
        raise UserError(f"{args.held_out}: frames are {data.frames.shape[1]} px but the LAM was trained on "
                        f"{lam.cfg.image_size} px; import or generate the held-out data at that size")
    figures = lam_figures(lam, data, data.episodes(), config, "cpu")
    print(json.dumps({"held_out": args.held_out, "model": "lam", **figures}), flush=True)


def ceiling_command(args) -> None:
    if (args.world is None) == (args.data is None):
        raise UserError("give the training data as --data FILE.h5 or a simulator as --world NAME (not both)")
    config = preset("cpu")
    if args.world is not None:
        train = simulated_data(args.world, config.train.data_frames, config.tokenizer.image_size, config.train.seed)
        train_spans, held, spans, where = None, fresh_episodes(args.world, config), None, describe_fresh(args.world, config)
    else:
        train = labelled(load_dataset(args.data), args.data)
        train_spans, held, spans, where = held_out_data(args.held_out, train, config)
    for past_only, minutes in ((False, args.minutes), (True, args.leak_minutes)):
        if minutes <= 0:
            continue
        for figures in train_inverse_model(train, train_spans, held, spans, minutes, past_only, args.steps):
            print(json.dumps({"held_out": where, **figures}), flush=True)

