"""The three stages (and the LAM's second phase) as `Stage`s for the shared loop, and the once-per-run
pre-computation for dynamics.

Shape legend: B batch, T clip frames, P tokens per frame, N frames of a sequence.
The dynamics model never sees pixels: the trained tokenizer encodes the training frames once and the
trained LAM labels every transition once (both in batches, under no_grad), and dynamics clips are
then cut from those token and action arrays.
"""

from __future__ import annotations


import numpy as np
import torch

from nanogenie.config import LAM_INVERSE, WorldConfig
from nanogenie.data import ClipDataset, VideoData
from nanogenie.data.pixels import to_model
from nanogenie.data.splits import Span
from nanogenie.device import autocast_for
from nanogenie.errors import UserError
from nanogenie.training.distributed import Distributed
from nanogenie.training.loop import Stage, sample_indices

ENCODE_BATCH = 32  # windows per forward pass while pre-computing tokens
VALIDATION_CLIPS = 64  # held-out clips each validation loss averages over (a fixed set, so the curve is smooth)
VALIDATION_SEED = 1234  # the dynamics' random masks on held-out clips: the same at every checkpoint


def pixel_stage(name: str, module: torch.nn.Module, data: VideoData, spans: list[Span], config: WorldConfig,
                device: str, steps: int) -> Stage:
    """Tokenizer or LAM: trains on pixel clips (B, T, 3, H, W) from the training spans."""
    train = config.train
    clips = ClipDataset(data, spans, train.stage(name).clip_frames, train.frame_skip)
    batch_size = train.stage(name).batch_size

    def sample(generator: torch.Generator, rank: int, world_size: int) -> tuple[torch.Tensor]:
        picks = sample_indices(len(clips), batch_size, generator, rank, world_size)
        frames = torch.stack([clips[i]["frames"] for i in picks])  # (B, T, 3, H, W)
        return (frames.to(device, non_blocking=True),)

    return Stage(name, module, module.training_loss, sample, steps)


