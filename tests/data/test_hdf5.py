import shutil
from collections import namedtuple

import h5py
import numpy as np
import pytest

from nanogenie.cli import main
from nanogenie.data import load_dataset, write_dataset
from nanogenie.errors import UserError

from .conftest import indexed_frames


def test_round_trip_keeps_every_field(small_h5):
    path, data = small_h5
    loaded = load_dataset(path)
    np.testing.assert_array_equal(loaded.frames, data.frames)
    np.testing.assert_array_equal(loaded.actions, data.actions)
    assert loaded.actions.dtype == np.int16
    np.testing.assert_array_equal(loaded.episode_ends, [100, 180, 300])
    assert loaded.episodes() == [(0, 100), (100, 180), (180, 300)]
    assert (loaded.fps, loaded.source, loaded.path) == (12, "unit test", str(path))
    assert loaded.action_names == data.action_names
    with h5py.File(path) as f:  # stored as the format says: chunked, compressed
        assert f["frames"].chunks[1:] == (8, 8, 3) and f["frames"].compression in ("gzip", "lzf")


def test_frames_only_file_loads_as_one_episode(tmp_path):
    path = tmp_path / "tiny.h5"
    frames = indexed_frames(50)
    with h5py.File(path, "w") as f:  # what a TinyWorlds file holds: frames and nothing else
        f.create_dataset("frames", data=frames, compression="lzf")
    data = load_dataset(path)
    assert data.actions is None and data.fps == 10 and data.action_names == []
    assert data.episodes() == [(0, 50)]
    np.testing.assert_array_equal(data.frames, frames)


def test_actions_without_names_get_numbered_names(tmp_path):
    path = tmp_path / "unnamed.h5"
    _write_raw(path, frames=indexed_frames(6), actions=np.array([0, 2, 1, 2, 0, -1], np.int16))
    assert load_dataset(path).action_names == ["action0", "action1", "action2"]


def test_write_is_atomic_and_replaces(tmp_path):
    path = tmp_path / "sub" / "d.h5"
    write_dataset(path, indexed_frames(10))
    write_dataset(path, indexed_frames(20))
    assert len(load_dataset(path)) == 20
    assert sorted(p.name for p in path.parent.iterdir()) == ["d.h5"]  # no temp file left behind


def test_write_rejects_bad_arrays_and_keeps_old_file(tmp_path):
    path = tmp_path / "d.h5"
    write_dataset(path, indexed_frames(10))
    with pytest.raises(UserError, match="episode_ends"):
        write_dataset(path, indexed_frames(12), episode_ends=[5, 11])
    assert len(load_dataset(path)) == 10


def _write_raw(path, attrs=None, **datasets):
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f.create_dataset(name, data=value)
        f.attrs.update(attrs or {})


def _bad_files(tmp_path):
    good = indexed_frames(10)
    (tmp_path / "junk.h5").write_bytes(b"this is not hdf5 at all" * 10)
    _write_raw(tmp_path / "no_frames.h5", images=good)
    _write_raw(tmp_path / "float.h5", frames=good.astype(np.float32) / 255)
    _write_raw(tmp_path / "rank3.h5", frames=good[..., 0])
    _write_raw(tmp_path / "rgba.h5", frames=np.concatenate([good, good[..., :1]], axis=-1))
    _write_raw(tmp_path / "short_actions.h5", frames=good, actions=np.zeros(9, np.int16))
    _write_raw(tmp_path / "bad_ends.h5", frames=good, episode_ends=np.array([6, 4, 10]))
    _write_raw(tmp_path / "ends_short.h5", frames=good, episode_ends=np.array([4, 8]))
    _write_raw(tmp_path / "big_action.h5", frames=good, actions=np.arange(10, dtype=np.int16) % 3,
               attrs={"action_names": '["idle", "jump"]'})
    _write_raw(tmp_path / "bad_fps.h5", frames=good, attrs={"fps": "fast"})
    return {
        "missing.h5": "no such file",
        "junk.h5": "not an HDF5 file",
        "no_frames.h5": "no 'frames' dataset (found: images)",
        "float.h5": "frames are float32, expected uint8",
        "rank3.h5": "expected (N, H, W, 3)",
        "rgba.h5": "frames have shape (10, 8, 8, 4)",
        "short_actions.h5": "actions are int16 (9,)",
        "bad_ends.h5": "episode_ends must be increasing",
        "ends_short.h5": "end at the frame count 10",
        "big_action.h5": "actions hold values outside [-1, 1]",
        "bad_fps.h5": "attribute fps is 'fast'",
    }


def test_bad_files_exit_2_with_one_line_naming_the_file(tmp_path, capsys):
    for name, expected in _bad_files(tmp_path).items():
        path = tmp_path / name
        assert main(["data", "info", str(path)]) == 2, name
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1 and str(path) in captured.err, captured.err
        assert expected in captured.err, captured.err


def test_write_refuses_a_disk_too_full_and_a_failed_write_is_one_error(tmp_path, monkeypatch):
    frames = np.zeros((10, 8, 8, 3), np.uint8)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(1 << 30, 1 << 30, 1 << 10))
    with pytest.raises(UserError, match="MB free"):
        write_dataset(tmp_path / "full.h5", frames)
    monkeypatch.undo()

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(h5py, "File", read_only)  # as opening the temp file on a read-only mount does
    with pytest.raises(UserError, match="could not be written \\(Read-only file system\\)") as caught:
        write_dataset(tmp_path / "x.h5", frames)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # one error, not a chain
