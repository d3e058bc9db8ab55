import json

import numpy as np
import pytest

from nanogenie.errors import UserError
from nanogenie.play.recorder import Recorder, frame_crc, frame_digest, paletted, same_content, upscale
from nanogenie.play.runner import RESET, FrameItem


def flat_colour_frames(count=6, size=16, seed=0):
    """Frames like the simulators': a sky, a ground and a block that moves, in a handful of colours."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (3, 3), dtype=np.uint8)
    frames = np.empty((count, size, size, 3), np.uint8)
    for t in range(count):
        frames[t] = colours[0]
        frames[t, size * 3 // 4:] = colours[1]
        frames[t, 4:8, t:t + 4] = colours[2]
    return frames


def record(path, frames, scale):
    with Recorder(path, fps=10, scale=scale, meta={"world": "test"}) as recorder:
        for i, frame in enumerate(frames):
            recorder.write(FrameItem(frame=frame, action=RESET if i == 0 else 2, index=i, serial=i + 1, model_ms=1.0))


def test_gif_of_flat_colours_decodes_to_the_exact_upscaled_frames(tmp_path, decode):
    frames = flat_colour_frames()
    record(tmp_path / "run.gif", frames, scale=3)
    decoded = decode(tmp_path / "run.gif")
    assert len(decoded) == len(frames)
    for got, want in zip(decoded, frames):
        np.testing.assert_array_equal(got, upscale(want, 3))
    log = json.loads((tmp_path / "run.json").read_text())
    assert log["video"] == "run.gif" and [e.get("action") for e in log["events"]] == [None, 2, 2, 2, 2, 2]


def test_palette_of_a_many_coloured_frame_stays_close():
    frame = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)  # 1024 colours, worst case
    palette, indices = paletted(frame)
    assert len(palette) == 256 and indices.shape == (32, 32)
    error = np.abs(palette[indices].astype(int) - frame).mean()
    assert error < 40  # nearest of 256 colours; a flat-colour frame is exact (test above)


def test_other_suffixes_are_refused(tmp_path):
    with pytest.raises(UserError, match=r"\.mp4 or \.gif"):
        Recorder(tmp_path / "run.avi", fps=10)


def test_a_recording_into_a_folder_that_cannot_be_written_is_refused_at_once(tmp_path, monkeypatch):
    import os

    import pytest

    from nanogenie.errors import UserError
    from nanogenie.play.recorder import Recorder

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as a read-only mount answers
    with pytest.raises(UserError, match="not writable"):
        Recorder(tmp_path / "x.mp4", fps=10)


def test_a_disk_that_fills_up_stops_the_video_with_one_error_and_keeps_the_log(tmp_path):
    recorder = Recorder(tmp_path / "full.mp4", fps=10)
    frame = np.zeros((16, 16, 3), np.uint8)
    recorder.write(FrameItem(frame, RESET, 0, 0, 1.0))
    class FullDisk:  # the container, as it behaves once the disk is full
        def __init__(self, real):
            self.real = real

        def mux(self, packet):
            raise OSError(28, "No space left on device")

        def close(self):
            self.real.close()

    recorder._container = FullDisk(recorder._container)
    with pytest.raises(UserError, match="No space left on device; the frames before it are kept"):
        for _ in range(40):  # the encoder buffers a few frames before it writes any
            recorder.write(FrameItem(frame, 1, 1, 1, 1.0))
    recorder.close()  # no second error; the log still lands, and no temp file is left
    log = json.loads((tmp_path / "full.json").read_text())
    assert log["frames"] >= 1 and not list(tmp_path.glob("*.tmp"))


def test_frame_digests_agree_through_rounding_and_not_through_other_content():
    frame = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    rounded = frame.copy()
    rounded[::7, ::5, 1] += 1  # a few hundred values rounded the other way, all over the frame
    assert frame_crc(rounded) != frame_crc(frame)
    assert same_content(frame_digest(rounded), frame_digest(frame))
    patched = frame.copy()
    patched[8:16, 24:32] = 255 - patched[8:16, 24:32]  # one 8 x 8 patch drawn differently
    assert not same_content(frame_digest(patched), frame_digest(frame))
    assert len(frame_digest(frame)) == len(frame_digest(np.zeros((17, 19, 3), np.uint8))) == 384  # any size
