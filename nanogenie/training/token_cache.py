"""The dynamics stage's inputs, kept in the run folder: the training frames' tokens and their actions.

Encoding and labelling every training frame takes minutes (5-6 on two cores for sonic's 120,000 frames),
and a resumed or repeated dynamics stage on the same tokenizer, LAM and data would do it again. The
arrays are saved once, with a key that names everything they depend on; a stage whose key differs (a
retrained tokenizer or LAM, other data, another clip length) computes them afresh and replaces the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from nanogenie.atomic import RESUME, write_bytes
from nanogenie.config import WorldConfig
from nanogenie.data import VideoData
from nanogenie.data.splits import Span
from nanogenie.training.distributed import Distributed
from nanogenie.training.stages import precompute_tokens_and_actions

Inputs = tuple[torch.Tensor, torch.Tensor, np.ndarray]  # tokens (N, P), actions (N,), clip starts (C,)


def module_digest(module: torch.nn.Module) -> str:
    """A hash of a module's weights and buffers: equal weights give equal tokens or labels."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()
                      if tensor.numel() else b"")
    return digest.hexdigest()


def file_identity(path: str | os.PathLike | None) -> list | None:
    """A data file's resolved path, size and modification time (hashing 100,000 frames would cost what the
    cache saves); None for data that has no file."""
    if path is None:
        return None
    stat = Path(path).stat()
    return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]


def dynamics_inputs(path: Path, tokenizer: torch.nn.Module, lam: torch.nn.Module, data: VideoData, spans: list[Span],
                    config: WorldConfig, device: str, dist: Distributed) -> Inputs:
    """precompute_tokens_and_actions(...), read from `path` when it was saved there for the same weights,
    configs, data and clips, else computed and saved."""
    key = {"tokenizer": [module_digest(tokenizer), asdict(config.tokenizer)],
           "lam": [module_digest(lam), asdict(config.lam)], "data": file_identity(data.path),
           "spans": [list(span) for span in spans], "frame_skip": config.train.frame_skip,
           "clip_frames": config.train.dynamics.clip_frames, "actions": config.train.dynamics_actions,
           "device": torch.device(device).type, "amp": config.train.amp}

    def compute() -> Inputs:
        return precompute_tokens_and_actions(tokenizer, lam, data, spans, config, device, dist)

    return cached_inputs(path, key, dist, device, compute)


def cached_inputs(path: Path, key: dict, dist: Distributed, device: str, compute: Callable[[], Inputs]) -> Inputs:
    """The arrays saved at `path` under `key`, or compute() (every rank calls it: the ranks share the
    work), saved there by rank 0. Every rank reads the file before any writes it, so they agree."""
    key_text = json.dumps(key, sort_keys=True)
    saved = _read(path, key_text)
    if saved is not None:
        tokens, actions, starts = saved
        return torch.from_numpy(tokens).to(device), torch.from_numpy(actions).to(device), starts
    tokens, actions, starts = compute()
    if dist.is_main:
        buffer = io.BytesIO()
        np.savez(buffer, key=np.array(key_text), tokens=tokens.cpu().numpy(), actions=actions.cpu().numpy(),
                 starts=starts)
        write_bytes(path, buffer.getvalue(), kept="the run's weights and checkpoints are kept", then=RESUME)
    return tokens, actions, starts


def _read(path: Path, key_text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The saved arrays if `path` holds them under `key_text`; None if it does not exist, holds another
    key, or cannot be read (it is only a cache: computing again is always right)."""
    try:
        with np.load(path) as saved:
            if str(saved["key"]) != key_text:
                return None
            return saved["tokens"], saved["actions"], saved["starts"]
    except (OSError, ValueError, KeyError):
        return None
