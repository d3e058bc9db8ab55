"""The tokenizer and the LAM trained at the same time, in two processes, on a CPU with threads to share.

The LAM learns from pixels alone, so it need not wait for the tokenizer. On a CPU the two stages are
best run side by side, each in its own process on half the torch threads: at these models' widths a
second thread in one process buys nothing, while a second process keeps a second core at work
(docs/lab/NOTES.md, "Training on this CPU" and "Tokenizer and LAM side by side").

The processes share only the run folder: the data cache (written before the second process starts),
each stage's own checkpoints and weights, and log.jsonl, to which each appends whole lines. The LAM's
process is started like every other (training/launch.py): it holds the run's lock and dies with its parent.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import torch

from nanogenie.training import launch

WHAT = "the LAM's training in a second process beside the tokenizer"  # how messages name it


def wanted(to_run: list[str], device: str, processes: int, sequential: bool) -> bool:
    """Train the LAM beside the tokenizer? Only on a CPU, in a single-process run, with >= 2 torch threads."""
    return (not sequential and processes == 1 and device == "cpu" and torch.get_num_threads() >= 2
            and "tokenizer" in to_run and "lam" in to_run)


def start(target: Callable[..., Any], args: argparse.Namespace, *rest: Any) -> tuple[launch.Child, int]:
    """target(args, *rest) in a second process on half the torch threads; this one keeps the other half.
    Returns the process and this one's thread count before, to restore once the LAM has finished."""
    threads = torch.get_num_threads()
    child = launch.start(target, args, *rest, threads=threads // 2, what=WHAT)
    torch.set_num_threads(threads - threads // 2)
    return child, threads
