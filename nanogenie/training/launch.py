"""The run's lock, and the one way a training starts more processes (the LAM beside the tokenizer, the
workers of `--processes`) or joins those torchrun started, so that nothing writes a run folder unseen.

- A run folder is locked (flock on run/lock) by the process that trains it, and a second training
  there is refused.
- Every child is spawned (a fresh interpreter, no forked torch state) with the torch threads the one
  policy gives it (device.torch_threads), and holds the lock too: it is given the parent's locked file descriptor, the same open file
  description, so the lock stays taken until the last process that can write the run has exited.
- Every child dies with its parent: on Linux the kernel sends it SIGKILL when the parent exits, however
  it ends (kill -9 too; PR_SET_PDEATHSIG); elsewhere a thread checks every second. A child whose parent
  died before that took hold exits at once. torchrun's workers follow the same rules (`join_torchrun`).
- A UserError in a child comes back through a pipe and is raised in the parent as one line; any other
  end (a crash, a kill) is said as which process ended how, and to rerun with --resume.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing import connection, reduction
from pathlib import Path
from typing import IO, Any, Callable

import torch
import torch.multiprocessing as mp
from tqdm import tqdm

from nanogenie.device import torch_threads
from nanogenie.errors import EXIT_CODE, UserError

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_inherited: dict[str, IO] = {}  # run folder -> the lock this process was given by its parent
_held: dict[str, IO] = {}  # run folder -> the lock this process took
_started: list[Any] = []  # the processes `start` started


def lock_run_dir(run_dir: Path) -> IO:
    """An exclusive lock on run/lock, held while this process (and every child it starts) trains: two
    trainings writing into one folder would mix one run's tokenizer and LAM with the other's dynamics.
    Returns the open lock file; a process started by `start` gets its parent's."""
    key = str(Path(run_dir).resolve())
    if key in _inherited:
        return _inherited[key]
    handle = open(Path(run_dir) / "lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UserError(f"{run_dir} is being trained by {holder}; wait for it to finish or choose another --out") \
            from None
    _write_holders(handle, [os.getpid()])
    _held[key] = handle
    return handle


def unlock_run_dir(handle: IO) -> None:
    for held in (_held, _inherited):
        for key in [key for key, value in held.items() if value is handle]:
            del held[key]
    handle.close()


def _write_holders(handle: IO, pids: list[int]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(" and ".join(f"pid {pid}" for pid in pids))
    handle.flush()


class Child:
    """A process started by `start`: `what` names it in messages ("training process 2 of 2")."""

    def __init__(self, process: Any, errors: connection.Connection, what: str):
        self.process, self.errors, self.what = process, errors, what
        self._said: tuple[str, str] | None = None

    def said(self) -> tuple[str, str] | None:
        """What the child sent before it exited: ("error", a UserError's line) or ("traceback", text)."""
        try:
            if self._said is None and self.errors.poll():
                self._said = self.errors.recv()
        except (EOFError, OSError):  # it ended without a word (poll() is true at end of file)
            pass
        return self._said

    def failure(self) -> UserError | None:
        """None while it runs or when it succeeded; else the one line that says how it ended."""
        code = self.process.exitcode
        if code in (None, 0):
            return None
        kind, text = self.said() or ("", "")
        if kind == "error":
            return UserError(f"{text} ({self.what})")
        how = (f"was killed by {signal.Signals(-code).name}" if code < 0
               else "stopped with an error (its traceback is above)" if kind == "traceback"
               else f"stopped with exit code {code}")
        return UserError(f"{self.what} {how}; the run's checkpoints are kept: rerun with --resume")

    def check(self) -> None:
        """Raise now if the child has already failed (the parent need not wait to hear of it)."""
        if self.process.exitcode not in (None, 0):
            wait([self])


def start(target: Callable[..., Any], *args: Any, threads: int, what: str, env: dict[str, str] | None = None
          ) -> Child:
    """target(*args) in a new process with `threads` torch threads and `env` added to its environment,
    holding this process's run locks and dying with it. args must be picklable."""
    context = mp.get_context("spawn")
    errors, sender = context.Pipe(duplex=False)
    locks = [_PassedLock(key, handle) for key, handle in {**_inherited, **_held}.items() if not handle.closed]
    process = context.Process(target=_child, args=(os.getpid(), locks, env or {}, threads, sender, target, args),
                              daemon=True)
    process.start()
    sender.close()  # the child's copy is the only one left: its end closes the pipe
    _started[:] = [p for p in _started if p.is_alive()] + [process]
    for handle in _held.values():
        if not handle.closed:  # says who holds it, for the message that refuses a second training
            _write_holders(handle, [os.getpid(), *(p.pid for p in _started)])
    return Child(process, errors, what)


def run_workers(entry: Callable[[Any], Any], args: Any, processes: int) -> None:
    """entry(args) in `processes` data-parallel processes on this machine, as `torchrun --standalone
    --nproc_per_node N` would start them; returns when all have finished."""
    from nanogenie.training.distributed import free_port

    port = str(free_port())
    threads = torch_threads("workers", processes)
    wait([start(entry, args, threads=threads[rank], what=f"training process {rank + 1} of {processes}",
                env=dict(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, RANK=str(rank), LOCAL_RANK=str(rank),
                         WORLD_SIZE=str(processes)))
          for rank in range(processes)])


def join_torchrun() -> None:
    """Make a process torchrun started follow the rules of those `start` starts: it dies with its parent
    and takes its threads from the one policy."""
    die_with_parent()
    on_this_machine = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))  # torchrun's processes per node
    torch.set_num_threads(torch_threads("workers", on_this_machine)[0])


