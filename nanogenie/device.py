"""Where models run and in which precision: the one home for device choice, play dtype and autocast."""

from __future__ import annotations

import contextlib

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


def autocast_for(device: str, amp: bool):
    """Training and pre-computation precision: bf16 autocast on CUDA when amp is on; nothing on CPU."""
    if amp and device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
