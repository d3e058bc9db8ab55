"""The one atomic write: old or new, never half; temp files removed on any failure; a full disk is one line."""

import numpy as np
import pytest
import torch

from nanogenie import atomic
from nanogenie.config import preset
from nanogenie.errors import UserError
from nanogenie.world import load_world

from world_helpers import save_random_world


def test_write_bytes_replaces_the_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a.json"
    atomic.write_bytes(path, b"old")
    atomic.write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_full_disk_keeps_the_old_file_removes_the_temp_and_says_so(tmp_path, fill_disk):
    path = tmp_path / "a.json"
    atomic.write_bytes(path, b"old")
    fill_disk("a.json")
    with pytest.raises(UserError, match=r"the disk is full: .*a.json could not be written; the previous a.json is "
                                        r"unchanged. Free space .* then rerun with --resume"):
        atomic.write_bytes(path, b"new" * 1000, then=atomic.RESUME)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_other_write_errors_keep_their_type_and_remove_the_temp(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.os, "replace", lambda src, dst: (_ for _ in ()).throw(PermissionError("no")))
    with pytest.raises(PermissionError):
        atomic.write_bytes(tmp_path / "a", b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_written_in_place_is_removed_when_interrupted(tmp_path):
    final = tmp_path / "step_00000010"
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C or SIGTERM mid-write
        with atomic.replacing(final) as tmp:
            tmp.mkdir()
            atomic.write_synced(tmp / "model.safetensors", b"x")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic.replacing(final) as tmp:
        tmp.mkdir()
        atomic.write_synced(tmp / "state.json", b"{}")
    assert [p.name for p in tmp_path.iterdir()] == [final.name] and (final / "state.json").read_bytes() == b"{}"


def test_a_bundle_write_that_fills_the_disk_leaves_the_old_bundle_whole(tmp_path, fill_disk):
    config = preset("tiny")
    prompt = np.zeros((4, 16, 16, 3), np.uint8)
    path = save_random_world(tmp_path / "w", config, prompt)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    torch.manual_seed(1)
    fill_disk("dynamics.safetensors")  # after the tokenizer's and the LAM's were written
    with pytest.raises(UserError, match="the disk is full: .*dynamics.safetensors could not be written; the bundle "
                                        "there before is unchanged"):
        save_random_world(path, config, prompt + 1)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before  # no temp left, no file replaced
    load_world(path)
