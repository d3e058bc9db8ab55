import dataclasses
import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from nanogenie import atomic, device
from nanogenie.config import StageConfig, TrainConfig, preset, with_overrides
from nanogenie.errors import UserError
from nanogenie.training import checkpoint as ckpt
from nanogenie.training.distributed import Distributed, free_port, setup_distributed
from nanogenie.training.loop import lr_at, sample_indices, train_stage
from nanogenie.training.plots import read_log
from nanogenie.training.run_folder import JsonlLog, RunFolder, read_records

from .toy import ToyModel, toy_stage

CFG = TrainConfig(tokenizer=StageConfig(steps=12, clip_frames=1, batch_size=4, lr=1e-2), warmup_steps=2, checkpoint_every=4, keep_checkpoints=2, log_every=1)


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def _fresh_model(**kwargs) -> ToyModel:
    torch.manual_seed(0)
    return ToyModel(**kwargs)


def test_lr_schedule_warms_up_then_decays():
    lrs = [lr_at(s, 1.0, 4, 20) for s in range(20)]
    assert lrs[0] == pytest.approx(0.25) and lrs[3] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))
    assert lrs[-1] > 0.1 - 1e-9
    to_zero = [lr_at(s, 1.0, 0, 20, final=0.0) for s in range(21)]  # a stage's own final_lr and warmup
    assert to_zero[0] == 1.0 and to_zero[10] == pytest.approx(0.5) and to_zero[20] == pytest.approx(0.0)


def test_a_stage_may_set_its_own_warmup_and_final_lr():
    config = with_overrides(preset("tiny"), ["train.lam_inverse.warmup_steps=0", "train.lam_inverse.final_lr=0"])
    assert config.train.lam_inverse.warmup_steps == 0 and config.train.lam.warmup_steps is None
    with pytest.raises(UserError, match="final_lr"):
        with_overrides(preset("tiny"), ["train.lam.final_lr=2"])


