"""Training clips: T frames (every `frame_skip`-th) that lie wholly inside one span of one episode.

Shape legend: T clip frames, H height, W width.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from nanogenie.data.hdf5 import VideoData
from nanogenie.data.pixels import to_model
from nanogenie.data.splits import Span, cut_at_episode_ends
from nanogenie.errors import UserError


class ClipDataset(Dataset):
    """Every clip start inside the given spans; item i is one clip as model-ready tensors."""

    def __init__(self, data: VideoData, spans: list[Span], clip_frames: int, frame_skip: int = 1):
        if clip_frames < 1 or frame_skip < 1:
            raise UserError(f"clip_frames and frame_skip must be >= 1, got {clip_frames} and {frame_skip}")
        for start, end in spans:
            if not 0 <= start < end <= len(data):
                raise UserError(f"span ({start}, {end}) is outside the {len(data)} frames of {data.path or 'the data'}")
        self.data = data
        self.clip_frames = clip_frames
        self.frame_skip = frame_skip
        # Frames from a clip's first to its last frame; the last frame's own action is never needed.
        reach = (clip_frames - 1) * frame_skip + 1
        # Callers' spans are cut at episode ends again so no clip can cross one, whatever they pass.
        self.spans = cut_at_episode_ends(sorted(spans), data.episode_ends)
        longest = max((end - start for start, end in self.spans), default=0)
        if reach > longest:
            raise UserError(f"clip of {clip_frames} frames (skip {frame_skip}) is longer than every episode "
                            f"(longest {longest}); lower clip_frames or use longer episodes")
        starts = [np.arange(start, end - reach + 1) for start, end in self.spans if end - start >= reach]
        self.starts = np.concatenate(starts).astype(np.int64)  # (num_clips,) first frame of each clip
        self._offsets = np.arange(clip_frames) * frame_skip  # (T,)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        index = self.starts[i] + self._offsets  # (T,) frame indices
        frames = to_model(self.data.frames[index])  # (T, 3, H, W) in [-1, 1]
        if self.data.actions is None:
            actions = np.full(self.clip_frames - 1, -1, dtype=np.int64)
        else:
            # With frame_skip > 1 the action at the earlier frame stands for the whole gap.
            actions = self.data.actions[index[:-1]].astype(np.int64)  # (T-1,)
        return {"frames": frames, "actions": torch.from_numpy(actions)}
