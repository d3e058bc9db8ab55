"""`nanogenie train` refuses what cannot work with one line and exit code 2, before it trains (bad
requests and settings, data that does not fit), or stops so with what it kept (a full disk, a nan loss)."""

import numpy as np
import pytest

from nanogenie.cli import main
from nanogenie.data import write_dataset

from .train_helpers import error_line


@pytest.mark.parametrize("argv_tail,expected", [
    (["--world", "zelda"], "no simulator named 'zelda'.*pong, sonic"),
    (["--world", "sonic", "--data", "missing.h5"], "missing.h5 does not exist"),
    (["--world", "sonic", "--resume"], "--resume found no checkpoint"),
    (["--world", "sonic", "--stage", "dynamics"], "run --stage tokenizer first"),
    (["--world", "pong", "--steps", "100000000000"], "train.tokenizer.steps must be from 1 to 10000000"),
    (["--world", "pong", "--minutes", "5", "--steps", "10"], "give --minutes or --steps, not both"),
    (["--world", "pong", "--minutes", "5", "--resume"], "a resumed run keeps the steps it started with"),
    (["--world", "zelda", "--minutes", "5"], "no simulator named 'zelda'"),  # refused before any timing
])
def test_bad_train_requests_exit_2_with_one_line(argv_tail, expected, tmp_path, capsys):
    import re

    code = main(["train", "--preset", "tiny", "--out", str(tmp_path / "w"), "--device", "cpu", *argv_tail])
    assert code == 2 and re.search(expected, error_line(capsys))


@pytest.mark.parametrize("setting,expected", [
    ("dynamics.context_frames=100000", "dynamics.context_frames must be from 1 to 256"),
    ("train.grad_clip=-1", "train.grad_clip must be > 0"),
    ("train.checkpoint_every=-1", "train.checkpoint_every must be >= 1"),
    ("train.checkpoint_every=0", "train.checkpoint_every must be >= 1"),
    ("train.warmup_steps=-10", "train.warmup_steps must be from 0 to"),
    ("train.log_every=-3", "train.log_every must be >= 1"),
    ("train.keep_checkpoints=0", "train.keep_checkpoints must be from 1 to"),
    ("train.keep_checkpoints=-5", "train.keep_checkpoints must be from 1 to"),
    ("train.eval_episodes=0", "train.eval_episodes must be from 1 to 1000"),
    ("train.eval_episodes=100000", "train.eval_episodes must be from 1 to 1000"),
    ("train.eval_clips=0", "train.eval_clips must be from 1 to"),  # read only after all three stages
    ("train.seed=-1", "train.seed must be from 0 to 4294967295"),
    ("tokenizer.image_size=20", "image_size 20 .* must be a multiple of 2 x lam.patch_size 4"),
    ("lam.reset_after=" + str(10**30), "lam.reset_after must be from 1 to 1000000"),
    ("train.tokenizer.batch_size=" + str(10**9), "train.tokenizer.batch_size must be from 1 to 1024"),
    ("train.dynamics.clip_frames=1", "train.dynamics.clip_frames must be >= 2"),
    ("train.lam.batch_size=1024 train.lam.clip_frames=256", r"train.lam.batch_size x clip_frames \(1024 x 256\) "
                                                             r"must be at most 16384 frames"),
    ("train.lam.frames=0", "train.lam.frames must be from 1 to"),
    ("dynamics.maskgit_steps=64", "dynamics.maskgit_steps must be from 1 to 16"),  # 16 tokens per frame
])
def test_a_bad_setting_is_one_line_before_anything_runs(setting, expected, tmp_path, capsys):
    import re

    out = tmp_path / "w"
    sets = [flag for one in setting.split() for flag in ("--set", one)]
    code = main(["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--device", "cpu", *sets])
    assert code == 2 and re.search(expected, error_line(capsys))
    assert not out.exists()  # refused before any data, lock or checkpoint was made


def test_a_full_disk_at_a_checkpoint_is_one_line_and_resume_continues(tmp_path, capsys, fill_disk):
    out = tmp_path / "w"
    command = ["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--stage", "tokenizer",
               "--steps", "20", "--device", "cpu"]
    fill_disk("step_00000020")  # the second checkpoint (every 10 steps)
    assert main(command) == 2
    line = error_line(capsys)
    assert "the disk is full" in line and "step_00000010, is kept" in line and line.endswith("rerun with --resume")
    checkpoints = out / "run" / "checkpoints" / "tokenizer"
    assert [p.name for p in checkpoints.iterdir()] == ["step_00000010"]  # and no half-written temp folder
    fill_disk(None)
    assert main(command + ["--resume"]) == 0
    assert (checkpoints / "step_00000020").is_dir() and (out / "run" / "tokenizer.safetensors").is_file()


def test_episodes_shorter_than_a_later_stage_clip_fail_before_training(tmp_path, capsys):
    write_dataset(tmp_path / "short.h5", np.zeros((40, 16, 16, 3), np.uint8), None, np.array([*range(3, 40, 3), 40]))
    code = main(["train", "--world", "mine", "--data", str(tmp_path / "short.h5"), "--preset", "tiny",
                 "--out", str(tmp_path / "w"), "--device", "cpu"])
    assert code == 2 and "longer than every episode" in error_line(capsys)
    assert not (tmp_path / "w" / "run" / "tokenizer.safetensors").exists()  # nothing trained first


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    code = main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "taken"), "--device", "cpu"])
    assert code == 2 and "is a file" in error_line(capsys)


def test_data_of_the_wrong_frame_size_is_refused(tmp_path, capsys):
    write_dataset(tmp_path / "big.h5", np.zeros((50, 32, 32, 3), np.uint8))
    code = main(["train", "--world", "mine", "--data", str(tmp_path / "big.h5"), "--preset", "tiny",
                 "--out", str(tmp_path / "w"), "--device", "cpu"])
    line = error_line(capsys)
    assert code == 2 and "32x32" in line and "16x16" in line and "--size 16" in line


def test_nan_loss_stops_the_run_naming_stage_and_step(tmp_path, capsys, monkeypatch):
    from nanogenie.models.lam import LatentActionModel

    real = LatentActionModel.training_loss

    def poisoned(self, frames):
        loss, metrics = real(self, frames)
        return loss * float("nan"), metrics

    monkeypatch.setattr(LatentActionModel, "training_loss", poisoned)  # in this process: one stage at a time
    code = main(["train", "--world", "sonic", "--preset", "tiny", "--out", str(tmp_path / "w"), "--steps", "3",
                 "--device", "cpu", "--sequential"])
    line = error_line(capsys)
    assert code == 2 and "lam loss became nan at step 1" in line
    assert (tmp_path / "w" / "run" / "tokenizer.safetensors").is_file()  # finished stages are kept


def test_a_stage_given_too_few_frames_for_one_clip_is_refused_before_training(tmp_path, capsys):
    code = main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "w"), "--device", "cpu",
                 "--set", "train.dynamics.frames=2"])
    assert code == 2 and "train.dynamics.frames=2 leaves no clip of" in error_line(capsys)
    assert not (tmp_path / "w" / "run" / "tokenizer.safetensors").exists()  # the stages before it never ran