def held_out_clips(data: VideoData, spans: list[Span], clip_frames: int, frame_skip: int,
                   count: int = VALIDATION_CLIPS) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` clips spread evenly over the spans (so two runs on the same data measure the same thing):
    frames (count, T, 3, H, W) in [-1, 1] and their recorded actions (count, T-1), -1 where unknown."""
    clips = ClipDataset(data, spans, clip_frames, frame_skip)
    items = [clips[int(i)] for i in np.linspace(0, len(clips) - 1, min(count, len(clips))).round().astype(int)]
    return torch.stack([it["frames"] for it in items]), torch.stack([it["actions"] for it in items])


def check_true_actions(data: VideoData, num_actions: int) -> None:
    """Can the dynamics be conditioned on this data's recorded actions (`--actions true`)?"""
    if data.actions is None:
        raise UserError("--actions true needs data with recorded actions, and this dataset has none; train with "
                        "the latent actions (the default)")
    most = int(data.actions.max(initial=-1)) + 1
    if most > num_actions:
        raise UserError(f"the data records {most} different actions but the dynamics has {num_actions} action slots "
                        f"(lam num_actions); use a config with num_actions >= {most}")


@torch.no_grad()
def validation_figures(module: torch.nn.Module, batches: list[tuple[torch.Tensor, ...]]) -> dict[str, float]:
    """The stage's training loss and its quality figure (psnr or accuracy) on fixed held-out batches:
    val_loss and val_psnr / val_accuracy. The module runs in eval mode (which keeps the LAM's head
    bookkeeping still), under a fixed seed forked from training's, so training's random stream is untouched."""
    was_training = module.training
    module.eval()
    values: dict[str, list[float]] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(VALIDATION_SEED)
        for batch in batches:
            _, metrics = module.training_loss(*batch)
            for name in ("loss", "psnr", "moving_psnr", "accuracy"):
                if name in metrics:  # moving_psnr is absent from a batch where nothing moves
                    values.setdefault(name, []).append(metrics[name])
    module.train(was_training)
    return {f"val_{name}": round(float(np.mean(found)), 4) for name, found in values.items()}


def pixel_validation(module: torch.nn.Module, name: str, data: VideoData, spans: list[Span], config: WorldConfig,
                     device: str) -> list[tuple[torch.Tensor]]:
    """Held-out batches for the tokenizer or the LAM: pixel clips of the stage's length and batch size
    (the tokenizer's of at least 2 frames, so that its moving_psnr is measured)."""
    stage = config.train.stage(name)
    clip_frames = max(stage.clip_frames, 2) if name == "tokenizer" else stage.clip_frames
    frames, _ = held_out_clips(data, spans, clip_frames, config.train.frame_skip)
    return [(chunk.to(device),) for chunk in frames.split(stage.batch_size)]


@torch.no_grad()
def dynamics_validation(tokenizer, lam, data: VideoData, spans: list[Span], config: WorldConfig, device: str
                        ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Held-out batches for the dynamics: clips encoded by the trained tokenizer, with the actions the
    dynamics trains on (the trained LAM's, or the recorded ones), tokens (B, T, P) and actions (B, T-1)."""
    stage = config.train.dynamics
    frames, recorded = held_out_clips(data, spans, stage.clip_frames, config.train.frame_skip, count=16)
    tokenizer.eval()
    lam.eval()
    batches = []
    with autocast_for(device, config.train.amp):
        for chunk, chunk_actions in zip(frames.split(stage.batch_size), recorded.split(stage.batch_size)):
            chunk = chunk.to(device)
            actions = chunk_actions.to(device) if config.train.dynamics_actions == "true" else lam.infer_actions(chunk)
            batches.append((tokenizer.encode(chunk), actions))
    return batches


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
                     amp: bool, dist: Distributed | None = None) -> list[torch.Tensor]:
    """Run `fn` (frames (B, T, 3, H, W) -> (B, T', ...)) over windows of each sequence, batched.

    Windows step by `stride`; window w's T' outputs land at its own positions, later windows
    overwriting earlier ones where they overlap. Returns one CPU tensor per sequence, (N', ...).
    With `dist`, every rank must call it: each runs every world_size-th batch, the very batches one
    process would, and all receive the whole result.
    """
    dist = dist or Distributed()
    jobs = [(k, s) for k, index in enumerate(seqs) for s in _windows(len(index), window, stride)]
    batches = range(0, len(jobs), ENCODE_BATCH)
    outputs = {}  # batch start -> (B, T', ...), this rank's share
    with autocast_for(device, amp):
        for b in batches[dist.rank::dist.world_size]:
            frames = to_model(np.stack([data.frames[seqs[k][s:s + window]] for k, s in jobs[b:b + ENCODE_BATCH]]))
            outputs[b] = fn(frames.to(device)).cpu()  # frames (B, T, 3, H, W)
    outputs = dist.merge(outputs)
    results: list[torch.Tensor | None] = [None] * len(seqs)
    for b in batches:  # in order, so that later windows overwrite earlier ones
        for (k, start), row in zip(jobs[b:b + ENCODE_BATCH], outputs[b]):
            if results[k] is None:
                size = len(seqs[k]) - (window - row.shape[0])
                results[k] = torch.empty((size, *row.shape[1:]), dtype=row.dtype)
            results[k][start:start + row.shape[0]] = row
    return results


@torch.no_grad()
def label_transitions(lam, data: VideoData, seqs: list[np.ndarray], device: str, amp: bool,
                      chunk: int = 256, dist: Distributed | None = None) -> list[torch.Tensor]:
    """The LAM's action for every transition of each sequence: one (N-1,) long tensor per sequence.

    Each transition gets the frames before it that the LAM reads (`frames_before`, where the sequence
    has them), however the sequence is cut into chunks of `chunk` transitions. With `dist`, every
    rank must call it: each labels every world_size-th sequence and all receive every label.
    """
    dist = dist or Distributed()
    lam.eval()
    extra = lam.frames_before
    labelled = {}  # sequence number -> (N-1,), this rank's share
    with autocast_for(device, amp):
        for k in range(dist.rank, len(seqs), dist.world_size):
            index, parts = seqs[k], []
            for start in range(0, len(index) - 1, chunk):
                first = max(0, start - extra)
                frames = to_model(data.frames[index[first:start + chunk + 1]])[None].to(device)  # (1, T, 3, H, W)
                parts.append(lam.infer_actions(frames)[0, start - first:].cpu())
            labelled[k] = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)
    labelled = dist.merge(labelled)
    return [labelled[k] for k in range(len(seqs))]


def inverse_stage(lam, data: VideoData, spans: list[Span], config: WorldConfig, device: str, steps: int,
                  dist: Distributed | None = None) -> Stage:
    """The LAM's second phase: its inverse model learns to name the heads' code of x_t -> x_t+1 from x_t-1,
    x_t and x_t+1, on every transition of the training spans (read every `frame_skip`-th frame, as the heads
    trained). The heads label them all once, here; with `dist` the ranks share that work."""
    seqs = sequences(spans, config.train.frame_skip, 3)
    codes = label_transitions(lam, data, seqs, device, config.train.amp, dist=dist)
    # (M, 3) frame indices x_t-1, x_t, x_t+1 of every transition with a frame before it, and its code (M,)
    triples = np.concatenate([np.stack((index[:-2], index[1:-1], index[2:]), axis=1) for index in seqs])
    targets = torch.cat([c[1:] for c in codes]).to(device)
    batch_size = config.train.lam_inverse.batch_size

    def sample(generator: torch.Generator, rank: int, world_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        picks = sample_indices(len(triples), batch_size, generator, rank, world_size)
        prev, now, after = (to_model(data.frames[triples[picks, i]]).to(device) for i in range(3))
        return lam.inverse_input(prev, now, after), targets[picks]

    return Stage(LAM_INVERSE, lam.inverse, lam.inverse.training_loss, sample, steps)


@torch.no_grad()
def inverse_validation(lam, data: VideoData, spans: list[Span], config: WorldConfig, device: str
                       ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Held-out batches for the LAM's inverse model: transitions (B, 12, H, W) of fixed held-out clips of 3 frames,
    each with its heads' code (B,), so that val_accuracy says how often the inverse model names the heads' code."""
    frames, _ = held_out_clips(data, spans, 3, config.train.frame_skip, count=4 * VALIDATION_CLIPS)
    frames = frames.to(device)
    lam.eval()
    with autocast_for(device, config.train.amp):
        codes = lam.head_actions(frames)[:, 1]  # (C,): x_1 -> x_2, which has x_0 before it
    inputs = lam.inverse_input(frames[:, 0], frames[:, 1], frames[:, 2])
    batch = config.train.lam_inverse.batch_size
    return list(zip(inputs.split(batch), codes.split(batch)))


def precompute_tokens_and_actions(tokenizer, lam, data: VideoData, spans: list[Span], config: WorldConfig,
                                  device: str, dist: Distributed | None = None
                                  ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Encode and label the training sequences once: each transition's action is the LAM's, or with
    `dynamics_actions` "true" the one the data recorded. With `dist`, the ranks share the work (every
    rank must call it) and all return the whole arrays, equal to one process's.

    Returns tokens (N, P) int16/int32 and actions (N,) long (-1 at each sequence's last frame), all
    sequences back to back on `device`, and the clip starts (C,) into them.
    """
    train = config.train
    window = train.dynamics.clip_frames
    seqs = sequences(spans, train.frame_skip, window)
    tokenizer.eval()
    seq_tokens = apply_in_windows(tokenizer.encode, data, seqs, window, window, device, train.amp, dist)  # disjoint windows
    if train.dynamics_actions == "true":
        seq_actions = [torch.from_numpy(data.actions[index[:-1]].astype(np.int64)) for index in seqs]
    else:
        seq_actions = label_transitions(lam, data, seqs, device, train.amp, dist=dist)
    small = config.tokenizer.codebook_size < 2**15  # int16 halves the memory of the token array
    tokens = torch.cat(seq_tokens).to(torch.int16 if small else torch.int32)
    actions = torch.cat([torch.cat((a.long(), a.new_full((1,), -1).long())) for a in seq_actions])
    lengths = [len(index) for index in seqs]
    offsets = np.cumsum([0, *lengths[:-1]])
    clip_starts = np.concatenate([o + np.arange(n - window + 1) for o, n in zip(offsets, lengths)])
    return tokens.to(device), actions.to(device), clip_starts


def dynamics_stage(dynamics, tokens: torch.Tensor, actions: torch.Tensor, clip_starts: np.ndarray,
                   config: WorldConfig, steps: int) -> Stage:
    """Dynamics: trains on token clips (B, T, P) with the LAM's actions (B, T-1)."""
    train = config.train
    offsets = torch.arange(train.dynamics.clip_frames, device=tokens.device)  # (T,)
    starts = torch.from_numpy(clip_starts).to(tokens.device)
    weights = None
    if train.opening_share > 0:
        weights = clip_weights(opening_clips(clip_starts, train.opening_frames), train.opening_share)

    def sample(generator: torch.Generator, rank: int, world_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        picks = torch.tensor(sample_indices(len(starts), train.dynamics.batch_size, generator, rank, world_size,
                                            weights), device=tokens.device)
        index = starts[picks, None] + offsets  # (B, T)
        return tokens[index].long(), actions[index[:, :-1]]

    return Stage("dynamics", dynamics, dynamics.training_loss, sample, steps)


def opening_clips(clip_starts: np.ndarray, frames: int) -> np.ndarray:
    """(C,) bool: the clips that begin within `frames` frames of their sequence's first frame. A sequence's
    clip starts are consecutive and the next sequence's lie a whole clip further on (clips are >= 2 frames),
    so a step other than 1 marks a new sequence."""
    position = np.arange(len(clip_starts))
    new_sequence = np.ones(len(clip_starts), bool)
    new_sequence[1:] = np.diff(clip_starts) != 1
    first = np.maximum.accumulate(np.where(new_sequence, position, 0))  # (C,) index of its sequence's first clip
    return position - first < frames


def clip_weights(favoured: np.ndarray, share: float) -> torch.Tensor:
    """(C,) draw weights that give the `favoured` clips `share` of the draws, alike among themselves, and the
    rest the remainder (all to the favoured when there is no rest)."""
    chosen = int(favoured.sum())
    rest = len(favoured) - chosen
    if rest == 0:
        return torch.ones(len(favoured), dtype=torch.float64)
    return torch.from_numpy(np.where(favoured, share / chosen, (1 - share) / rest))
