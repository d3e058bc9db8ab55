import dataclasses

import numpy as np
import pytest
import torch

from nanogenie.config import preset
from nanogenie.data.pixels import to_stored
from nanogenie.errors import UserError
from nanogenie.models.generate import FrameGenerator
from nanogenie.play import engine as engine_module
from nanogenie.play.engine import Engine
from nanogenie.world import build_models, load_world
from world_helpers import save_random_world


def _bundle(tmp_path, decoder_temporal=False, prompt_frames=3, conv_channels=(), output="joint", codes="table"):
    torch.manual_seed(0)
    config = preset("tiny")
    config.tokenizer = dataclasses.replace(config.tokenizer, decoder_temporal=decoder_temporal,
                                           conv_channels=list(conv_channels))
    config.dynamics.output, config.dynamics.codes = output, codes
    tokenizer, lam, dynamics = build_models(config)
    with torch.no_grad():  # trained-like: actions matter, logits peaked enough for varied samples
        for block in dynamics.transformer.blocks:
            block.adaln.weight.normal_(std=0.1)
        (dynamics.head_codes.digit_vectors if codes == "digits" else dynamics.head.weight).mul_(4)
    prompt = np.random.default_rng(0).integers(0, 256, (prompt_frames, 16, 16, 3), dtype=np.uint8)
    path = save_random_world(tmp_path / "tiny_world", config, prompt, models=(tokenizer, lam, dynamics), fps=10)
    return load_world(path)


def _play(engine, actions):
    return [engine.step(a) for a in actions]


@pytest.mark.parametrize("decoder_temporal", [False, True])
def test_reset_and_step_shapes(tmp_path, decoder_temporal, capsys):
    world = _bundle(tmp_path, decoder_temporal)
    engine = Engine(world, device="auto", seed=3)
    assert capsys.readouterr().out == ""  # the engine prints nothing; commands say what they chose
    assert engine.device == engine.device_name == "cpu" and engine.num_actions == 4 and engine.fps == 10 and engine.frame_size == 16
    first = engine.reset()
    assert first.shape == (16, 16, 3) and first.dtype == np.uint8 and np.array_equal(first, world.prompt[-1])
    frame = engine.step(1)
    assert frame.shape == (16, 16, 3) and frame.dtype == np.uint8
    assert engine.last_ms > 0


def test_same_seed_same_frames_across_resets_and_engines(tmp_path):
    world = _bundle(tmp_path)
    actions = [0, 1, 3, 3, 2, 0, 1, 1, 2, 3]  # past the 4-frame context
    engine = Engine(world, device="cpu", seed=7)
    first = _play(engine, actions)
    engine.reset()
    again = _play(engine, actions)
    other = _play(Engine(world, device="cpu", seed=7), actions)
    assert all(np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(first, again, other))
    reseeded = _play(Engine(world, device="cpu", seed=8), actions)
    assert not all(np.array_equal(a, b) for a, b in zip(first, reseeded))
    engine.reset()
    different_actions = _play(engine, [3 - a for a in actions])
    assert not all(np.array_equal(a, b) for a, b in zip(first, different_actions))


@pytest.mark.parametrize("output, codes", [("joint", "table"), ("channels", "table"), ("joint", "digits")])
def test_engine_frames_equal_the_uncached_reference(tmp_path, output, codes):
    """The engine's KV-cached frames are those of FrameGenerator's reference path, which recomputes the
    whole context at every MaskGIT pass, fed the same noise and decoded by the world's tokenizer."""
    world = _bundle(tmp_path, output=output, codes=codes)
    actions = [0, 1, 3, 3, 2, 0, 1, 1, 2, 3]  # past the 4-frame context
    engine = Engine(world, device="cpu", seed=7)
    played = _play(engine, actions)
    cfg = world.config.dynamics
    reference = FrameGenerator(world.dynamics, cfg.maskgit_steps, cfg.temperature, use_cache=False)
    reference.reset(engine._prompt_tokens, engine._prompt_actions)
    rng = torch.Generator().manual_seed(7)
    for action, frame in zip(actions, played):
        tokens = reference.step(torch.tensor([action]), rng)
        assert np.array_equal(to_stored(world.tokenizer.decode_step(tokens)[0]).numpy(), frame)


