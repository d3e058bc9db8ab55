"""`nanogenie train` in several processes: the LAM beside the tokenizer, `--processes 2`, torchrun; the run
lock; kills of any process, each ending the run in one line, and --resume after them."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nanogenie.cli import main
from nanogenie.training.distributed import free_port
from nanogenie.training.run_folder import RunFolder, read_records
from nanogenie.world import load_world, user_worlds_dir

from .train_helpers import child_env, error_line


def test_a_second_training_into_the_same_folder_is_refused(tmp_path, capsys):
    with RunFolder(tmp_path / "w" / "run").locked():  # as a first training holds it
        code = main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "w"), "--device", "cpu"])
        line = error_line(capsys)
    assert code == 2 and f"pid {os.getpid()}" in line and "another --out" in line


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
    line = error_line(capsys)
    assert code == 2 and "lam loss became nan" in line and "second process beside the tokenizer" in line
    assert not (tmp_path / "w" / "run" / "tokenizer.safetensors").exists()  # said then, not 5000 steps later


def _kill_at_first_checkpoint(command: list[str], checkpoints: Path) -> None:
    """Start a training and kill -9 it as soon as `checkpoints` holds a step."""
    child = subprocess.Popen(command, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(checkpoints.glob("step_*")) and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"


@pytest.mark.slow
def test_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    out = tmp_path / "w"
    command = [sys.executable, "-m", "nanogenie.cli", "train", "--world", "sonic", "--preset", "tiny",
               "--out", str(out), "--stage", "tokenizer", "--steps", "150", "--device", "cpu"]
    checkpoints = out / "run" / "checkpoints" / "tokenizer"
    _kill_at_first_checkpoint(command, checkpoints)
    steps_at_kill = sorted(int(p.name.split("_")[1]) for p in checkpoints.glob("step_*"))
    assert steps_at_kill and steps_at_kill[-1] < 150
    resumed = subprocess.run(command + ["--resume"], env=child_env(), capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    first = int(resumed.stderr.split("resuming from step ")[1].split()[0])
    assert first == steps_at_kill[-1]  # continues from the newest checkpoint, at most one interval lost
    assert (checkpoints / "step_00000150").is_dir() and (out / "run" / "tokenizer.safetensors").is_file()


@pytest.mark.slow
def test_a_lam_killed_in_its_second_phase_resumes_it_and_ends_as_an_uninterrupted_run(tmp_path):
    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "nanogenie.cli", "train", "--world", "pong", "--preset", "tiny", "--out",
                str(out), "--stage", "lam", "--set", "train.lam_inverse.steps=80", "--device", "cpu"]

    killed, whole = tmp_path / "killed", tmp_path / "whole"
    _kill_at_first_checkpoint(command(killed), killed / "run" / "checkpoints" / "lam_inverse")
    assert not load_file(str(killed / "run" / "lam.safetensors"))["inverse_trained"].item()  # still the heads'
    resumed = subprocess.run(command(killed) + ["--resume"], env=child_env(), capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "lam_inverse: resuming from step" in resumed.stderr and "lam: resuming" not in resumed.stderr
    subprocess.run(command(whole), env=child_env(), capture_output=True, check=True, timeout=120)
    got, want = (load_file(str(out / "run" / "lam.safetensors")) for out in (killed, whole))
    assert got["inverse_trained"].item() and set(got) == set(want)
    assert all(torch.equal(got[k], want[k]) for k in want)  # the phase replays exactly what it would have done


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
    assert "needs the trained tokenizer" in error_line(capsys)
    # the processes share each step's batch_size clips, so it must split evenly
    assert main(["train", "--world", "pong", "--preset", "tiny", "--out", str(tmp_path / "odd"), "--device", "cpu",
                 "--processes", "2", "--set", "train.dynamics.batch_size=5"]) == 2
    assert "train.dynamics.batch_size 5 does not split over 2 processes" in error_line(capsys)


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


def _spawned(pid: int) -> list[int]:
    """The children of pid that multiprocessing spawned (the LAM beside the tokenizer, the workers)."""
    return [child for child in _children(pid) if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text()]


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


@contextmanager
def _training_in_two_processes(out: Path):
    """(the launcher, its two workers) of a `--processes 2` tokenizer training far too long to finish, once
    it has checkpointed; in a session of its own, ended on leaving, so that whatever survives ends with it."""
    command = [sys.executable, "-m", "nanogenie.cli", "train", "--world", "pong", "--preset", "tiny", "--out",
               str(out), "--stage", "tokenizer", "--steps", "100000", "--device", "cpu", "--processes", "2"]
    child = subprocess.Popen(command, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        _wait_for(out / "run" / "checkpoints" / "tokenizer", "step_*", child)
        yield child, _spawned(child.pid)
    finally:
        _end_session(child)


def _wait_for(path_glob: Path, pattern: str, child: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not list(path_glob.glob(pattern)) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert child.poll() is None and list(path_glob.glob(pattern)), "the run ended or never checkpointed"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process tree from /proc")
def test_sigterm_to_the_launcher_of_processes_2_ends_its_workers(tmp_path):
    with _training_in_two_processes(tmp_path / "w") as (child, workers):
        assert len(workers) == 2 and child.poll() is None, "the run was not training in two processes"
        child.send_signal(signal.SIGTERM)  # to the launcher alone, as `kill` does
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == 128 + signal.SIGTERM and "interrupted (SIGTERM)" in stderr
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "workers outlived their launcher"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process tree from /proc")
def test_kill_9_of_the_main_process_ends_the_lam_beside_it_and_resume_is_the_only_writer(tmp_path):
    out = tmp_path / "w"
    command = [sys.executable, "-m", "nanogenie.cli", "train", "--world", "pong", "--preset", "tiny", "--out",
               str(out), "--steps", "100000", "--device", "cpu"]
    env = {**child_env(), "OMP_NUM_THREADS": "2"}  # two threads: the LAM trains in a second process
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        _wait_for(out / "run" / "checkpoints" / "lam", "step_*", child)
        lam = _spawned(child.pid)
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
    with _training_in_two_processes(tmp_path / "w") as (child, workers):
        assert len(workers) == 2
        os.kill(workers[1], signal.SIGKILL)
        _, stderr = child.communicate(timeout=60)
        errors = [line for line in stderr.splitlines() if line.startswith("nanogenie: error:")]
        assert child.returncode == 2 and "Traceback" not in stderr and "resource_tracker" not in stderr, stderr[-2000:]
        assert errors == ["nanogenie: error: training process 2 of 2 was killed by SIGKILL; the run's checkpoints "
                          "are kept: rerun with --resume"]
        assert not [pid for pid in workers if _alive(pid)]


@pytest.mark.slow
def test_torchrun_two_gloo_processes_train_a_bundle():
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
               "-m", "nanogenie.cli", "train", "--world", "pong", "--preset", "tiny",
               "--steps", "4", "--device", "cpu"]  # no --out: the user's worlds folder
    # A session of its own, so a hung run's workers can be ended with it.
    child = subprocess.Popen(command, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
