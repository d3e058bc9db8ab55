"""The world bundle format: save -> load round trip, and one clear UserError naming the file and the
field for every kind of broken world.json."""

import json

import numpy as np
import pytest
import torch

from nanogenie.cli import main
from nanogenie.config import preset
from nanogenie.errors import UserError
from nanogenie.world import BUNDLE_FORMAT, build_models, load_world
from world_helpers import save_random_world


@pytest.fixture
def bundle(tmp_path):
    torch.manual_seed(0)
    config = preset("tiny")
    prompt = np.zeros((4, 16, 16, 3), np.uint8)
    return save_random_world(tmp_path / "w", config, prompt, fps=12, action_names=["idle", "up"])


def _edit(bundle, change):
    meta_path = bundle / "world.json"
    meta = json.loads(meta_path.read_text())
    meta = change(meta)
    meta_path.write_text(json.dumps(meta))


def test_round_trip(bundle):
    world = load_world(bundle)
    assert world.fps == 12 and world.action_names == ["idle", "up"] and world.num_actions == 4
    assert world.meta["format"] == BUNDLE_FORMAT and world.prompt.shape == (4, 16, 16, 3)


def test_round_trip_of_a_channels_dynamics(tmp_path):
    torch.manual_seed(0)
    config = preset("tiny")
    config.dynamics.output, config.dynamics.decode = "channels", "expected"
    models = build_models(config)
    path = save_random_world(tmp_path / "w", config, np.zeros((2, 16, 16, 3), np.uint8), models=models)
    world = load_world(path)
    assert world.config == config and world.dynamics.head.out_features == sum(config.tokenizer.levels)
    loaded = world.dynamics.state_dict()
    assert all(torch.equal(loaded[k], v.half().float()) for k, v in models[2].state_dict().items())  # stored fp16
    tokens = torch.randint(0, config.dynamics.vocab_size, (1, 2, config.dynamics.tokens_per_frame))
    log_probs = world.dynamics(tokens, torch.zeros(1, 1, dtype=torch.long))
    assert torch.allclose(log_probs.logsumexp(-1), torch.zeros(1, 2, config.dynamics.tokens_per_frame), atol=1e-5)


def _set(path, value):
    def change(meta):
        node = meta
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return meta
    return change


@pytest.mark.parametrize("change, message", [
    (lambda meta: [meta], "must hold a JSON object"),
    (_set(["config"], None), "`config` must be an object"),
    (lambda meta: {k: v for k, v in meta.items() if k != "config"}, "`config` must be an object"),
    (_set(["config", "dynamics"], [1, 2]), "section 'dynamics' must be an object"),
    (_set(["config", "tokenizer", "width"], "abc"), "tokenizer.width must be int"),
    (_set(["config", "tokenizer", "heads"], 0), "heads must be >= 1"),
    (_set(["config", "tokenizer", "levels"], [0]), "levels must be a non-empty list"),
    (_set(["config", "dynamics", "context_frames"], 0), "context_frames must be from 1 to 256"),
    (_set(["fps"], "fast"), "fps must be a whole number"),
    (_set(["format"], 1), "bundle format 1"),
])
def test_broken_world_json_is_one_line_naming_the_file(bundle, change, message):
    _edit(bundle, change)
    with pytest.raises(UserError, match=message) as caught:
        load_world(bundle)
    assert str(bundle / "world.json") in str(caught.value) and "\n" not in str(caught.value)


def test_broken_world_json_exits_2_in_eval(bundle, capsys):
    _edit(bundle, _set(["config", "tokenizer", "width"], "abc"))
    assert main(["eval", "--world", str(bundle), "--device", "cpu"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("nanogenie: error")]
    assert len(errors) == 1 and "tokenizer.width" in errors[0]  # one line (after the resolved path), no traceback