def test_training_lowers_loss_and_logs(tmp_path):
    model = _fresh_model()
    log = JsonlLog(tmp_path / "log.jsonl")
    train_stage(toy_stage(model, steps=30), CFG, RunFolder(tmp_path), Distributed(), resume=False, log=log)
    records = read_log(tmp_path / "log.jsonl")
    assert [r["step"] for r in records] == list(range(1, 31))
    assert records[-1]["loss"] < records[0]["loss"]
    assert set(records[0]) == {"stage", "step", "loss", "metrics", "lr", "elapsed"}
    kept = ckpt.list_checkpoints(tmp_path / "checkpoints" / "tokenizer")
    assert [p.name for p in kept] == ["step_00000028", "step_00000030"]  # keep_checkpoints=2
    final = load_file(str(tmp_path / "tokenizer.safetensors"))
    assert all(torch.equal(final[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("cpu_bf16", [False, True])
def test_a_stage_trains_under_cpu_bf16_autocast_only_when_it_asks(tmp_path, monkeypatch, cpu_bf16):
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    model, seen = _fresh_model(), []
    stage = toy_stage(model, steps=20)
    loss = stage.loss
    stage = dataclasses.replace(stage, loss=lambda *batch: (seen.append(torch.is_autocast_enabled("cpu")), loss(*batch))[1])
    cfg = TrainConfig(tokenizer=StageConfig(steps=20, clip_frames=1, batch_size=4, lr=1e-2, cpu_bf16=cpu_bf16),
                      warmup_steps=2, checkpoint_every=10, log_every=1)
    train_stage(stage, cfg, RunFolder(tmp_path), Distributed(), resume=False, log=JsonlLog(tmp_path / "log.jsonl"))
    assert seen == [cpu_bf16] * 20
    records = read_log(tmp_path / "log.jsonl")
    assert records[-1]["loss"] < records[0]["loss"]
    assert all(v.dtype == torch.float32 for v in load_file(str(tmp_path / "tokenizer.safetensors")).values())


def test_resume_after_interrupt_matches_an_uninterrupted_run(tmp_path):
    reference = _fresh_model()
    train_stage(toy_stage(reference, steps=12), CFG, RunFolder(tmp_path / "a"), Distributed(), False, JsonlLog(None))

    class Killed(Exception):
        pass

    def kill_at_step_6(stage: str, step: int) -> None:
        if step == 6:
            raise Killed

    run = RunFolder(tmp_path / "b")
    with pytest.raises(Killed):
        train_stage(toy_stage(_fresh_model(), steps=12), CFG, run, Distributed(), False, JsonlLog(None),
                    on_step=kill_at_step_6)
    assert run.latest_checkpoint("tokenizer").name == "step_00000004"  # steps 5-6 are lost
    resumed = ToyModel()  # different init: everything must come from the checkpoint
    train_stage(toy_stage(resumed, steps=12), CFG, run, Distributed(), True, JsonlLog(None))
    for name, value in reference.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)


def test_nan_loss_stops_with_stage_and_step_and_keeps_checkpoint(tmp_path):
    model = _fresh_model(nan_at_call=7)
    with pytest.raises(UserError, match=r"tokenizer loss became nan at step 7.*step_00000004"):
        train_stage(toy_stage(model, steps=12), CFG, RunFolder(tmp_path), Distributed(), False, JsonlLog(None))
    restored = ToyModel()
    assert ckpt.load_checkpoint(RunFolder(tmp_path).latest_checkpoint("tokenizer"), restored) == 4
    assert all(torch.isfinite(v).all() for v in restored.state_dict().values())


def test_interrupted_checkpoint_write_leaves_previous_loadable(tmp_path, monkeypatch):
    model = _fresh_model()
    optimizer = torch.optim.AdamW(model.parameters())
    first = ckpt.save_checkpoint(tmp_path / "lam", 4, model, optimizer, keep=2)
    saved = _weights(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)

    def crash(src, dst):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path / "lam", 8, model, optimizer, keep=2)
    monkeypatch.undo()
    assert ckpt.latest_checkpoint(tmp_path / "lam") == first
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # and the half-written one is gone
    restored = ToyModel()
    assert ckpt.load_checkpoint(first, restored, torch.optim.AdamW(restored.parameters())) == 4
    assert all(torch.equal(restored.state_dict()[k], v) for k, v in saved.items())


def test_interrupted_weights_write_keeps_old_file(tmp_path, monkeypatch):
    model = _fresh_model()
    path = tmp_path / "lam.safetensors"
    ckpt.save_weights_atomic(model, path)
    before = path.read_bytes()
    with torch.no_grad():
        model.net[0].weight.add_(1.0)
    monkeypatch.setattr(atomic.os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError):
        ckpt.save_weights_atomic(model, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]


def _ddp_worker(rank: int, world_size: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist = setup_distributed("cpu")
    torch.manual_seed(100 + rank)  # different inits: the broadcast must make them equal
    model = ToyModel(noise=0.0)  # no per-rank draws, so two half batches equal one whole batch
    train_stage(toy_stage(model, steps=6, batch_size=8), CFG, RunFolder(out), dist, False, JsonlLog(None))
    torch.save(model.state_dict(), Path(out) / f"rank{rank}.pt")
    dist.close()


def test_ranks_share_one_batch_of_batch_size_items():
    single = sample_indices(100, 6, torch.Generator().manual_seed(3), rank=0, world_size=1)
    shares = [sample_indices(100, 6, torch.Generator().manual_seed(3), rank=r, world_size=3) for r in range(3)]
    assert [len(s) for s in shares] == [2, 2, 2] and sum(shares, []) == single
    weights = torch.arange(100, dtype=torch.float64)
    single = sample_indices(100, 6, torch.Generator().manual_seed(3), 0, 1, weights)
    shares = [sample_indices(100, 6, torch.Generator().manual_seed(3), r, 3, weights) for r in range(3)]
    assert sum(shares, []) == single and 0 not in single  # item 0 has no weight


@pytest.mark.slow
def test_two_gloo_ranks_end_identical_and_equal_one_big_batch(tmp_path):
    mp.spawn(_ddp_worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    rank0 = torch.load(tmp_path / "rank0.pt")
    rank1 = torch.load(tmp_path / "rank1.pt")
    torch.manual_seed(100)  # rank 0's init
    single = ToyModel(noise=0.0)
    train_stage(toy_stage(single, steps=6, batch_size=8), CFG, RunFolder(tmp_path / "single"), Distributed(), False,
                JsonlLog(None))
    for name, value in rank0.items():
        assert torch.equal(value, rank1[name])
        torch.testing.assert_close(value, single.state_dict()[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("damage", ["cut_weights", "garbage_optimizer"])
def test_resume_skips_a_damaged_checkpoint_for_the_one_before(tmp_path, capsys, damage):
    run = RunFolder(tmp_path / "run")
    train_stage(toy_stage(_fresh_model(), steps=8), CFG, run, Distributed(), False, JsonlLog(None))
    newest = run.latest_checkpoint("tokenizer")
    assert newest.name == "step_00000008"
    if damage == "cut_weights":
        data = (newest / "model.safetensors").read_bytes()
        (newest / "model.safetensors").write_bytes(data[:len(data) // 2])
    else:
        (newest / "optimizer.pt").write_bytes(b"not a pickle at all")
    resumed = ToyModel()
    train_stage(toy_stage(resumed, steps=8), CFG, run, Distributed(), True, run.log())
    err = capsys.readouterr().err
    assert "step_00000008" in err and "trying the one before" in err and "resuming from step 4" in err
    for stage_step in [(r["stage"], r["step"]) for r in read_log(run.log_file)]:
        assert stage_step[1] <= 8


def test_resume_with_no_readable_checkpoint_is_one_line(tmp_path):
    run = RunFolder(tmp_path / "run")
    train_stage(toy_stage(_fresh_model(), steps=8), CFG, run, Distributed(), False, JsonlLog(None))
    for checkpoint in ckpt.list_checkpoints(run.checkpoints("tokenizer")):
        (checkpoint / "model.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(UserError, match="no checkpoint of tokenizer .* can be read"):
        train_stage(toy_stage(ToyModel(), steps=8), CFG, run, Distributed(), True, JsonlLog(None))


def test_a_resumed_run_logs_each_step_once_and_a_torn_last_line_is_skipped(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.make()
    path = run.log_file

    class Killed(Exception):
        pass

    def kill_at_step_6(stage: str, step: int) -> None:
        if step == 6:
            raise Killed

    with pytest.raises(Killed):
        train_stage(toy_stage(_fresh_model(), steps=12), CFG, run, Distributed(), False, JsonlLog(path),
                    on_step=kill_at_step_6)
    with open(path, "a") as f:
        f.write('{"stage": "tokenizer", "st')  # the kill tore the last line
    train_stage(toy_stage(ToyModel(), steps=12), CFG, run, Distributed(), True, JsonlLog(path))
    steps = [r["step"] for r in read_records(path)]
    assert steps == list(range(1, 13))  # 5 and 6 were replayed: logged once, not twice
