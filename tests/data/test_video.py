import av
import numpy as np
import pytest

from nanogenie.cli import main
from nanogenie.data import load_dataset


def _write_moving_square_video(path, seconds=2, fps=30, width=128, height=96):
    """A red square sliding left to right over a blue background, encoded with H.264."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(seconds * fps):
            image = np.zeros((height, width, 3), np.uint8)
            image[..., 2] = 200
            x = 16 + i  # moves 59 px in 2 s, all inside the centre square (16..112)
            image[40:56, x: x + 16] = (230, 30, 30)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _red_centre_x(frame):
    red = (frame[..., 0] > 150) & (frame[..., 2] < 120)
    return np.nonzero(red)[1].mean()


def test_import_resamples_crops_and_scales(tmp_path, capsys):
    video, out = tmp_path / "clip.mp4", tmp_path / "clip.h5"
    _write_moving_square_video(video)
    assert main(["data", "import", str(video), "--out", str(out), "--fps", "10", "--size", "32"]) == 0
    assert "20 frames" in capsys.readouterr().out
    data = load_dataset(out)
    assert data.frames.shape == (20, 32, 32, 3)
    assert data.actions is None and data.fps == 10 and data.source == "clip.mp4"
    assert data.episodes() == [(0, 20)]
    # Background stays blue; the square moved right by ~3 source px per output frame (1 px at 32/96 scale).
    assert data.frames[:, 2, 2, 2].min() > 150
    xs = np.array([_red_centre_x(f) for f in data.frames])
    assert np.all(np.diff(xs) > 0)
    assert abs((xs[-1] - xs[0]) - 57 / 3) < 2  # frame 0 -> frame 57 of the source, scaled by 1/3


def test_undecodable_video_exits_2(tmp_path, capsys):
    junk = tmp_path / "x.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    assert main(["data", "import", str(junk), "--out", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(junk) in err and "could not be decoded" in err
    assert not (tmp_path / "x.h5").exists()


def test_a_video_too_small_or_too_slow_is_refused_not_upscaled_or_repeated(tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    _write_moving_square_video(video, seconds=1)  # 128x96 at 30 fps
    for flags, expected in [(["--size", "128"], "frames are 128x96, so the largest square is 96 pixels, smaller "
                                                 "than --size 128 (upscaling invents no detail); pass --size 96 or less"),
                            (["--fps", "60"], "has 30 frames per second, fewer than --fps 60, so frames would repeat")]:
        assert main(["data", "import", str(video), "--out", str(tmp_path / "x.h5"), *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err
        assert not (tmp_path / "x.h5").exists()
    assert main(["data", "import", str(video), "--out", str(tmp_path / "x.h5"), "--size", "96", "--fps", "30"]) == 0
    assert load_dataset(tmp_path / "x.h5").frames.shape == (30, 96, 96, 3)


def test_crop_keeps_the_region_and_is_checked_against_the_frame(tmp_path, capsys):
    video, out = tmp_path / "clip.mp4", tmp_path / "clip.h5"
    _write_moving_square_video(video)  # 128x96, 60 frames; the square's rows are 40-55, its x from 16 + frame
    # Cropping x 64-127, y 32-95 leaves the square out at the start (x 16-31) and keeps it at the end (x 73-88),
    # its rows at 8-23 of the 64 px region.
    assert main(["data", "import", str(video), "--out", str(out), "--fps", "10", "--size", "32",
                 "--crop", "64,32,64,64"]) == 0
    frames = load_dataset(out).frames
    red = (frames[..., 0] > 150) & (frames[..., 2] < 120)  # (N, 32, 32)
    assert not red[0].any()  # at frame 0 the square (x 16-31) lies left of the region
    rows = np.nonzero(red[-1].any(axis=1))[0]
    assert 3 <= rows.min() and rows.max() <= 12  # source rows 40-55 -> region rows 8-23 -> 4-11 at half scale
    for crop, expected in [("100,0,64,64", "--crop 100,0,64,64 reaches past its 128x96 frames; keep LEFT + WIDTH <= 128"),
                           ("0,0,40,40", "--crop region is 40x40, so the largest square is 40 pixels, smaller than "
                                         "--size 64")]:
        assert main(["data", "import", str(video), "--out", str(tmp_path / "x.h5"), "--crop", crop]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err
    with pytest.raises(SystemExit) as exit_:
        main(["data", "import", str(video), "--out", str(tmp_path / "x.h5"), "--crop", "1,2,3"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --crop: expected LEFT,TOP,WIDTH,HEIGHT" in err
    assert not (tmp_path / "x.h5").exists()


def test_several_videos_become_several_episodes(tmp_path, capsys):
    first, second, out = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "ab.h5"
    _write_moving_square_video(first, seconds=2)
    _write_moving_square_video(second, seconds=1)
    assert main(["data", "import", str(first), str(second), "--out", str(out), "--fps", "10", "--size", "32"]) == 0
    assert "30 frames" in capsys.readouterr().out
    data = load_dataset(out)
    assert data.episodes() == [(0, 20), (20, 30)]  # no transition from a.mp4's last frame to b.mp4's first
    assert data.source == "a.mp4, b.mp4"
    xs = np.array([_red_centre_x(f) for f in data.frames])
    assert xs[20] < xs[19]  # the square starts again at the left in the second video


def test_a_video_too_short_for_one_transition_is_refused(tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    _write_moving_square_video(video, seconds=1)  # 30 frames in 1 s: one frame at 1 fps
    assert main(["data", "import", str(video), "--out", str(tmp_path / "x.h5"), "--fps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gives 1 frame at --fps 1, and an episode needs two" in err
    assert not (tmp_path / "x.h5").exists()