def test_expected_decoding_changes_the_picture_only(tmp_path):
    """decode "expected": the frames shown differ, the model's history (the KV cache) does not; and a model
    sure of every token shows exactly its tokens."""
    world = _bundle(tmp_path)
    actions = [0, 1, 3, 3, 2, 0]
    sampled, expected = Engine(world, device="cpu", seed=7), Engine(world, device="cpu", seed=7, decode="expected")
    assert expected.decode == "expected" and sampled.decode == world.config.dynamics.decode == "sampled"
    shown = _play(sampled, actions), _play(expected, actions)
    assert not all(np.array_equal(a, b) for a, b in zip(*shown))
    assert all(torch.equal(a, b) for a, b in zip(sampled.generator.cache.keys, expected.generator.cache.keys))
    with torch.no_grad():  # every token code 5 with probability 1 (in fp32)
        world.dynamics.head.weight.zero_()
        world.dynamics.head.bias.fill_(-200.0)[5] = 0.0
    sure = Engine(world, device="cpu", seed=7), Engine(world, device="cpu", seed=7, decode="expected")
    assert all(np.array_equal(a, b) for a, b in zip(_play(sure[0], actions), _play(sure[1], actions)))
    with pytest.raises(UserError, match="decode must be"):
        Engine(world, device="cpu", decode="mean")


# The compiled decoder with and without its cache, and with the convolutional pixel head; the channel
# heads' log-probabilities compiled into the dynamics' pass, with the picture drawn from expected codes;
# code vectors built from their digits.
@pytest.mark.parametrize("decoder_temporal, conv_channels, output, decode, codes", [
    (False, [], "joint", "sampled", "table"), (True, [], "joint", "sampled", "table"),
    (False, [4, 8], "joint", "sampled", "table"), (False, [], "channels", "expected", "table"),
    (False, [], "joint", "sampled", "digits")])
def test_compiled_engine_equals_eager(tmp_path, decoder_temporal, conv_channels, output, decode, codes):
    world = _bundle(tmp_path, decoder_temporal, conv_channels=conv_channels, output=output, codes=codes)
    actions = [0, 1, 3, 3, 2, 0, 1, 1, 2, 3]  # past the 4-frame context: the ring cache wraps
    eager = _play(Engine(world, device="cpu", seed=7, decode=decode), actions)
    compiled = Engine(world, device="cpu", seed=7, compile=True, decode=decode)
    _assert_same_frames(eager, _play(compiled, actions))
    compiled.reset()
    _assert_same_frames(eager, _play(compiled, actions))  # and after a reset


def _assert_same_frames(eager: list, compiled: list) -> None:
    """The same frames, up to float rounding: inductor fuses the pixel head's ops, so a colour that lands on
    a quantisation boundary may round one 8-bit level the other way. A different token would change a whole
    patch by many levels, which this still catches."""
    for a, b in zip(eager, compiled):
        diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (diff.max(), (diff > 0).sum())


@pytest.mark.parametrize("action", [-1, 4, 100, 1.5, True, "2"])
def test_out_of_range_action_is_a_user_error(tmp_path, action):
    engine = Engine(_bundle(tmp_path), device="cpu")
    with pytest.raises(UserError, match="out of range"):
        engine.step(action)
    engine.step(np.int64(3))  # numpy ints are fine


def test_bad_choices_are_user_errors(tmp_path):
    world = _bundle(tmp_path)
    with pytest.raises(UserError, match="device"):
        Engine(world, device="tpu")
    with pytest.raises(UserError, match="MaskGIT steps"):
        Engine(world, device="cpu", maskgit_steps=0)
    with pytest.raises(UserError, match="temperature"):
        Engine(world, device="cpu", temperature=-1.0)


@pytest.mark.parametrize("decoder_temporal", [False, True])
def test_state_is_flat_past_the_context(tmp_path, decoder_temporal):
    engine = Engine(_bundle(tmp_path, decoder_temporal), device="cpu")
    caches = [c for c in (engine.generator.cache, engine.decoder_cache) if c is not None]
    layout = [(t.data_ptr(), t.shape) for c in caches for t in (*c.keys, *c.values)]
    for i in range(40):  # 10x the 4-frame context
        engine.step(i % engine.num_actions)
    assert [(t.data_ptr(), t.shape) for c in caches for t in (*c.keys, *c.values)] == layout
    assert engine.generator.cache.position.item() == 3 + 40
    engine.reset()
    assert [(t.data_ptr(), t.shape) for c in caches for t in (*c.keys, *c.values)] == layout


def test_single_frame_prompt_and_world_models_left_untouched(tmp_path):
    world = _bundle(tmp_path, prompt_frames=1)
    weights = world.dynamics.head.weight.clone()
    engine = Engine(world, device="cpu")
    assert engine.step(0).shape == (16, 16, 3)
    assert torch.equal(world.dynamics.head.weight, weights) and world.dynamics.head.weight.dtype == torch.float32


