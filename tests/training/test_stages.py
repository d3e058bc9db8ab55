from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nanogenie.config import preset, with_overrides
from nanogenie.data import VideoData
from nanogenie.training.loop import sample_indices
from nanogenie.training.stages import (_windows, apply_in_windows, clip_weights, dynamics_stage, opening_clips,
                                      sequences)


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


def _tiny_precompute(dist=None):
    """Tokens, actions and clip starts of 300 sonic frames in 3 sequences at the tiny preset, seeded random
    weights."""
    from nanogenie.config import preset
    from nanogenie.data.simulated import simulated_data
    from nanogenie.training.stages import precompute_tokens_and_actions
    from nanogenie.world import build_models

    config = preset("tiny")
    config.train.dynamics.clip_frames = 4
    data = simulated_data("sonic", 300, config.tokenizer.image_size, seed=3)
    torch.manual_seed(0)
    tokenizer, lam, _ = build_models(config)
    return precompute_tokens_and_actions(tokenizer, lam, data, [(0, 100), (100, 220), (220, 300)], config, "cpu", dist)


def _precompute_as_rank(rank: int, port: int, out: str) -> None:
    import os

    from nanogenie.training.distributed import setup_distributed

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    torch.set_num_threads(1)
    dist = setup_distributed("cpu")
    tokens, actions, starts = _tiny_precompute(dist)
    torch.save({"tokens": tokens, "actions": actions, "starts": torch.from_numpy(starts)}, f"{out}.{rank}")
    dist.close()


@pytest.mark.slow
def test_two_ranks_precompute_what_one_process_does(tmp_path):
    import torch.multiprocessing as mp

    from nanogenie.training.distributed import free_port

    out = str(tmp_path / "shares")
    mp.spawn(_precompute_as_rank, args=(free_port(), out), nprocs=2, join=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same kernels as the ranks
    try:
        tokens, actions, starts = _tiny_precompute()
    finally:
        torch.set_num_threads(threads)
    for rank in (0, 1):
        got = torch.load(f"{out}.{rank}")
        assert torch.equal(got["tokens"], tokens) and torch.equal(got["actions"], actions)
        assert got["starts"].tolist() == starts.tolist()


def test_openings_are_the_first_clips_of_each_sequence():
    # three sequences' clip starts as precompute lays them out: consecutive, then a clip's length further on
    starts = np.concatenate([np.arange(0, 10), np.arange(25, 27), np.arange(40, 60)])
    opening = opening_clips(starts, 3)
    assert opening.tolist() == [True] * 3 + [False] * 7 + [True] * 2 + [True] * 3 + [False] * 17


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_clip_weights_give_the_openings_their_share_of_the_draws(share):
    opening = opening_clips(np.concatenate([np.arange(0, 100), np.arange(200, 300)]), 10)
    weights = clip_weights(opening, share)
    assert weights[opening].sum().item() == pytest.approx(share)
    picks = sample_indices(len(weights), 4000, torch.Generator().manual_seed(0), 0, 1, weights)
    assert np.mean(opening[picks]) == pytest.approx(share, abs=0.03)


def test_clip_weights_with_nothing_but_openings_draw_them_all():
    assert torch.equal(clip_weights(np.ones(5, bool), 0.3), torch.ones(5, dtype=torch.float64))


def test_dynamics_batches_with_the_whole_share_on_openings_start_at_an_episode_start():
    config = with_overrides(preset("tiny"), ["train.opening_share=1.0", "train.opening_frames=1"])
    clip = config.train.dynamics.clip_frames
    lengths = [clip + 5, clip + 30, clip]  # three sequences back to back, as precompute lays them out
    firsts = np.cumsum([0, *lengths[:-1]])
    starts = np.concatenate([first + np.arange(n - clip + 1) for first, n in zip(firsts, lengths)])
    tokens = torch.arange(sum(lengths))[:, None].repeat(1, 4)  # (N, P): each frame's tokens name its index
    actions = torch.zeros(sum(lengths), dtype=torch.long)
    stage = dynamics_stage(SimpleNamespace(training_loss=None), tokens, actions, starts, config, steps=1)
    for seed in range(5):
        batch, _ = stage.sample(torch.Generator().manual_seed(seed), 0, 1)  # (B, T, P)
        assert set(batch[:, 0, 0].tolist()) <= set(firsts.tolist())


def test_each_stage_learns_from_the_training_spans_within_its_own_frames():
    from nanogenie.training.commands import _stage_spans

    config = with_overrides(preset("tiny"), ["train.lam.frames=150", "train.lam_inverse.frames=50"])
    run = SimpleNamespace(splits={"train": [(0, 100), (120, 200), (200, 260)], "test": [(100, 120)]})
    assert _stage_spans(run, config, "tokenizer") == run.splits["train"]
    assert _stage_spans(run, config, "lam") == [(0, 100), (120, 150)]
    assert _stage_spans(run, config, "lam_inverse") == [(0, 50)]
