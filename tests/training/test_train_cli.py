"""`nanogenie train` / `nanogenie eval` end to end on the tiny preset, kill-and-resume, DDP, bad input."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from nanogenie.cli import main
from nanogenie.data import write_dataset
from nanogenie.play.keymap import load_keymap
from nanogenie.training.distributed import free_port
from nanogenie.training.run_folder import RunFolder, read_records
from nanogenie.world import load_world, user_worlds_dir

FIGURES = {"tokenizer_psnr", "tokenizer_code_usage", "lam_code_usage", "lam_nmi", "lam_probe_accuracy",
           "action_consistency", "delta_t_psnr", "rollout_psnr", "copy_psnr", "ms_per_frame", "play_fps", "device",
           "tokenizer_moving_psnr", "rollout_moving_psnr", "control_accuracy", "control_accuracy_se"}


def _child_env() -> dict[str, str]:
    # Read at call time: the autouse fixture has pointed NANOGENIE_HOME into the test's temp folder.
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("train") / "sonic_world"
    assert main(["train", "--world", "sonic", "--preset", "tiny", "--out", str(out), "--steps", "4",
                 "--device", "cpu"]) == 0
    return out


def test_train_writes_a_loadable_bundle_with_eval_keymap_and_plots(trained):
    world = load_world(trained)
    assert world.prompt.shape == (4, 16, 16, 3) and world.num_actions == 4
    assert world.action_names[:3] == ["idle", "left", "right"]
    figures = world.meta["eval"]
    assert FIGURES <= set(figures) and set(figures["rollout_psnr"]) == set(figures["copy_psnr"]) == {"1", "4", "16"}
    data = world.meta["data"]
    assert data["env"] == "sonic" and data["frames"] == 400 and data["splits"]["test"]
    held_out = {tuple(s) for s in data["splits"]["test"]}
    assert not held_out & {tuple(s) for s in data["splits"]["train"]}
    assert world.keymap_path == trained / "keymap.toml"
    load_keymap(world.keymap_path, world.num_actions)  # the fitted keymap is valid for the play app
    bundle_files = {p.name for p in trained.iterdir() if p.is_file()}
    assert bundle_files == {"world.json", "tokenizer.safetensors", "lam.safetensors", "dynamics.safetensors",
                            "prompt.npz", "keymap.toml"}  # checkpoints stay inside run/
    run = trained / "run"
    assert {"losses.png", "reconstructions.png", "rollout.png", "latent_actions.png"} <= {
        p.name for p in (run / "plots").iterdir()}
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in records} == {"tokenizer", "lam", "dynamics"}
    assert all(np.isfinite(r["loss"]) and r["step"] <= 4 for r in records)
    training = world.meta["training"]  # where and how long each stage trained
    assert training["device"] == "cpu" and {"tokenizer", "lam", "dynamics", "dynamics_precompute"} <= set(
        training["minutes"])  # and the two stages' wall minutes side by side, on a CPU with 2+ threads
    held_out = {r["stage"]: r["eval"] for r in records if "eval" in r}  # each stage's validation at checkpoints
    assert {"val_loss", "val_psnr", "val_moving_psnr"} <= set(held_out["tokenizer"]) and {"val_loss", "val_accuracy"} <= set(
        held_out["dynamics"]) and all(np.isfinite(e["val_loss"]) for e in held_out.values())
    for stage in ("tokenizer", "lam", "dynamics"):  # bundle weights = the run's final weights, stored as fp16
        bundle, final = load_file(str(trained / f"{stage}.safetensors")), load_file(str(run / f"{stage}.safetensors"))
        assert bundle.keys() == final.keys()
        for k in final:
            want = final[k].half() if final[k].is_floating_point() else final[k]
            assert torch.equal(bundle[k], want)


def test_eval_prints_every_figure_as_json(trained, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", "--world", str(trained), "--json", str(out), "--device", "cpu"]) == 0
    printed = json.loads(capsys.readouterr().out)  # stdout is the JSON and nothing else
    assert FIGURES <= set(printed) and printed == json.loads(out.read_text())
    assert 0 <= printed["lam_nmi"] <= 1 and 0 < printed["tokenizer_code_usage"] <= 1
    assert 0 <= printed["lam_probe_accuracy"] <= 1 and 0 <= printed["action_consistency"] <= 1
    assert 0 <= printed["control_accuracy"] <= 1  # a simulator world with a fitted keymap
    assert 0 <= printed["control_accuracy_se"] < 0.5
    assert printed["play_fps"] > 0 and printed["device"] == "cpu"


def test_eval_on_a_data_file(trained, tmp_path, capsys):
    from nanogenie.envs import rollout

    frames, _, ends = rollout("pong", 300, size=16, seed=5)
    write_dataset(tmp_path / "held_out.h5", frames, None, ends)  # no true actions -> lam_nmi is null
    assert main(["eval", "--world", str(trained), "--data", str(tmp_path / "held_out.h5"), "--device", "cpu"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["lam_nmi"] is None and printed["lam_probe_accuracy"] is None and FIGURES <= set(printed)
    assert printed["control_accuracy"] is None  # a user's file: no simulator to hold the controls on
    assert printed["control_accuracy_se"] is None
    assert printed["held_out"].startswith("all ") and "did not train on" in printed["held_out"]


def test_eval_states_seed_and_the_hero_probe(trained, capsys):
    from nanogenie.eval.control import control_accuracy

    assert main(["eval", "--world", str(trained), "--device", "cpu", "--states", "3", "--seed", "5",
                 "--probe", "hero-whole"]) == 0
    printed = json.loads(capsys.readouterr().out)
    world = load_world(trained, "cpu")
    want = control_accuracy(world, "sonic", world.keymap_path, "cpu", states=3, seed=5)
    assert (printed["control_accuracy"], printed["control_accuracy_se"]) == want  # the states asked for
    assert 0 <= printed["hero_whole"] <= 1 and 0 <= printed["hero_whole_reconstructed"] <= 1
    assert printed["held_out"].startswith("fresh sonic episodes")


def test_eval_refuses_a_probe_for_another_game(trained, tmp_path, capsys):
    from nanogenie.envs import rollout

    frames, _, ends = rollout("sonic", 100, size=16, seed=5)
    write_dataset(tmp_path / "clip.h5", frames, None, ends)
    for argv in (["--probe", "hero-whole", "--data", str(tmp_path / "clip.h5")], ["--probe", "nope"]):
        assert main(["eval", "--world", str(trained), "--device", "cpu", *argv]) == 2
        assert "probe" in capsys.readouterr().err


def test_stage_alone_continues_from_saved_weights(trained, tmp_path):
    run = trained / "run"
    before = load_file(str(run / "tokenizer.safetensors"))
    assert main(["train", "--world", "sonic", "--preset", "tiny", "--out", str(trained), "--stage", "lam",
                 "--steps", "2", "--device", "cpu"]) == 0
    after = load_file(str(run / "tokenizer.safetensors"))
    assert all(torch.equal(before[k], after[k]) for k in before)  # the tokenizer was not retrained
    assert (run / "checkpoints" / "lam" / "step_00000002").is_dir()
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in logged} == {"tokenizer", "lam", "dynamics"}  # other stages' history is kept
    assert max(r["step"] for r in logged if r["stage"] == "lam") == 2


def test_lam_stage_learns_from_pixels_alone_and_logs_held_out_figures(tmp_path):
    out = tmp_path / "pong_lam"  # a fresh run: no tokenizer anywhere
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--stage", "lam",
                 "--steps", "30", "--set", "train.action_figures_every=20", "--device", "cpu"]) == 0
    run = out / "run"
    assert (run / "lam.safetensors").is_file() and not (run / "tokenizer.safetensors").exists()
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    checkpoints = [r for r in logged if "eval" in r]  # checkpoint_every=10 in the tiny preset
    assert [r["step"] for r in checkpoints] == [10, 20, 30] and all(r["stage"] == "lam" for r in checkpoints)
    assert set(checkpoints[0]["eval"]) == {"val_loss", "val_psnr"}  # action figures every 20 steps and at the last
    for r in checkpoints[1:]:
        assert set(r["eval"]) == {"lam_nmi", "lam_probe_accuracy", "lam_code_shares", "val_loss", "val_psnr"}
        assert 0 <= r["eval"]["lam_nmi"] <= 1 and 0 <= r["eval"]["lam_probe_accuracy"] <= 1
    assert (run / "plots" / "held_out.png").is_file()


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("nanogenie: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


@pytest.mark.parametrize("argv_tail,expected", [
    (["--world", "zelda"], "no simulator named 'zelda'.*pong, sonic"),
    (["--world", "sonic", "--data", "missing.h5"], "missing.h5 does not exist"),
    (["--world", "sonic", "--resume"], "--resume found no checkpoint"),
    (["--world", "sonic", "--stage", "dynamics"], "run --stage tokenizer first"),
    (["--world", "pong", "--steps", "100000000000"], "train.tokenizer.steps must be from 1 to 10000000"),
])
def test_bad_train_requests_exit_2_with_one_line(argv_tail, expected, tmp_path, capsys):
    import re

    code = main(["train", "--preset", "tiny", "--out", str(tmp_path / "w"), "--device", "cpu", *argv_tail])
    assert code == 2 and re.search(expected, _error_line(capsys))


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
    ("dynamics.maskgit_steps=64", "dynamics.maskgit_steps must be from 1 to 16"),  # 16 tokens per frame
])
def test_a_bad_setting_is_one_line_before_anything_runs(setting, expected, tmp_path, capsys):
    import re

    out = tmp_path / "w"
    sets = [flag for one in setting.split() for flag in ("--set", one)]
    code = main(["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--device", "cpu", *sets])
    assert code == 2 and re.search(expected, _error_line(capsys))
    assert not out.exists()  # refused before any data, lock or checkpoint was made


def test_a_full_disk_at_a_checkpoint_is_one_line_and_resume_continues(tmp_path, capsys, fill_disk):
    out = tmp_path / "w"
    command = ["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--stage", "tokenizer",
               "--steps", "20", "--device", "cpu"]
    fill_disk("step_00000020")  # the second checkpoint (every 10 steps)
    assert main(command) == 2
    line = _error_line(capsys)
    assert "the disk is full" in line and "step_00000010, is kept" in line and line.endswith("rerun with --resume")
    checkpoints = out / "run" / "checkpoints" / "tokenizer"
    assert [p.name for p in checkpoints.iterdir()] == ["step_00000010"]  # and no half-written temp folder
    fill_disk(None)
    assert main(command + ["--resume"]) == 0
    assert (checkpoints / "step_00000020").is_dir() and (out / "run" / "tokenizer.safetensors").is_file()


def test_a_second_training_into_the_same_folder_is_refused(tmp_path, capsys):
    from nanogenie.training.launch import lock_run_dir, unlock_run_dir

    run = tmp_path / "w" / "run"
    run.mkdir(parents=True)
    held = lock_run_dir(run)  # as a first training holds it
    try:
        code = main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "w"), "--device", "cpu"])
        line = _error_line(capsys)
        assert code == 2 and f"pid {os.getpid()}" in line and "another --out" in line
    finally:
        unlock_run_dir(held)


def test_episodes_shorter_than_a_later_stage_clip_fail_before_training(tmp_path, capsys):
    write_dataset(tmp_path / "short.h5", np.zeros((40, 16, 16, 3), np.uint8), None, np.array([*range(3, 40, 3), 40]))
    code = main(["train", "--world", "mine", "--data", str(tmp_path / "short.h5"), "--preset", "tiny",
                 "--out", str(tmp_path / "w"), "--device", "cpu"])
    assert code == 2 and "longer than every episode" in _error_line(capsys)
    assert not (tmp_path / "w" / "run" / "tokenizer.safetensors").exists()  # nothing trained first


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    code = main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "taken"), "--device", "cpu"])
    assert code == 2 and "is a file" in _error_line(capsys)


def test_data_of_the_wrong_frame_size_is_refused(tmp_path, capsys):
    write_dataset(tmp_path / "big.h5", np.zeros((50, 32, 32, 3), np.uint8))
    code = main(["train", "--world", "mine", "--data", str(tmp_path / "big.h5"), "--preset", "tiny",
                 "--out", str(tmp_path / "w"), "--device", "cpu"])
    line = _error_line(capsys)
    assert code == 2 and "32x32" in line and "16x16" in line and "--size 16" in line


def test_eval_of_a_bundle_whose_weights_do_not_match_is_refused(trained, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained, broken, ignore=shutil.ignore_patterns("run"))
    meta = json.loads((broken / "world.json").read_text())
    meta["config"]["dynamics"]["width"] = 64
    (broken / "world.json").write_text(json.dumps(meta))
    assert main(["eval", "--world", str(broken), "--device", "cpu"]) == 2
    assert "dynamics.safetensors does not match" in _error_line(capsys)


def test_nan_loss_stops_the_run_naming_stage_and_step(tmp_path, capsys, monkeypatch):
    from nanogenie.models.lam import LatentActionModel

    real = LatentActionModel.training_loss

    def poisoned(self, frames):
        loss, metrics = real(self, frames)
        return loss * float("nan"), metrics

    monkeypatch.setattr(LatentActionModel, "training_loss", poisoned)  # in this process: one stage at a time
    code = main(["train", "--world", "sonic", "--preset", "tiny", "--out", str(tmp_path / "w"), "--steps", "3",
                 "--device", "cpu", "--sequential"])
    line = _error_line(capsys)
    assert code == 2 and "lam loss became nan at step 1" in line
    assert (tmp_path / "w" / "run" / "tokenizer.safetensors").is_file()  # finished stages are kept


def test_lam_beside_the_tokenizer_trains_what_one_stage_at_a_time_trains(tmp_path):
    """Two threads: the LAM trains in a second process beside the tokenizer, one thread each. Both stages'
    weights equal a one-thread run's that trains them one after the other, and the log holds both."""
    threads = torch.get_num_threads()
    command = ["train", "--world", "pong", "--preset", "tiny", "--steps", "3", "--device", "cpu"]
    try:
        torch.set_num_threads(1)
        assert main(command + ["--out", str(tmp_path / "apart"), "--sequential"]) == 0
        torch.set_num_threads(2)
        assert main(command + ["--out", str(tmp_path / "beside")]) == 0
    finally:
        torch.set_num_threads(threads)
    for stage in ("tokenizer", "lam"):
        apart, beside = (load_file(tmp_path / run / "run" / f"{stage}.safetensors") for run in ("apart", "beside"))
        assert all(torch.equal(apart[name], beside[name]) for name in apart), stage
    minutes = load_world(tmp_path / "beside").meta["training"]["minutes"]
    assert {"tokenizer", "lam", "tokenizer_and_lam_side_by_side", "dynamics"} <= set(minutes)
    assert "tokenizer_and_lam_side_by_side" not in load_world(tmp_path / "apart").meta["training"]["minutes"]
    stages = [r["stage"] for r in read_records(tmp_path / "beside" / "run" / "log.jsonl")]
    assert stages.count("lam") == stages.count("tokenizer") > 0