@pytest.mark.parametrize("output, codes", [("joint", "table"), ("channels", "table"), ("joint", "digits")])
def test_bf16_models_run(tmp_path, monkeypatch, output, codes):
    """The CUDA path's bf16 models, exercised here on CPU: frames come out sane and deterministic."""
    monkeypatch.setattr(engine_module, "model_dtype", lambda device: torch.bfloat16)
    world = _bundle(tmp_path, output=output, codes=codes)
    engine = Engine(world, device="cpu")
    assert engine.dynamics.pos.dtype == torch.bfloat16
    assert engine.generator.cache.keys[0].dtype == torch.bfloat16
    frames = _play(engine, [0, 1, 2, 3, 0, 1])
    engine.reset()
    assert all(np.array_equal(a, b) for a, b in zip(frames, _play(engine, [0, 1, 2, 3, 0, 1])))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("decoder_temporal, output, decode, codes", [
    (False, "joint", "sampled", "table"), (True, "joint", "sampled", "table"),
    (False, "channels", "expected", "table"), (False, "joint", "sampled", "digits")])
def test_cuda_graph_equals_eager(tmp_path, decoder_temporal, output, decode, codes):
    world = _bundle(tmp_path, decoder_temporal, output=output, codes=codes)
    actions = [i * 7 % 4 for i in range(20)]
    graph = Engine(world, device="cuda", seed=5, decode=decode)
    eager = Engine(world, device="cuda", seed=5, decode=decode)
    eager.use_cuda_graph = False
    graph_frames, eager_frames = _play(graph, actions), _play(eager, actions)
    assert graph._graph is not None
    assert all(np.array_equal(a, b) for a, b in zip(graph_frames, eager_frames))
    graph.reset()
    eager.reset()
    assert all(np.array_equal(a, b) for a, b in zip(_play(graph, actions), _play(eager, actions)))


def test_play_leaves_a_core_for_the_app(monkeypatch):
    import os

    import torch

    from nanogenie.play.engine import use_play_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.setattr(os, "cpu_count", lambda: 4)
        assert use_play_threads() == 3
        monkeypatch.setattr(os, "cpu_count", lambda: 1)
        assert use_play_threads() == 1
        torch.set_num_threads(2)
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert use_play_threads() == 2  # the user's choice wins
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("decoder_temporal, decode", [(False, "sampled"), (True, "sampled"), (False, "expected")])
def test_explore_leaves_the_live_game_unchanged_and_each_row_is_holding_its_action(tmp_path, decoder_temporal, decode):
    world = _bundle(tmp_path, decoder_temporal)
    engine = Engine(world, device="cpu", seed=3, decode=decode)
    before, after = [1, 2, 3], [0, 1, 2, 3, 0, 1]  # past the 4-frame context
    _play(engine, before)
    futures = engine.explore(frames=4)
    explored = _play(engine, after)
    engine.reset()
    _play(engine, before)
    assert all(np.array_equal(a, b) for a, b in zip(explored, _play(engine, after)))  # as if never explored
    assert futures.shape == (4, 4, 16, 16, 3) and futures.dtype == np.uint8
    engine.reset()
    _play(engine, before)
    held = _play(engine, [2] * 4)  # what holding 2 from that state shows: row 2
    assert all(np.array_equal(futures[2, t], held[t]) for t in range(4))
    assert not all(np.array_equal(futures[0], futures[a]) for a in range(1, 4))  # the codes differ
    with pytest.raises(UserError):
        engine.explore(frames=2, actions=[4])


def test_a_key_that_owns_several_codes_plays_the_one_the_lam_reads_from_the_last_frame(tmp_path):
    world = _bundle(tmp_path)
    engine = Engine(world, device="cpu", seed=2)
    frames = [*world.prompt[-2:], *_play(engine, [1, 2, 3])]
    read = int(world.lam.infer_actions(torch.from_numpy(np.stack(frames[-3:])).permute(0, 3, 1, 2)[None].float()
                                       / 127.5 - 1)[0, -1])
    others = [c for c in range(world.num_actions) if c != read]
    assert engine.code_for((others[0], read)) == read  # the world shows one of the key's codes: it plays on
    assert engine.code_for((others[1], others[0])) == others[1]  # none of them: the key's first
    assert engine.code_for((others[2],)) == others[2]
    engine.reset()  # back to the prompt's frames
    prompt_read = int(world.lam.infer_actions(torch.from_numpy(world.prompt[-3:]).permute(0, 3, 1, 2)[None].float()
                                              / 127.5 - 1)[0, -1])
    assert engine.code_for(((prompt_read + 1) % world.num_actions, prompt_read)) == prompt_read
