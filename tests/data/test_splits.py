import numpy as np
import pytest

from nanogenie.data import split_spans
from nanogenie.data.splits import within_first
from nanogenie.errors import UserError

from .conftest import make_data


def _frames_of(spans):
    return np.concatenate([np.arange(a, b) for a, b in spans]) if spans else np.array([], int)


def _check_partition(data, splits):
    """Every frame in exactly one split; no span crosses an episode end."""
    covered = np.concatenate([_frames_of(splits[name]) for name in ("train", "val", "test")])
    np.testing.assert_array_equal(np.sort(covered), np.arange(len(data)))
    episode_of = np.searchsorted(data.episode_ends, np.arange(len(data)), side="right")
    for spans in splits.values():
        for a, b in spans:
            assert a < b and episode_of[a] == episode_of[b - 1], (a, b)


def test_many_episodes_split_into_whole_episodes():
    ends = np.cumsum(np.arange(20, 60, 2))  # 20 episodes of different lengths
    data = make_data(ends.tolist())
    splits = split_spans(data, 0.1, 0.2, seed=3)
    _check_partition(data, splits)
    episodes = set(data.episodes())
    assert all(set(spans) <= episodes for spans in splits.values())
    assert [len(splits[k]) for k in ("train", "val", "test")] == [14, 2, 4]
    assert split_spans(data, 0.1, 0.2, seed=3) == splits
    assert split_spans(data, 0.1, 0.2, seed=4) != splits


def test_single_episode_is_cut_into_time_blocks():
    data = make_data([1000], with_actions=False)
    splits = split_spans(data, 0.1, 0.1, seed=0)
    _check_partition(data, splits)
    assert all(splits[k] for k in ("train", "val", "test"))
    val_share = len(_frames_of(splits["val"])) / len(data)
    assert 0.05 <= val_share <= 0.2
    assert split_spans(data, 0.1, 0.1, seed=1) != splits  # blocks are dealt at random, per seed


def test_few_episodes_fall_back_to_blocks_cut_at_episode_ends():
    data = make_data([300, 500, 1000])  # 3 episodes: a whole one for val would be a third of the data
    splits = split_spans(data, 0.1, 0.1)
    _check_partition(data, splits)
    assert all(splits[k] for k in ("train", "val", "test"))
    assert len(_frames_of(splits["val"])) < 300


def test_zero_fractions_give_everything_to_train():
    data = make_data([40, 100])
    assert split_spans(data, 0.0, 0.0) == {"train": [(0, 40), (40, 100)], "val": [], "test": []}


@pytest.mark.parametrize("val, test", [(-0.1, 0.1), (1.0, 0.0), (0.5, 0.5)])
def test_bad_fractions_are_user_errors(val, test):
    with pytest.raises(UserError, match="fraction"):
        split_spans(make_data([100]), val, test)


def test_too_few_frames_to_split():
    with pytest.raises(UserError, match="too few"):
        split_spans(make_data([2]), 0.2, 0.2)


def test_within_first_keeps_the_spans_before_a_frame_and_cuts_the_one_across_it():
    spans = [(0, 40), (60, 100), (100, 130), (150, 200)]
    assert within_first(spans, 110) == [(0, 40), (60, 100), (100, 110)]
    assert within_first(spans, 60) == [(0, 40)]  # a span that starts at the limit is left out whole
    assert within_first(spans, None) == spans
