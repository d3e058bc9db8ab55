import av
import numpy as np

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
