import numpy as np
import pytest
import torch

from nanogenie.data import VideoData
from nanogenie.training.stages import _windows, apply_in_windows, sequences


@pytest.mark.parametrize("length,window,stride", [(10, 4, 4), (10, 4, 3), (4, 4, 3), (17, 5, 4)])
def test_windows_cover_every_position(length, window, stride):
    starts = _windows(length, window, stride)
    covered = set()
    for s in starts:
        assert 0 <= s and s + window <= length
        covered.update(range(s, s + window))
    assert covered == set(range(length))
    # consecutive windows share at least window - stride frames, so stride window-1 labels every transition
    assert all(b - a <= stride for a, b in zip(starts, starts[1:]))


def _numbered_video(n: int) -> VideoData:
    frames = np.zeros((n, 4, 4, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(n)  # the frame's own index, readable back from the pixels
    return VideoData(frames, None, np.array([n]))


def _frame_ids(frames: torch.Tensor) -> torch.Tensor:
    return ((frames[:, :, 0, 0, 0] + 1) * 127.5).round().long()  # (B, T)


def test_apply_in_windows_puts_each_output_at_its_frame():
    video = _numbered_video(40)
    seqs = sequences([(0, 23), (23, 40)], frame_skip=2, min_frames=4)
    assert [len(s) for s in seqs] == [12, 11, 9, 8]
    per_frame = apply_in_windows(_frame_ids, video, seqs, window=4, stride=4, device="cpu", amp=False)
    transitions = apply_in_windows(lambda f: _frame_ids(f)[:, :-1], video, seqs, 4, 3, "cpu", False)
    for index, ids, trans in zip(seqs, per_frame, transitions):
        assert ids.tolist() == index.tolist()
        assert trans.tolist() == index[:-1].tolist()  # one label per transition, from its first frame