def test_a_failing_lam_beside_the_tokenizer_stops_the_run_at_once_with_one_line(tmp_path, capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:  # an lr that blows the LAM's weights up: its loss turns nan in its own process
        code = main(["train", "--world", "pong", "--preset", "tiny", "--device", "cpu", "--out", str(tmp_path / "w"),
                     "--set", "train.lam.lr=1e20", "--set", "train.tokenizer.steps=5000"])
    finally:
        torch.set_num_threads(threads)
    line = _error_line(capsys)
    assert code == 2 and "lam loss became nan" in line and "second process beside the tokenizer" in line
    assert not (tmp_path / "w" / "run" / "tokenizer.safetensors").exists()  # said then, not 5000 steps later


@pytest.mark.slow
def test_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    out = tmp_path / "w"
    command = [sys.executable, "-m", "nanogenie.cli", "train", "--world", "sonic", "--preset", "tiny",
               "--out", str(out), "--stage", "tokenizer", "--steps", "150", "--device", "cpu"]
    checkpoints = out / "run" / "checkpoints" / "tokenizer"
    child = subprocess.Popen(command, env=_child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(checkpoints.glob("step_*")) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    steps_at_kill = sorted(int(p.name.split("_")[1]) for p in checkpoints.glob("step_*"))
    assert steps_at_kill and steps_at_kill[-1] < 150
    resumed = subprocess.run(command + ["--resume"], env=_child_env(), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    first = int(resumed.stderr.split("resuming from step ")[1].split()[0])
    assert first == steps_at_kill[-1]  # continues from the newest checkpoint, at most one interval lost
    assert (checkpoints / "step_00000150").is_dir() and (out / "run" / "tokenizer.safetensors").is_file()


@pytest.mark.slow
def test_processes_2_trains_one_bundle_in_two_processes(tmp_path, capsys):
    out = tmp_path / "pong"
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--steps", "3",
                 "--device", "cpu", "--processes", "2"]) == 0
    world = load_world(out)  # each stage ended with the check that both ranks hold the same weights
    assert world.meta["training"]["processes"] == 2 and world.meta["eval"]["rollout_psnr"]
    # a request that cannot run is refused once, before any process starts
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "new"), "--stage",
                 "dynamics", "--device", "cpu", "--processes", "2"]) == 2
    assert "needs the trained tokenizer" in _error_line(capsys)
    # the processes share each step's batch_size clips, so it must split evenly
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "odd"), "--device", "cpu",
                 "--processes", "2", "--set", "train.dynamics.batch_size=5"]) == 2
    assert "train.dynamics.batch_size 5 does not split over 2 processes" in _error_line(capsys)


