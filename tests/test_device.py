"""device.py's thread policy (how many torch threads each process of a training or of play gets) and its training
precision."""

import os

import pytest
import torch

from nanogenie import device
from nanogenie.device import autocast_for, torch_threads


@pytest.fixture
def pool(monkeypatch):
    """pool(n, omp): this process has n torch threads, and OMP_NUM_THREADS is omp (None: unset)."""
    before = torch.get_num_threads()

    def set_pool(n: int, omp: str | None = None) -> None:
        torch.set_num_threads(n)
        if omp is None:
            monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        else:
            monkeypatch.setenv("OMP_NUM_THREADS", omp)

    yield set_pool
    torch.set_num_threads(before)


@pytest.mark.parametrize("threads,shares", [(2, [1, 1]), (3, [2, 1]), (5, [3, 2]), (1, [1, 1])])
def test_stages_side_by_side_share_this_process_threads_the_caller_keeping_the_odd_one(pool, threads, shares):
    pool(threads)
    assert torch_threads("stages", 2) == shares
    assert torch_threads("stages") == [threads]


def test_data_parallel_workers_get_one_thread_each_unless_omp_num_threads_says(pool):
    pool(4)
    assert torch_threads("workers", 2) == [1, 1]
    assert torch_threads("workers", 1) == [4]  # alone on its machine (torchrun --nproc_per_node 1)
    pool(3, omp="3")
    assert torch_threads("workers", 2) == [3, 3]  # torchrun's workers keep what the user chose


def test_play_leaves_a_core_unless_omp_num_threads_says(pool, monkeypatch):
    pool(2)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert torch_threads("play") == [7]
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert torch_threads("play") == [1]
    pool(2, omp="2")
    assert torch_threads("play") == [2]


def test_an_unknown_job_is_refused():
    with pytest.raises(ValueError, match="stages, workers and play"):
        torch_threads("eval")


@pytest.mark.parametrize("has_bf16", [True, False])
def test_cpu_training_runs_in_bf16_only_when_asked_and_the_cpu_has_bf16_instructions(monkeypatch, has_bf16):
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: has_bf16)
    a = torch.randn(4, 8)
    for cpu_bf16 in (False, True):
        with autocast_for("cpu", amp=True, cpu_bf16=cpu_bf16):
            product = a @ a.T
        assert product.dtype == (torch.bfloat16 if cpu_bf16 and has_bf16 else torch.float32)


def test_the_bf16_check_reads_the_cpu_flags(monkeypatch, tmp_path):
    monkeypatch.setattr(device, "Path", lambda _: tmp_path / "cpuinfo")
    for flags, found in [("fpu avx512f avx512_bf16 sse", True), ("fpu amx_bf16", True), ("fpu avx512f avx512_bf166x", False)]:
        (tmp_path / "cpuinfo").write_text(f"flags\t\t: {flags}\n")
        device.cpu_has_bf16.cache_clear()
        assert device.cpu_has_bf16() is found
    (tmp_path / "cpuinfo").unlink()
    device.cpu_has_bf16.cache_clear()
    assert device.cpu_has_bf16() is False  # no /proc/cpuinfo: fp32
    device.cpu_has_bf16.cache_clear()
