import json

import pytest

from nanogenie.config import PRESETS, WorldConfig, preset
from nanogenie.errors import UserError


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_json_round_trip(name):
    cfg = preset(name)
    again = WorldConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_dynamics_sizes_follow_tokenizer_and_lam(name):
    cfg = preset(name)
    assert cfg.dynamics.vocab_size == cfg.tokenizer.codebook_size
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


def test_bundles_written_before_per_stage_clips_and_lam_history_still_load():
    old = preset("cpu").to_dict()
    for stage in ("tokenizer", "lam", "dynamics"):
        del old["train"][f"{stage}_clip_frames"], old["train"][f"{stage}_batch_size"]
    old["train"].update(clip_frames=12, batch_size=6)
    del old["lam"]["decoder_history"], old["tokenizer"]["encoder_temporal"]
    cfg = WorldConfig.from_dict(old)
    assert [cfg.train.clip_frames(s) for s in ("tokenizer", "lam", "dynamics")] == [12, 12, 12]
    assert [cfg.train.batch_size(s) for s in ("tokenizer", "lam", "dynamics")] == [6, 6, 6]
    assert cfg.lam.decoder_history is False and cfg.tokenizer.encoder_temporal is True  # what those bundles had
