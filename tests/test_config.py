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
