"""training/launch.py: a child holds the run lock while it lives, dies with its parent, and ends in one line."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nanogenie.errors import UserError
from nanogenie.training import launch


def _refuse(message: str) -> None:
    raise UserError(message)


def _gone(pid: int, within: float = 30.0) -> bool:
    """Has process pid exited (or become a zombie nobody reaps) before `within` seconds pass?"""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_a_child_holds_the_run_lock_until_it_exits(tmp_path):
    lock = launch.lock_run_dir(tmp_path)
    child = launch.start(time.sleep, 600, threads=1, what="a sleeper")
    try:
        assert f"pid {os.getpid()} and pid {child.process.pid}" in (tmp_path / "lock").read_text()
        launch.unlock_run_dir(lock)  # the parent lets go, as a killed parent does
        with pytest.raises(UserError, match=f"is being trained by pid {os.getpid()} and pid {child.process.pid}"):
            launch.lock_run_dir(tmp_path)
    finally:
        launch.stop([child])
    launch.unlock_run_dir(launch.lock_run_dir(tmp_path))  # free once the child is gone


def test_a_childs_user_error_comes_back_as_one_line():
    child = launch.start(_refuse, "lam loss became nan", threads=1, what="the LAM's process")
    with pytest.raises(UserError, match=r"^lam loss became nan \(the LAM's process\)$"):
        launch.wait([child])


@pytest.mark.parametrize("end,expected", [
    (lambda child: os.kill(child.process.pid, signal.SIGKILL), "worker 2 was killed by SIGKILL"),
    (None, "worker 2 stopped with exit code 3"),
])
def test_a_child_that_dies_without_a_word_is_named_and_the_others_stopped(end, expected):
    sleeper = launch.start(time.sleep, 600, threads=1, what="worker 1")
    if end is None:
        dying = launch.start(os._exit, 3, threads=1, what="worker 2")
    else:
        dying = launch.start(time.sleep, 600, threads=1, what="worker 2")
        end(dying)
    with pytest.raises(UserError, match=f"{expected}.*rerun with --resume"):
        launch.wait([sleeper, dying])
    assert not sleeper.process.is_alive()


def test_a_crashing_child_has_its_traceback_printed_once_above_one_line(capsys):
    child = launch.start(int, "not a number", threads=1, what="worker 1")
    with pytest.raises(UserError, match=r"worker 1 stopped with an error \(its traceback is above\)"):
        launch.wait([child])
    err = capsys.readouterr().err
    assert err.count("Traceback") == 1 and "ValueError: invalid literal for int()" in err


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the process table from /proc")
def test_a_child_dies_with_its_parent_even_on_kill_9(tmp_path):
    script = ("import time\nfrom nanogenie.training import launch\n"
              "child = launch.start(time.sleep, 600, threads=1, what='x')\n"
              "print(child.process.pid, flush=True)\ntime.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    try:
        child = int(parent.stdout.readline())
        assert not _gone(child, within=0.5)
        parent.kill()
        parent.wait()
        assert _gone(child), "the child outlived its parent"
    finally:
        try:  # whatever outlived the test: the parent's session holds it
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        parent.wait()
