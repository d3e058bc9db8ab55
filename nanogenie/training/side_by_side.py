"""The tokenizer and the LAM trained at the same time, in two processes, on a CPU with threads to share.

The LAM learns from pixels alone, so it need not wait for the tokenizer. On a CPU the two stages are
best run side by side, each in its own process on half the torch threads: at these models' widths a
second thread in one process buys nothing, while a second process keeps a second core at work
(docs/lab/NOTES.md, "Training on this CPU" and "Tokenizer and LAM side by side").

The processes share only the run folder: the data cache (written before the second process starts),
each stage's own checkpoints and weights, and log.jsonl, to which each appends whole lines.
"""

from __future__ import annotations

import argparse
import sys
from multiprocessing.connection import Connection
from typing import Any, Callable

import torch
import torch.multiprocessing as mp

from nanogenie.errors import EXIT_CODE, UserError


def wanted(to_run: list[str], device: str, processes: int, sequential: bool) -> bool:
    """Train the LAM beside the tokenizer? Only on a CPU, in a single-process run, with >= 2 torch threads."""
    return (not sequential and processes == 1 and device == "cpu" and torch.get_num_threads() >= 2
            and "tokenizer" in to_run and "lam" in to_run)


class Beside:
    """target(args, *rest) running in a new process with `threads` torch threads (args and rest picklable).
    A UserError there comes back through a pipe, so the user reads one line: the stage's own error, raised
    here by `finish`."""

    def __init__(self, target: Callable[..., Any], args: argparse.Namespace, *rest: Any, threads: int, what: str):
        self.what = what
        context = mp.get_context("spawn")
        self.errors, sender = context.Pipe(duplex=False)
        self.process = context.Process(target=_run, args=(target, threads, sender, args, *rest), daemon=True)
        self.process.start()

    def finish(self) -> None:
        """Wait for the process; if it failed, raise its error (or say how it ended)."""
        self.process.join()
        if self.process.exitcode == 0:
            return
        where = f"the {self.what}, trained in a second process beside the tokenizer"
        if self.errors.poll():
            raise UserError(f"{self.errors.recv()} ({where})")
        raise UserError(f"{where}, stopped with exit code {self.process.exitcode} (its traceback is above); "
                        f"rerun with --resume once it is fixed")

    def stop(self) -> None:
        """End the process if this one stops first (an error or Ctrl-C): its checkpoints stay for --resume."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()


def _run(target: Callable[..., Any], threads: int, errors: Connection, *args: Any) -> None:
    torch.set_num_threads(threads)
    try:
        target(*args)
    except UserError as err:
        errors.send(str(err))
        sys.exit(EXIT_CODE)
    except KeyboardInterrupt:  # the terminal's Ctrl-C reaches both processes; the parent says so
        sys.exit(130)
