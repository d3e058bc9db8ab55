"""Data-parallel training under `torchrun`: process group, device per rank, gradient averaging.

One process per device (or, on a CPU, per core: `--processes N` starts them without torchrun,
training/launch.py). When WORLD_SIZE > 1 (set by torchrun) every rank builds the same models,
rank 0's initial weights are broadcast, each rank draws its own share of every batch, and the
gradients are averaged with one all_reduce over a flat buffer per step, so all ranks apply the
same update and stay identical. Only rank 0 writes files; the others wait at barriers.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from nanogenie.device import resolve_device


BARRIER_TIMEOUT = timedelta(hours=3)


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    device: str = "cpu"  # this rank's device, e.g. "cuda:1"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of a tensor over ranks (itself when not distributed)."""
        if not self.active:
            return value
        value = value.detach().clone()
        dist.all_reduce(value)
        return value / self.world_size

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Make every rank start from rank 0's weights."""
        if self.active:
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Average .grad over ranks in one collective; a missing grad counts as zero."""
        if not self.active:
            return
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
            offset += n

    def merge(self, share: dict) -> dict:
        """Every rank's share of a job (disjoint keys, picklable values) -> the whole, on every rank."""
        if not self.active:
            return share
        shares = [None] * self.world_size
        dist.all_gather_object(shares, share)
        return {key: value for part in shares for key, value in part.items()}

    def check_in_sync(self, module: torch.nn.Module, what: str) -> None:
        """Fail loudly if the ranks' weights have drifted apart (they must be bit-identical)."""
        if not self.active:
            return
        with torch.no_grad():
            checksum = torch.stack([t.double().sum() for t in module.state_dict().values()]).to(self.device)
        gathered = [torch.empty_like(checksum) for _ in range(self.world_size)]
        dist.all_gather(gathered, checksum)
        if not all(torch.equal(g, gathered[0]) for g in gathered):
            raise RuntimeError(f"{what} weights differ between ranks after training; data-parallel sync is broken")

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def setup_distributed(device_request: str) -> Distributed:
    """Join the torchrun process group when there is one; pick this rank's device."""
    device = resolve_device(device_request)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed(device=device)
    rank = int(os.environ["RANK"])
    if device.startswith("cuda"):
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    if not dist.is_initialized():
        # The other ranks wait at a barrier while rank 0 evaluates and writes the world; on a slow CPU that
        # can outlast the default 30 minutes, after which they would abort a finished training.
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo",
                                timeout=BARRIER_TIMEOUT)
    return Distributed(rank=rank, world_size=world_size, device=device)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for the processes' rendezvous."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
