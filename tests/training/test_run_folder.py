"""training/run_folder.py: the run folder's layout, and what a new, resumed or killed run leaves in it."""

import json

import pytest

from nanogenie.config import preset
from nanogenie.errors import UserError
from nanogenie.training.run_folder import RunFolder, read_records


def test_what_a_kill_left_half_written_is_cleaned(tmp_path):
    run = tmp_path / "world" / "run"
    leftovers = [run / "checkpoints" / "lam" / ".step_00000100.tmp-1234", run / ".log.jsonl.tmp-1234",
                 tmp_path / "world" / ".dynamics.safetensors.tmp-1234"]
    leftovers[0].mkdir(parents=True)
    for path in leftovers[1:]:
        path.write_bytes(b"half")
    complete = run / "checkpoints" / "lam" / "step_00000050"
    complete.mkdir()
    RunFolder(run).clean_unfinished()
    assert not any(path.exists() for path in leftovers) and complete.is_dir()


def test_a_new_run_forgets_only_the_stages_it_retrains(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.make()
    for stage in ("tokenizer", "lam"):
        (run.checkpoints(stage) / "step_00000010").mkdir(parents=True)
        run.weights(stage).write_bytes(b"weights")
        run.log().write({"stage": stage, "step": 10, "elapsed": 60.0})
    run.record_minutes("tokenizer_and_lam_side_by_side", 120)
    run.record_minutes("dynamics_precompute", 30)
    run.begin(preset("tiny"), "tiny", ["lam"], resume=False)
    assert not run.checkpoints("lam").exists() and not run.weights("lam").exists()
    assert run.checkpoints("tokenizer").is_dir() and run.weights("tokenizer").is_file()
    assert [r["stage"] for r in read_records(run.log_file)] == ["tokenizer"]
    assert json.loads(run.timings_file.read_text()) == {"dynamics_precompute": 0.5}
    assert run.minutes() == {"tokenizer": 1.0, "dynamics_precompute": 0.5}
    assert run.recorded_config("cpu") == preset("tiny")


def test_an_unreadable_recorded_config_is_one_line(tmp_path):
    run = RunFolder(tmp_path / "run")
    assert run.recorded_config("tiny") is None  # a run that never started
    run.make()
    run.config_file.write_text("{not json")
    with pytest.raises(UserError, match="config.json cannot be read .* delete it to start the run from --preset tiny"):
        run.recorded_config("tiny")
