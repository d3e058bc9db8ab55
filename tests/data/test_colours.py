import numpy as np

from nanogenie.cli import main
from nanogenie.data import write_dataset
from nanogenie.data.colours import frame_pairs, sprite_colours

PLAYER, WALL, BLINK, BACKGROUND = (40, 200, 90), (120, 120, 120), (230, 40, 40), (8, 8, 24)


def scene(num_frames: int = 200, size: int = 32) -> np.ndarray:
    """(N, size, size, 3): a dark background, a still grey wall, a 2 x 2 green player stepping right one pixel a
    frame and wrapping, and a red dot that shows in one frame of four."""
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    frames[:] = BACKGROUND
    frames[:, 28:30, :] = WALL
    for t in range(num_frames):
        x = t % (size - 2)
        frames[t, 10:12, x:x + 2] = PLAYER
        if t % 4 == 0:
            frames[t, 20, 5] = BLINK
    return frames


def test_the_player_is_listed_and_scenery_still_things_and_rare_things_are_not():
    frames = scene()
    found = sprite_colours(frames[:-1], frames[1:])
    assert [c.rgb for c in found] == [PLAYER]
    player = found[0]
    assert player.present == 1.0 and player.moving == 1.0
    assert abs(player.area - 4 / 32 ** 2) < 1e-9
    assert player.focus_flag() == '--set "lam.focus=[40,200,90]"'


def test_colours_near_each_other_read_as_one_at_their_mean():
    frames = scene()
    frames[1::2, 10:12] = np.where(frames[1::2, 10:12] == PLAYER, np.array(PLAYER) + 3, frames[1::2, 10:12])
    found = sprite_colours(frames[:-1], frames[1:])
    assert len(found) == 1 and abs(found[0].rgb[0] - 41.5) <= 0.5  # compression jitter is not a second sprite


def test_pairs_never_span_two_episodes():
    pairs = frame_pairs([(0, 5), (5, 6), (6, 10)], count=100)
    assert pairs.tolist() == [0, 1, 2, 3, 6, 7, 8]
    drawn = frame_pairs([(0, 1000)], count=50, seed=3)
    assert len(drawn) == 50 and np.all(np.diff(drawn) > 0) and drawn.max() < 999


def test_data_info_lists_the_colours_with_the_flag_to_train_on(tmp_path, capsys):
    path = tmp_path / "clip.h5"
    write_dataset(path, scene(), None, np.array([100, 200]), fps=10, source="unit test")
    assert main(["data", "info", str(path), "--colours"]) == 0
    out = capsys.readouterr().out
    assert ' 40,200, 90   moves in 100% of frames, shown in 100%, covers 0.39% of the frame   --set "lam.focus=[40,200,90]"' in out
    assert "120,120,120" not in out and "230, 40, 40" not in out


def test_data_info_says_when_nothing_small_moves(tmp_path, capsys):
    path = tmp_path / "still.h5"
    frames = np.zeros((20, 16, 16, 3), np.uint8)
    write_dataset(path, frames, None, np.array([20]), fps=10, source="unit test")
    assert main(["data", "info", str(path), "--colours"]) == 0
    assert "nothing small moves in a colour of its own" in capsys.readouterr().out


def test_a_colour_that_straddles_a_bin_edge_is_listed_once():
    frames = scene()
    jittered = np.array(PLAYER) + (0, 0, 6)  # blue 90 and 96 fall in two bins 16 wide, 6 apart
    frames[1::2, 10:12] = np.where(frames[1::2, 10:12] == PLAYER, jittered, frames[1::2, 10:12])
    found = sprite_colours(frames[:-1], frames[1:])
    assert len(found) == 1 and found[0].present == 1.0 and abs(found[0].rgb[2] - 93) <= 1
