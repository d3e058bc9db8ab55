"""`nanogenie train --minutes M`: the stages' steps scaled by one factor from this machine's step times."""

import json

import pytest

from nanogenie.cli import main
from nanogenie.config import preset
from nanogenie.training.budget import budget_overrides, scaled_steps


def test_steps_keep_their_balance_and_fill_the_minutes():
    seconds = {"tokenizer": 0.2, "lam": 0.1, "lam_inverse": 0.05, "dynamics": 1.0}
    steps = {"tokenizer": 1000, "lam": 1000, "lam_inverse": 400, "dynamics": 600}
    scaled = scaled_steps(seconds, steps, minutes=10, beside=False)
    planned = sum(scaled[part] * seconds[part] for part in steps)
    assert planned == pytest.approx(600, rel=0.01)
    assert scaled["tokenizer"] / scaled["dynamics"] == pytest.approx(1000 / 600, rel=0.01)


def test_the_lam_beside_the_tokenizer_counts_only_the_longer_of_the_two():
    seconds = {"tokenizer": 0.2, "lam": 0.1, "lam_inverse": 0.05, "dynamics": 1.0}
    steps = {"tokenizer": 1000, "lam": 1000, "lam_inverse": 400, "dynamics": 600}
    scaled = scaled_steps(seconds, steps, minutes=10, beside=True)
    side_by_side = max(scaled["tokenizer"] * 0.2, scaled["lam"] * 0.1 + scaled["lam_inverse"] * 0.05)
    assert side_by_side + scaled["dynamics"] * 1.0 == pytest.approx(600, rel=0.01)
    assert scaled["tokenizer"] > scaled_steps(seconds, steps, minutes=10, beside=False)["tokenizer"]


def test_a_tiny_budget_still_trains_a_step():
    assert scaled_steps({"dynamics": 5.0}, {"dynamics": 100}, minutes=0.001, beside=False) == {"dynamics": 1}


def test_only_the_stages_that_run_are_timed_and_changed():
    config = preset("tiny")
    overrides, plan = budget_overrides(config, ["dynamics"], minutes=1, processes=1, beside=False)
    assert len(overrides) == 1 and overrides[0].startswith("train.dynamics.steps=")
    assert "dynamics" in plan and "tokenizer" not in plan
    overrides, _ = budget_overrides(config, ["lam"], minutes=1, processes=1, beside=False)
    assert [o.split("=")[0] for o in overrides] == ["train.lam.steps", "train.lam_inverse.steps"]


def test_a_run_records_the_steps_its_minutes_gave(tmp_path, capsys):
    out = tmp_path / "w"
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--stage", "tokenizer",
                 "--minutes", "0.05", "--device", "cpu"]) == 0
    steps = json.loads((out / "run" / "config.json").read_text())["config"]["train"]["tokenizer"]["steps"]
    assert f"tokenizer {steps:,} steps" in capsys.readouterr().err
    assert steps != preset("tiny").train.tokenizer.steps