def start_beside(target: Callable[..., Any], *args: Any, what: str) -> tuple[Child, int]:
    """target(*args) in a second process that trains beside this one, the two sharing this process's
    threads (device.torch_threads). Returns the child and this process's threads before, which
    `wait_beside` gives back."""
    threads = torch.get_num_threads()
    mine, theirs = torch_threads("stages", 2)
    child = start(target, *args, threads=theirs, what=what)
    torch.set_num_threads(mine)
    return child, threads


def wait_beside(child: Child, threads: int) -> None:
    """Wait for a child `start_beside` started, then take back the threads it was lent."""
    wait([child])
    torch.set_num_threads(threads)


def wait(children: list[Child]) -> None:
    """Wait for every child. When one fails, stop the others and raise one line: the error a failed
    child sent, else a kill (whose peers' errors follow from it), else the first failure's."""
    try:
        running = list(children)
        while running:
            connection.wait([child.process.sentinel for child in running])
            running = [child for child in running if child.process.exitcode is None]
            failed = [child for child in children if child.failure() is not None]
            if failed:
                stop(children)
                chosen = min(failed, key=_cause_first)
                kind, text = chosen.said() or ("", "")
                if kind != "error":  # a line break after the progress bar the child left open
                    print("\n" + text if kind == "traceback" else "", file=sys.stderr)
                raise chosen.failure()
    finally:
        stop(children)


def _cause_first(child: Child) -> int:
    """A child's own error first, then a kill (its peers' errors follow from it), then a crash."""
    if (child.said() or ("",))[0] == "error":
        return 0
    return 1 if child.process.exitcode < 0 else 2


def stop(children: list[Child]) -> None:
    """End the children that still run (the parent is stopping first); their checkpoints stay."""
    for child in children:
        if child.process.is_alive():
            child.process.terminate()
    for child in children:
        child.process.join()


def die_with_parent(parent: int | None = None) -> None:
    """Have this process killed when its parent exits; exit now if it already has (`parent`: its pid
    when it was started; default: the parent now)."""
    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the kernel was told
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


class _PassedLock:
    """A held run lock on its way to a child: pickled as its file descriptor, which the spawn start
    method keeps open in the child (multiprocessing's DupFd), so the child holds the same lock."""

    def __init__(self, key: str, handle: IO):
        self.key, self.fd = key, handle.fileno()

    def __reduce__(self):
        return _adopt_lock, (self.key, reduction.DupFd(self.fd))


def _adopt_lock(key: str, dup) -> str:
    _inherited[key] = os.fdopen(dup.detach(), "a+")
    return key


def _child(parent: int, locks: list[str], env: dict[str, str], threads: int, errors: connection.Connection,
           target: Callable[..., Any], args: tuple) -> None:
    die_with_parent(parent)  # `locks` were adopted as the arguments were unpickled
    os.environ.update(env)
    torch.set_num_threads(threads)
    # tqdm's default lock is a multiprocessing semaphore, which a spawned process cannot share anyway;
    # one left by a killed child makes the resource tracker print a warning after the run's own message
    tqdm.set_lock(threading.RLock())
    try:
        target(*args)
    except UserError as err:
        errors.send(("error", str(err)))
        sys.exit(EXIT_CODE)
    except KeyboardInterrupt:  # the terminal's Ctrl-C reaches every process; the parent says so
        sys.exit(130)
    except Exception:  # the parent prints it if it is the cause, not an echo of another process's end
        errors.send(("traceback", traceback.format_exc()))
        sys.exit(1)
