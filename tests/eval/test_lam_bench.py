import json

import numpy as np
import pytest

from nanogenie.cli import main
from nanogenie.data import write_dataset


def _square_world(path, seed: int, episodes: int = 12, length: int = 40) -> None:
    """16x16 frames of a 4x4 square that the action moves (0 stays, 1 left, 2 right, 3 down), a fresh random
    action every frame: the action shows only in x_t+1, so past frames cannot predict it."""
    rng = np.random.default_rng(seed)
    frames, actions, ends = [], [], []
    for _ in range(episodes):
        x, y = rng.integers(2, 10, size=2)
        for t in range(length):
            frame = np.zeros((16, 16, 3), np.uint8)
            frame[y:y + 4, x:x + 4] = 255
            frames.append(frame)
            a = int(rng.integers(4))
            actions.append(a if t < length - 1 else -1)
            x = int(np.clip(x + (a == 2) * 2 - (a == 1) * 2, 0, 12))
            y = (y + 2) % 12 if a == 3 else y
        ends.append(len(frames))
    write_dataset(path, np.stack(frames), np.array(actions, np.int16), np.array(ends), fps=10, source="squares",
                  action_names=["idle", "left", "right", "down"])


def _speck_world(path, seed: int, episodes: int = 12, length: int = 40) -> None:
    """20x20 frames of a 1 px green speck that the action steps one pixel (0 stays, 1 left, 2 right, 3 up,
    4 down) among four grey specks that wander on their own, a fresh random action every frame: the
    action moves 2 of 400 pixels."""
    rng = np.random.default_rng(seed)
    frames, actions, ends = [], [], []
    steps = np.array([(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)])
    for _ in range(episodes):
        agent, others = rng.integers(4, 16, size=2), rng.integers(0, 20, size=(4, 2))
        for t in range(length):
            frame = np.zeros((20, 20, 3), np.uint8)
            frame[others[:, 1], others[:, 0]] = 160
            frame[agent[1], agent[0]] = (120, 255, 60)
            frames.append(frame)
            a = int(rng.integers(5))
            actions.append(a if t < length - 1 else -1)
            agent = np.clip(agent + steps[a], 0, 19)
            others = np.clip(others + steps[rng.integers(5, size=4)], 0, 19)
        ends.append(len(frames))
    write_dataset(path, np.stack(frames), np.array(actions, np.int16), np.array(ends), fps=10, source="specks",
                  action_names=["idle", "left", "right", "up", "down"])


@pytest.fixture(scope="module")
def squares(tmp_path_factory):
    folder = tmp_path_factory.mktemp("squares")
    _square_world(folder / "train.h5", seed=0)
    _square_world(folder / "held.h5", seed=1)
    return folder


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_ceiling_sees_the_action_and_the_leak_does_not(squares, capsys):
    assert main(["lam", "ceiling", "--data", str(squares / "train.h5"), "--held-out", str(squares / "held.h5"),
                 "--steps", "150"]) == 0
    lines = _lines(capsys)
    ceiling, leak = [r for r in lines if r["model"] == "ceiling"][-1], [r for r in lines if r["model"] == "leak"][-1]
    assert ceiling["step"] == leak["step"] == 150 and ceiling["held_out"].endswith("held.h5")
    assert ceiling["accuracy"] > 0.8, ceiling
    assert leak["accuracy"] < 0.45, leak  # chance is ~0.25-0.3: past frames say nothing of a fresh action


def test_ceiling_finds_a_one_pixel_step_among_wandering_specks(tmp_path, capsys):
    _speck_world(tmp_path / "train.h5", seed=0)
    _speck_world(tmp_path / "held.h5", seed=1)
    assert main(["lam", "ceiling", "--data", str(tmp_path / "train.h5"), "--held-out", str(tmp_path / "held.h5"),
                 "--steps", "300", "--leak-minutes", "0"]) == 0
    assert _lines(capsys)[-1]["accuracy"] > 0.8  # chance ~0.2


def test_ceiling_without_a_held_out_file_names_the_split_it_used(squares, capsys):
    assert main(["lam", "ceiling", "--data", str(squares / "train.h5"), "--steps", "5", "--leak-minutes", "0"]) == 0
    lines = _lines(capsys)
    assert {r["model"] for r in lines} == {"ceiling"} and "held-out split" in lines[-1]["held_out"]


def test_probe_of_a_lam_only_run_equals_the_figures_training_logged(squares, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--world", "squares", "--data", str(squares / "train.h5"), "--held-out",
                 str(squares / "held.h5"), "--preset", "tiny", "--stage", "lam", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["lam", "probe", "--world", str(out), "--held-out", str(squares / "held.h5")]) == 0
    probe = _lines(capsys)[-1]
    logged = [json.loads(line) for line in (out / "run" / "log.jsonl").read_text().splitlines()][-1]["eval"]
    assert probe["lam_probe_accuracy"] == logged["lam_probe_accuracy"]
    assert probe["lam_nmi"] == logged["lam_nmi"] and probe["lam_code_shares"] == logged["lam_code_shares"]
    assert abs(sum(probe["lam_code_shares"]) - 1) < 1e-3
    (out / "run" / "lam.safetensors").unlink()  # as if stopped after its last checkpoint: the probe reads that
    assert main(["lam", "probe", "--world", str(out), "--held-out", str(squares / "held.h5")]) == 0
    captured = capsys.readouterr()
    assert "using its checkpoint of step" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["lam_probe_accuracy"] is not None


@pytest.mark.parametrize("argv, expected", [
    (["lam", "probe", "--world", "nowhere", "--held-out", "x.h5"], "unknown world"),
    (["lam", "ceiling", "--steps", "5"], "--data FILE.h5 or a simulator"),
    (["lam", "ceiling", "--data", "x.h5", "--minutes", "nan"], "expected minutes"),
])
def test_bad_lam_requests_are_one_line(argv, expected, capsys):
    with pytest.raises(SystemExit) if "nan" in argv else _no_raise():
        assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert expected in err[-1] and "Traceback" not in "".join(err)


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
