import pytest
import torch

from nanogenie.config import preset
from nanogenie.data.simulated import simulated_data
from nanogenie.training.distributed import Distributed
from nanogenie.training.stages import precompute_tokens_and_actions
from nanogenie.training import token_cache
from nanogenie.world import build_models

SPANS = [(0, 60), (60, 120)]


def _setup():
    config = preset("tiny")
    config.train.dynamics.clip_frames = 4
    data = simulated_data("pong", 120, config.tokenizer.image_size, seed=3)
    torch.manual_seed(0)
    tokenizer, lam, _ = build_models(config)
    return config, data, tokenizer, lam


@pytest.fixture
def calls(monkeypatch):
    """How many times the dynamics inputs were computed rather than read."""
    counted = []

    def counting(*args):
        counted.append(1)
        return precompute_tokens_and_actions(*args)

    monkeypatch.setattr(token_cache, "precompute_tokens_and_actions", counting)
    return counted


def _inputs(path, config, data, tokenizer, lam):
    return token_cache.dynamics_inputs(path, tokenizer, lam, data, SPANS, config, "cpu", Distributed())


def _same(a, b):
    return torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and (a[2] == b[2]).all()


def test_a_second_stage_reads_what_the_first_computed(tmp_path, calls):
    config, data, tokenizer, lam = _setup()
    path = tmp_path / "dynamics_inputs.npz"
    first = _inputs(path, config, data, tokenizer, lam)
    assert path.is_file() and len(calls) == 1
    again = _inputs(path, config, data, tokenizer, lam)
    assert len(calls) == 1, "the saved arrays were computed again"
    assert _same(first, again) and again[0].dtype == first[0].dtype
    assert _same(first, precompute_tokens_and_actions(tokenizer, lam, data, SPANS, config, "cpu"))


def test_other_weights_a_config_field_or_a_broken_file_compute_afresh(tmp_path, calls):
    config, data, tokenizer, lam = _setup()
    path = tmp_path / "dynamics_inputs.npz"
    _inputs(path, config, data, tokenizer, lam)
    with torch.no_grad():
        next(lam.parameters()).add_(0.5)  # a retrained LAM labels the frames otherwise
    relabelled = _inputs(path, config, data, tokenizer, lam)
    assert len(calls) == 2
    assert _same(relabelled, precompute_tokens_and_actions(tokenizer, lam, data, SPANS, config, "cpu"))
    config.lam.align_shift += 1  # same weights, but the labels depend on it
    _inputs(path, config, data, tokenizer, lam)
    assert len(calls) == 3
    path.write_bytes(b"half a file")
    _inputs(path, config, data, tokenizer, lam)
    assert len(calls) == 4
    _inputs(path, config, data, tokenizer, lam)
    assert len(calls) == 4, "the file written after the broken one was not read"
