"""Small datasets whose frames say their own index, so tests can check exactly which frames came back."""

import numpy as np
import pytest

from nanogenie.data import VideoData, write_dataset


def indexed_frames(num_frames: int, size: int = 8) -> np.ndarray:
    """(N, size, size, 3) uint8; pixel (0, 0) holds the frame index as (i % 256, i // 256, 7)."""
    rng = np.random.default_rng(num_frames)
    frames = rng.integers(0, 256, (num_frames, size, size, 3), dtype=np.uint8)
    index = np.arange(num_frames)
    frames[:, 0, 0] = np.stack([index % 256, index // 256, np.full(num_frames, 7)], axis=1)
    return frames


def frame_index(frame: np.ndarray) -> int:
    """Inverse of indexed_frames for one (H, W, 3) uint8 frame."""
    return int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])


def make_data(episode_ends: list[int], with_actions: bool = True, size: int = 8) -> VideoData:
    """In-memory data; action after frame i is i % 3, -1 on each episode's last frame."""
    num_frames = episode_ends[-1]
    actions = None
    if with_actions:
        actions = (np.arange(num_frames) % 3).astype(np.int16)
        actions[np.array(episode_ends) - 1] = -1
    return VideoData(indexed_frames(num_frames, size), actions, np.array(episode_ends, dtype=np.int64), 10, "test",
                     ["idle", "left", "right"] if with_actions else [])


@pytest.fixture
def small_h5(tmp_path):
    """A 300-frame, 3-episode file with actions, written by the real writer."""
    data = make_data([100, 180, 300])
    path = tmp_path / "small.h5"
    write_dataset(path, data.frames, data.actions, data.episode_ends, fps=12, source="unit test",
                  action_names=data.action_names)
    return path, data
