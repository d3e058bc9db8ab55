import json

import pytest

from nanogenie.config import PRESETS, WorldConfig, preset, with_overrides
from nanogenie.errors import UserError


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_json_round_trip(name):
    cfg = preset(name)
    again = WorldConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_dynamics_sizes_follow_tokenizer_and_lam(name):
    cfg = preset(name)
    assert cfg.dynamics.vocab_size == cfg.tokenizer.codebook_size and cfg.dynamics.levels == cfg.tokenizer.levels
    assert cfg.dynamics.tokens_per_frame == cfg.tokenizer.tokens_per_frame
    assert cfg.dynamics.num_actions == cfg.lam.num_actions
    assert cfg.lam.image_size == cfg.tokenizer.image_size


def test_preset_at_other_frame_size_relinks():
    cfg = preset("cpu", image_size=32)
    assert cfg.tokenizer.image_size == 32 == cfg.lam.image_size
    assert cfg.dynamics.tokens_per_frame == (32 // cfg.tokenizer.patch_size) ** 2


def test_unknown_preset_and_bad_fields_are_user_errors():
    with pytest.raises(UserError, match="unknown preset"):
        preset("huge")
    with pytest.raises(UserError, match="unknown tokenizer config field"):
        WorldConfig.from_dict({"tokenizer": {"widht": 3}})
    with pytest.raises(UserError, match="multiple of patch_size"):
        preset("cpu", image_size=30)
    with pytest.raises(UserError, match="unknown train.lam config field"):
        WorldConfig.from_dict({"train": {"lam": {"steps": 5, "clip_frames": 3, "batch_size": 2, "lr_max": 1.0}}})
    with pytest.raises(UserError, match="must be an object"):
        WorldConfig.from_dict({"lam": [1, 2]})


def test_each_stage_has_its_own_config():
    train = preset("cpu").train
    assert train.stage("lam") is train.lam and train.lam.lr != train.tokenizer.lr
    with pytest.raises(UserError, match="unknown stage"):
        train.stage("vae")
    with pytest.raises(UserError, match="train.dynamics.steps must be from 1 to"):
        WorldConfig.from_dict({"train": {"dynamics": {"steps": 0, "clip_frames": 3, "batch_size": 2}}})


def test_lam_clips_must_hold_a_transition_and_its_history():
    cfg = preset("tiny").to_dict()
    cfg["lam"]["history_frames"] = 3  # the tiny preset's LAM clips have 3 frames: one transition of 2 + 1
    with pytest.raises(UserError, match="must exceed lam.history_frames"):
        WorldConfig.from_dict(cfg)


def test_moving_weight_needs_clips_of_two_frames():
    cfg = preset("tiny").to_dict()
    cfg["tokenizer"]["moving_weight"] = 4.0
    cfg["train"]["tokenizer"]["clip_frames"] = 1
    with pytest.raises(UserError, match="needs train.tokenizer.clip_frames >= 2"):
        WorldConfig.from_dict(cfg)
    cfg["tokenizer"]["moving_weight"] = 0.5
    with pytest.raises(UserError, match="moving_weight must be from 1 to"):
        WorldConfig.from_dict(cfg)


@pytest.mark.parametrize("section, field, value, message", [
    ("tokenizer", "width", "abc", "tokenizer.width must be int"),
    ("tokenizer", "heads", 0, "heads must be >= 1"),
    ("tokenizer", "levels", "abc", "tokenizer.levels must be list"),
    ("tokenizer", "levels", [0], "levels must be a non-empty list of numbers >= 2"),
    ("tokenizer", "conv_channels", [8], "conv_channels needs one positive width per halving"),  # patch 4: two
    ("tokenizer", "conv_channels", [8, 0], "conv_channels needs one positive width per halving"),
    ("tokenizer", "encoder", "mlp", "tokenizer encoder must be 'transformer' or 'local'"),
    ("dynamics", "context_frames", 0, "context_frames must be from 1 to 256"),
    ("dynamics", "temperature", "hot", "dynamics.temperature must be float"),
    ("dynamics", "min_p", 1.0, "dynamics min_p must be in"),
    ("dynamics", "output", "softmax", "dynamics output must be 'joint' or 'channels'"),
    ("dynamics", "codes", "hashed", "dynamics codes must be 'table' or 'digits'"),
    ("dynamics", "decode", "mean", "dynamics decode must be 'sampled' or 'expected'"),
    ("train", "action_figures_every", 0, "action_figures_every must be >= 1"),
    ("lam", "num_actions", 1.5, "lam.num_actions must be int"),
    ("lam", "align_shift", 4, "align_shift must be in"),
    ("lam", "effect", "warp", "lam effect must be 'add' or 'shift'"),
    ("lam", "max_shift", 0, "lam.max_shift must be from 1"),
    ("lam", "still_history", 1.5, "lam still_history must be a share in"),
    ("train", "seed", None, "train.seed must be int"),
])
def test_config_values_of_the_wrong_type_or_range_are_named(section, field, value, message):
    cfg = preset("tiny").to_dict()
    cfg[section][field] = value
    with pytest.raises(UserError, match=message.replace("[", r"\[")):
        WorldConfig.from_dict(cfg)


def test_set_changes_one_field_and_checks_it_like_a_world_json():
    cfg = with_overrides(preset("cpu"), ["dynamics.moving_weight=5", "train.dynamics.steps=3600",
                                         "tokenizer.levels=[8, 5, 5, 5]", "dynamics.output=channels"])
    assert cfg.dynamics.moving_weight == 5 and cfg.train.dynamics.steps == 3600 and cfg.dynamics.output == "channels"
    assert cfg.dynamics.vocab_size == 1000 and cfg.dynamics.levels == [8, 5, 5, 5]  # linked again after the change
    assert cfg.train.tokenizer == preset("cpu").train.tokenizer  # nothing else moved
    for bad, message in [("dynamics.moving_weight", "must look like section.field=value"),
                         ("dynamic.width=64", "no config section 'dynamic'"),
                         ("dynamics.widht=64", "no field 'widht' in dynamics"),
                         ("train.dynamics.steps=many", "train.dynamics.steps must be int"),
                         ("lam.width=0", "lam width 0 must be")]:
        with pytest.raises(UserError, match=message):
            with_overrides(preset("cpu"), [bad])


def test_a_local_encoder_must_be_per_frame():
    cfg = preset("tiny").to_dict()
    cfg["tokenizer"].update(encoder="local", encoder_temporal=True)
    with pytest.raises(UserError, match="set tokenizer.encoder_temporal=false"):
        WorldConfig.from_dict(cfg)
    cfg["tokenizer"]["encoder_temporal"] = False
    assert WorldConfig.from_dict(cfg).tokenizer.encoder == "local"