def _children(pid: int) -> list[int]:
    """The live child processes of pid (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Is pid a process that has not ended (a zombie has ended; nothing in this container reaps it)?"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _end_session(child: subprocess.Popen) -> None:
    """Kill whatever is left of a child started with start_new_session=True, and reap it."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _long_training_in_two_processes(out: Path) -> subprocess.Popen:
    """A `--processes 2` tokenizer training far too long to finish, in a session of its own so that
    whatever survives can be ended with it."""
    command = [sys.executable, "-m", "nanogenie.cli", "train", "--world", "pong", "--preset", "tiny", "--out",
               str(out), "--stage", "tokenizer", "--steps", "100000", "--device", "cpu", "--processes", "2"]
    return subprocess.Popen(command, env=_child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process tree from /proc")
def test_sigterm_to_the_launcher_of_processes_2_ends_its_workers(tmp_path):
    out = tmp_path / "w"
    child = _long_training_in_two_processes(out)
    try:
        checkpoints = out / "run" / "checkpoints" / "tokenizer"
        deadline = time.monotonic() + 120
        while not list(checkpoints.glob("step_*")) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        workers = [pid for pid in _children(child.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2 and child.poll() is None, "the run was not training in two processes"
        child.send_signal(signal.SIGTERM)  # to the launcher alone, as `kill` does
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == 128 + signal.SIGTERM and "interrupted (SIGTERM)" in stderr
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "workers outlived their launcher"
    finally:
        if child.poll() is None or _children(child.pid):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def _wait_for(path_glob: Path, pattern: str, child: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not list(path_glob.glob(pattern)) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert child.poll() is None and list(path_glob.glob(pattern)), "the run ended or never checkpointed"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process tree from /proc")
def test_kill_9_of_the_main_process_ends_the_lam_beside_it_and_resume_is_the_only_writer(tmp_path):
    out = tmp_path / "w"
    command = [sys.executable, "-m", "nanogenie.cli", "train", "--world", "pong", "--preset", "tiny", "--out",
               str(out), "--steps", "100000", "--device", "cpu"]
    env = {**_child_env(), "OMP_NUM_THREADS": "2"}  # two threads: the LAM trains in a second process
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        _wait_for(out / "run" / "checkpoints" / "lam", "step_*", child)
        lam = [pid for pid in _children(child.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(lam) == 1, "the LAM was not training beside the tokenizer"
        child.kill()
        child.wait()
        deadline = time.monotonic() + 30
        while _children(child.pid) + [p for p in lam if _alive(p)]:
            assert time.monotonic() < deadline, "the LAM's process outlived the main one"
            time.sleep(0.05)
    finally:
        _end_session(child)
    rows = len(read_records(out / "run" / "log.jsonl"))
    resumed = subprocess.run([*command[:-4], "--stage", "lam", "--steps", "40", "--resume", "--device", "cpu"],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    steps = [r["step"] for r in read_records(out / "run" / "log.jsonl") if r["stage"] == "lam"]
    assert len(steps) == len(set(steps)) and rows  # one writer: no step logged twice


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process tree from /proc")
def test_a_killed_worker_of_processes_2_is_one_line_and_ends_the_other(tmp_path):
    out = tmp_path / "w"
    child = _long_training_in_two_processes(out)
    try:
        _wait_for(out / "run" / "checkpoints" / "tokenizer", "step_*", child)
        workers = [pid for pid in _children(child.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2
        os.kill(workers[1], signal.SIGKILL)
        _, stderr = child.communicate(timeout=60)
        errors = [line for line in stderr.splitlines() if line.startswith("nanogenie: error:")]
        assert child.returncode == 2 and "Traceback" not in stderr and "resource_tracker" not in stderr, stderr[-2000:]
        assert errors == ["nanogenie: error: training process 2 of 2 was killed by SIGKILL; the run's checkpoints "
                          "are kept: rerun with --resume"]
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        _end_session(child)


@pytest.mark.slow
def test_torchrun_two_gloo_processes_train_a_bundle():
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
               "-m", "nanogenie.cli", "train", "--world", "pong", "--preset", "tiny",
               "--steps", "4", "--device", "cpu"]  # no --out: the user's worlds folder
    # A session of its own, so a hung run's workers can be ended with it.
    child = subprocess.Popen(command, env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        _, stderr = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 0, stderr[-3000:]
    # Each stage ends with a check that both ranks hold bit-identical weights (it raises otherwise).
    world = load_world("pong")
    assert world.path == user_worlds_dir() / "pong" and world.meta["eval"]["rollout_psnr"]


def test_a_run_records_its_config_and_resume_reads_it_back(trained):
    import argparse

    from nanogenie.config import WorldConfig, preset
    from nanogenie.training.commands import run_config

    recorded = json.loads((trained / "run" / "config.json").read_text())
    assert recorded["preset"] == "tiny"
    config = WorldConfig.from_dict(recorded["config"])
    assert config.train.tokenizer.steps == 4  # --steps 4 is what the run trained with
    # --resume with another --preset still continues the run as it was started
    args = argparse.Namespace(resume=True, stage="all", preset="cpu", steps=None, actions=None, set=[], processes=1)
    assert run_config(args, RunFolder(trained / "run"), ["tokenizer", "lam", "dynamics"]) == config
    fresh = argparse.Namespace(resume=False, stage="all", preset="cpu", steps=None, actions=None, set=[], processes=1)
    assert run_config(fresh, RunFolder(trained / "run"), ["tokenizer", "lam", "dynamics"]) == preset("cpu")


def test_dynamics_on_recorded_actions_is_the_labelled_video_option(tmp_path):
    out = tmp_path / "true_actions"
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(out), "--actions", "true",
                 "--steps", "2", "--device", "cpu"]) == 0
    world = load_world(out)
    assert world.config.train.dynamics_actions == "true"
    assert world.meta["eval"]["action_consistency"] is None and world.meta["eval"]["control_accuracy"] is not None
    keymap = load_keymap(world.keymap_path, world.num_actions)  # each control's key binds that control itself
    chords = {b.chord: b.action for b in keymap.bindings}
    names = world.action_names
    assert (keymap.idle, chords["up"], chords["down"]) == (names.index("idle"), names.index("up"), names.index("down"))


def test_recorded_actions_must_fit_the_dynamics_and_need_its_stage(trained, tmp_path, capsys):
    out = tmp_path / "sonic"
    shutil.copytree(trained, out)  # sonic records 7 actions; the tiny preset has 4 action slots
    assert main(["train", "--world", "sonic", "--preset", "tiny", "--out", str(out), "--stage", "dynamics",
                 "--actions", "true", "--device", "cpu"]) == 2
    assert "records 7 different actions but the dynamics has 4" in _error_line(capsys)
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "w"), "--stage", "lam",
                 "--actions", "true", "--device", "cpu"]) == 2
    assert "--actions true conditions the dynamics" in _error_line(capsys)


def test_a_world_from_data_without_actions_gets_a_proposed_keymap(tmp_path, capsys):
    from nanogenie.envs import rollout

    frames, _, ends = rollout("pong", 400, size=16, seed=3)
    write_dataset(tmp_path / "video.h5", frames, None, ends)  # a user's video: no true actions
    out = tmp_path / "my_video"
    assert main(["train", "--world", "my_video", "--data", str(tmp_path / "video.h5"), "--preset", "tiny",
                 "--out", str(out), "--steps", "2", "--device", "cpu"]) == 0
    world = load_world(out)
    assert world.meta["keymap_origin"] == "proposed" and world.keymap_path == out / "keymap.toml"
    assert "Proposed by nanogenie" in world.keymap_path.read_text()
    load_keymap(world.keymap_path, world.num_actions)
