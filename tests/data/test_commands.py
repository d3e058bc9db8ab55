import shutil

import huggingface_hub
import matplotlib.image
import numpy as np
import pytest
from huggingface_hub.errors import LocalEntryNotFoundError

from nanogenie.cli import main
from nanogenie.data import load_dataset, write_dataset
from nanogenie.data.hub import TINYWORLDS_FILES, TINYWORLDS_REPO

from .conftest import indexed_frames


def test_generate_writes_frames_actions_and_episodes(tmp_path, capsys):
    out = tmp_path / "pong.h5"
    assert main(["data", "generate", "--env", "pong", "--frames", "120", "--size", "32", "--seed", "5",
                 "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    data = load_dataset(out)
    assert data.frames.shape == (120, 32, 32, 3)
    assert data.source == "simulator pong: 120 frames at 32px, seed 5, sticky actions" and data.action_names == ["idle", "up", "down"]
    assert data.fps == 10 and data.episode_ends[-1] == 120
    np.testing.assert_array_equal(data.actions[data.episode_ends - 1], -1)
    inner = np.delete(data.actions, data.episode_ends - 1)
    assert inner.min() >= 0 and inner.max() < 3 and len(np.unique(inner)) > 1


def test_generate_random_policy_draws_a_fresh_action_every_frame(tmp_path):
    out = tmp_path / "pong_random.h5"
    assert main(["data", "generate", "--env", "pong", "--frames", "600", "--size", "32", "--policy", "random",
                 "--out", str(out)]) == 0
    data = load_dataset(out)
    assert data.source.endswith("random actions")
    taken = data.actions[data.actions >= 0]
    repeats = (taken[1:] == taken[:-1]).mean()  # sticky holds repeat ~85% of the time; fresh draws of 3: ~1/3
    assert 0.2 < repeats < 0.5, repeats


def test_generate_unknown_env_exits_2(tmp_path, capsys):
    assert main(["data", "generate", "--env", "tetris", "--frames", "10", "--out", str(tmp_path / "t.h5")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tetris" in err and "pong" in err and "sonic" in err
    assert not (tmp_path / "t.h5").exists()


def test_info_summarises_and_writes_a_contact_sheet(small_h5, tmp_path, capsys):
    path, _ = small_h5
    preview = tmp_path / "sheet.png"
    assert main(["data", "info", str(path), "--preview", str(preview)]) == 0
    out = capsys.readouterr().out
    assert "300 of 8x8 RGB at 12 fps" in out
    assert "3 (length min 80 / mean 100.0 / max 120)" in out
    assert "unit test" in out
    # actions are i % 3, but -1 on the episodes' last frames 99 (idle), 179 and 299 (right)
    assert "idle 33.0%  left 33.3%  right 32.7%  (unknown/last frame 1.0%)" in out
    sheet = matplotlib.image.imread(preview)
    # 32 frames, 8 columns x 4 rows, each 8 px frame upscaled 4x with 2 px gaps
    assert sheet.shape[:2] == (4 * 34 + 2, 8 * 34 + 2)


def _fake_hub_download(source_file, calls):
    """Stands in for huggingface_hub.hf_hub_download: copies a local file to where the hub would put it."""

    def download(repo_id, repo_type, filename, local_dir):
        calls.append((repo_id, repo_type, filename))
        target = f"{local_dir}/{filename}"
        shutil.copy(source_file, target)
        return target

    return download


def test_download_validates_and_summarises(tmp_path, monkeypatch, capsys):
    """No network here: the hub call is replaced at its boundary by a copy of a frames-only file made
    below; naming, the output folder, validation and the summary are the real code path."""
    local = tmp_path / "made.h5"
    write_dataset(local, indexed_frames(40))
    calls = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _fake_hub_download(local, calls))
    out_dir = tmp_path / "data"
    out_dir.mkdir()
    assert main(["data", "download", "zelda", "--out", str(out_dir)]) == 0
    assert calls == [(TINYWORLDS_REPO, "dataset", "zelda_frames.h5")]
    assert (out_dir / "zelda_frames.h5").is_file()
    assert "40 of 8x8 RGB" in capsys.readouterr().out


def test_download_of_a_corrupt_file_is_rejected(tmp_path, monkeypatch, capsys):
    """The hub is faked (no network); a downloaded file that is not HDF5 must fail validation."""
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"<html>rate limited</html>")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _fake_hub_download(junk, []))
    assert main(["data", "download", "pong", "--out", str(tmp_path)]) == 2
    assert "pong_frames.h5: is not an HDF5 file" in capsys.readouterr().err


def test_download_unknown_name_lists_the_names(capsys):
    assert main(["data", "download", "tetris"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(name in err for name in TINYWORLDS_FILES)


def test_download_without_network_says_what_to_do(tmp_path, monkeypatch, capsys):
    """The hub call is faked to fail the way huggingface_hub does when offline."""

    def offline(**kwargs):
        raise LocalEntryNotFoundError("An error happened while trying to locate the file on the Hub.")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    assert main(["data", "download", "sonic", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not download sonic_frames.h5" in err and "local" in err


@pytest.mark.parametrize("size", [32, 128])
def test_contact_sheet_scale_follows_frame_size(size):
    from nanogenie.data.preview import contact_sheet

    frames = indexed_frames(5, size)
    sheet = contact_sheet(frames)
    scale = 4 if size == 32 else 2
    cell = size * scale + 2  # a scaled frame and its gap
    assert sheet.shape == (cell + 2, 5 * cell + 2, 3)
    # the second frame's top row, read back at every `scale`-th pixel, is the frame's own top row
    np.testing.assert_array_equal(sheet[2, 2 + cell: 2 + cell + size * scale: scale], frames[1, 0])
