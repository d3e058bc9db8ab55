import numpy as np
import pytest
import torch

from nanogenie.data import ClipDataset
from nanogenie.errors import UserError

from .conftest import frame_index, make_data


def _indices(clip):
    """Frame indices of a clip, read back from the pixels (undoing the [-1, 1] scaling)."""
    pixels = ((clip["frames"] + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [frame_index(p) for p in pixels]


def test_clip_values_shapes_and_scaling():
    data = make_data([50])
    dataset = ClipDataset(data, [(0, 50)], clip_frames=4)
    clip = dataset[7]
    assert clip["frames"].shape == (4, 3, 8, 8) and clip["frames"].dtype == torch.float32
    assert clip["actions"].shape == (3,) and clip["actions"].dtype == torch.int64
    expected = torch.from_numpy(data.frames[7:11]).permute(0, 3, 1, 2).float() / 127.5 - 1
    torch.testing.assert_close(clip["frames"], expected)
    assert clip["frames"].min() >= -1 and clip["frames"].max() <= 1
    assert clip["actions"].tolist() == [7 % 3, 8 % 3, 9 % 3]


def test_clips_never_cross_episode_ends_or_leave_spans():
    data = make_data([30, 45, 100])
    spans = [(0, 45), (60, 100)]  # the first span holds an episode end at 30
    dataset = ClipDataset(data, spans, clip_frames=5)
    # starts per piece: (0,30) -> 26, (30,45) -> 11, (60,100) -> 36
    assert len(dataset) == 26 + 11 + 36
    episode_of = np.searchsorted(data.episode_ends, np.arange(100), side="right")
    for i in range(len(dataset)):
        index = _indices(dataset[i])
        assert index == list(range(index[0], index[0] + 5))
        assert episode_of[index[0]] == episode_of[index[-1]]
        assert any(a <= index[0] and index[-1] < b for a, b in spans)
        assert -1 not in dataset[i]["actions"].tolist()  # an episode's last frame is never a clip's inner frame


def test_frame_skip_uses_action_at_earlier_frame():
    data = make_data([40])
    dataset = ClipDataset(data, [(0, 40)], clip_frames=3, frame_skip=4)
    assert len(dataset) == 40 - 8  # a clip reaches from its first frame to 8 frames later
    clip = dataset[5]
    assert _indices(clip) == [5, 9, 13]
    assert clip["actions"].tolist() == [5 % 3, 9 % 3]


def test_missing_actions_are_minus_one():
    dataset = ClipDataset(make_data([20], with_actions=False), [(0, 20)], clip_frames=6)
    assert dataset[0]["actions"].tolist() == [-1] * 5


def test_clip_longer_than_every_episode_is_a_user_error():
    data = make_data([10, 22, 30])
    with pytest.raises(UserError, match=r"clip of 13 frames \(skip 1\) is longer than every episode \(longest 12\)"):
        ClipDataset(data, [(0, 30)], clip_frames=13)
    with pytest.raises(UserError, match=r"skip 2"):
        ClipDataset(data, [(0, 30)], clip_frames=7, frame_skip=2)
    assert len(ClipDataset(data, [(0, 30)], clip_frames=12)) == 1


def test_pixels_round_trip_between_stored_and_model_form():
    from nanogenie.data.pixels import to_model, to_stored

    stored = np.random.default_rng(0).integers(0, 256, (2, 5, 4, 4, 3), dtype=np.uint8)  # (B, T, H, W, 3)
    model = to_model(stored)
    assert model.shape == (2, 5, 3, 4, 4) and model.min() >= -1 and model.max() <= 1
    assert np.array_equal(to_stored(model).numpy(), stored)
    assert to_stored(torch.full((3, 1, 1), 7.0)).flatten().tolist() == [255, 255, 255]  # clipped
