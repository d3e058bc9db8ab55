"""Where models run, in which precision and on how many threads: the one home for device choice, play
dtype, autocast and the thread policy."""

from __future__ import annotations

import contextlib
import functools
import os
import re
from pathlib import Path

import torch

from nanogenie.errors import UserError


def resolve_device(request: str) -> str:
    """'auto' -> cuda when available, else cpu; 'cuda' (or 'cuda:N') without a GPU is a user error."""
    if request == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if request not in ("cpu", "cuda") and not request.startswith("cuda:"):
        raise UserError(f"unknown --device {request!r}; use auto, cpu or cuda")
    if request.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {request} asked for a GPU but torch sees no CUDA device; use --device cpu or auto")
    return request


def model_dtype(device: str) -> torch.dtype:
    """Play precision: bf16 halves memory traffic on GPUs; on CPUs fp32 (measured faster here)."""
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def autocast_for(device: str, amp: bool, cpu_bf16: bool = False):
    """Training and pre-computation precision: bf16 autocast on CUDA when amp is on; on a CPU only when
    `cpu_bf16` asks for it and the CPU multiplies bf16 in hardware; else fp32."""
    if amp and device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if cpu_bf16 and device == "cpu" and cpu_has_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512_BF16 or AMX). With them a bf16 matrix product runs
    ~3.7x faster than fp32 on the 2-core EPYC of docs/lab; without them torch emulates bf16, slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no way to tell here, so fp32
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def torch_threads(job: str, processes: int = 1) -> list[int]:
    """The torch threads of each of `processes` processes doing `job` on this machine, the caller's first:
    the one thread policy, which every process of a training and of play sets. The pool is what this
    process has (torch's default: OMP_NUM_THREADS when set, else a thread per physical core).

    - "stages": stages of one training running at once (the LAM beside the tokenizer) share the pool as
      evenly as whole threads allow, the odd one staying with the caller. At these models' widths a
      second thread in one process buys little, while a second process keeps a second core busy
      (docs/lab/NOTES.md, "Training on this CPU").
    - "workers": data-parallel processes (`--processes N`, torchrun's) sharing the machine get one thread
      each, as torchrun gives them, unless OMP_NUM_THREADS says otherwise; a process alone on its
      machine keeps the pool. One each also trains the same weights on any machine (a thread count
      changes the kernels' sums).
    - "play": one process that leaves a core to the app's main loop (pygame, the recorder) and whatever
      else the machine runs: with every core given to torch and one of them busy, each frame waits on
      the slowest thread. OMP_NUM_THREADS, when set, wins.
    """
    pool = torch.get_num_threads()
    chosen = bool(os.environ.get("OMP_NUM_THREADS"))
    if job == "stages":
        return [max(1, pool // processes + (rank < pool % processes)) for rank in range(processes)]
    if job == "workers":
        return [pool if chosen or processes == 1 else 1] * processes
    if job == "play":
        return [pool if chosen else max(1, (os.cpu_count() or 1) - 1)]
    raise ValueError(f"unknown job {job!r}; the jobs are stages, workers and play")
