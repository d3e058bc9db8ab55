"""The three stages as `Stage`s for the shared loop, and the once-per-run pre-computation for dynamics.

Shape legend: B batch, T clip frames, P tokens per frame, N frames of a sequence.
The dynamics model never sees pixels: the trained tokenizer encodes the training frames once and the
trained LAM labels every transition once (both in batches, under no_grad), and dynamics clips are
then cut from those token and action arrays.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from nanogenie.config import WorldConfig
from nanogenie.data import ClipDataset, VideoData
from nanogenie.data.splits import Span
from nanogenie.training.loop import Stage, sample_indices

ENCODE_BATCH = 32  # windows per forward pass while pre-computing tokens and actions


def autocast_for(device: str, amp: bool):
    """bf16 autocast on CUDA when amp is on; nothing on CPU."""
    if amp and device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def pixel_stage(name: str, module: torch.nn.Module, data: VideoData, spans: list[Span], config: WorldConfig,
                device: str, steps: int) -> Stage:
    """Tokenizer or LAM: trains on pixel clips (B, T, 3, H, W) from the training spans."""
    train = config.train
    clips = ClipDataset(data, spans, train.clip_frames(name), train.frame_skip)
    batch_size = train.batch_size(name)

    def sample(generator: torch.Generator, rank: int, world_size: int) -> tuple[torch.Tensor]:
        picks = sample_indices(len(clips), batch_size, generator, rank, world_size)
        frames = torch.stack([clips[i]["frames"] for i in picks])  # (B, T, 3, H, W)
        return (frames.to(device, non_blocking=True),)

    return Stage(name, module, module.training_loss, sample, steps)


def sequences(spans: list[Span], frame_skip: int, min_frames: int) -> list[np.ndarray]:
    """Frame indices of every sequence the dynamics trains on: each span read every `frame_skip`-th
    frame, once per phase, keeping those long enough for one clip."""
    found = []
    for start, end in spans:
        for phase in range(frame_skip):
            index = np.arange(start + phase, end, frame_skip)
            if len(index) >= min_frames:
                found.append(index)
    return found


def _windows(length: int, window: int, stride: int) -> list[int]:
    """Starts of windows covering [0, length); the last one is pulled back to end exactly at `length`."""
    starts = list(range(0, max(1, length - window + 1), stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


@torch.no_grad()
def apply_in_windows(fn, data: VideoData, seqs: list[np.ndarray], window: int, stride: int, device: str,
                     amp: bool) -> list[torch.Tensor]:
    """Run `fn` (frames (B, T, 3, H, W) -> (B, T', ...)) over windows of each sequence, batched.

    Windows step by `stride`; window w's T' outputs land at its own positions, later windows
    overwriting earlier ones where they overlap. Returns one CPU tensor per sequence, (N', ...).
    """
    jobs = [(k, s) for k, index in enumerate(seqs) for s in _windows(len(index), window, stride)]
    results: list[torch.Tensor | None] = [None] * len(seqs)
    with autocast_for(device, amp):
        for b in range(0, len(jobs), ENCODE_BATCH):
            batch = jobs[b:b + ENCODE_BATCH]
            frames = torch.from_numpy(np.stack([data.frames[seqs[k][s:s + window]] for k, s in batch]))
            frames = frames.to(device).permute(0, 1, 4, 2, 3).float().div_(127.5).sub_(1.0)  # (B, T, 3, H, W)
            out = fn(frames).cpu()  # (B, T', ...)
            for (k, start), row in zip(batch, out):
                if results[k] is None:
                    size = len(seqs[k]) - (window - row.shape[0])
                    results[k] = torch.empty((size, *row.shape[1:]), dtype=row.dtype)
                results[k][start:start + row.shape[0]] = row
    return results


def precompute_tokens_and_actions(tokenizer, lam, data: VideoData, spans: list[Span], config: WorldConfig,
                                  device: str) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Encode and label the training sequences once.

    Returns tokens (N, P) int16/int32 and actions (N,) long (-1 at each sequence's last frame), all
    sequences back to back on `device`, and the clip starts (C,) into them.
    """
    train = config.train
    window = train.clip_frames("dynamics")
    seqs = sequences(spans, train.frame_skip, window)
    tokenizer.eval()
    lam.eval()
    # Tokens: disjoint windows (the last pulled back). Actions: windows of the LAM's training length
    # overlapping by one frame, so every transition inside a sequence gets labelled.
    seq_tokens = apply_in_windows(tokenizer.encode, data, seqs, window, window, device, train.amp)
    lam_window = min(window, train.clip_frames("lam"))
    seq_actions = apply_in_windows(lam.infer_actions, data, seqs, lam_window, lam_window - 1, device, train.amp)
    small = config.tokenizer.codebook_size < 2**15  # int16 halves the memory of the token array
    tokens = torch.cat(seq_tokens).to(torch.int16 if small else torch.int32)
    actions = torch.cat([torch.cat((a.long(), a.new_full((1,), -1).long())) for a in seq_actions])
    lengths = [len(index) for index in seqs]
    offsets = np.cumsum([0, *lengths[:-1]])
    clip_starts = np.concatenate([o + np.arange(n - window + 1) for o, n in zip(offsets, lengths)])
    return tokens.to(device), actions.to(device), clip_starts


def held_out_action_pairs(lam, data: VideoData, spans: list[Span], config: WorldConfig, device: str
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(true actions, LAM actions) for every transition in the spans; empty when the data has no actions."""
    train = config.train
    window = train.clip_frames("lam")
    seqs = sequences(spans, train.frame_skip, window)
    if data.actions is None or not seqs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lam.eval()
    latent = apply_in_windows(lam.infer_actions, data, seqs, window, window - 1, device, train.amp)
    truth = np.concatenate([data.actions[index[:-1]] for index in seqs]).astype(np.int64)
    return truth, torch.cat(latent).numpy().astype(np.int64)


def dynamics_stage(dynamics, tokens: torch.Tensor, actions: torch.Tensor, clip_starts: np.ndarray,
                   config: WorldConfig, steps: int) -> Stage:
    """Dynamics: trains on token clips (B, T, P) with the LAM's actions (B, T-1)."""
    train = config.train
    offsets = torch.arange(train.clip_frames("dynamics"), device=tokens.device)  # (T,)
    starts = torch.from_numpy(clip_starts).to(tokens.device)

    def sample(generator: torch.Generator, rank: int, world_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        picks = torch.tensor(sample_indices(len(starts), train.batch_size("dynamics"), generator, rank, world_size),
                             device=tokens.device)
        index = starts[picks, None] + offsets  # (B, T)
        return tokens[index].long(), actions[index[:, :-1]]

    return Stage("dynamics", dynamics, dynamics.training_loss, sample, steps)
