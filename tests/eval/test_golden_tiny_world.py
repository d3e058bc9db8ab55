"""Eval figures against golden values: a fixed tiny pong world (tests/eval/tiny_pong, 230 KB) whose
world.json holds the figures training's eval wrote when it was made. `nanogenie eval` on the same
weights must print the same figures, so a change to how any figure is computed fails here.

The world was made by (regenerate it the same way when a model's weights change shape):

    OMP_NUM_THREADS=1 nanogenie train --world pong --preset tiny --steps 300 --sequential \
        --out tests/eval/tiny_pong --device cpu && rm -r tests/eval/tiny_pong/run
"""

import json
from pathlib import Path

import pytest

from nanogenie.cli import main
from nanogenie.eval.control import HOLD

TINY_PONG = Path(__file__).resolve().parent / "tiny_pong"
TIMED = {"ms_per_frame", "play_fps"}  # wall-clock figures: never compared
TOLERANCE = 0.02  # figures are rounded to 3-4 decimals; the horizons' rollouts differ by ~0.1 dB


def _flat(figures: dict) -> dict:
    out = {}
    for name, value in figures.items():
        if isinstance(value, dict):
            out.update({f"{name}/{k}": v for k, v in value.items()})
        elif name not in TIMED:
            out[name] = value
    return out


def test_eval_reproduces_the_golden_figures(capsys):
    golden = _flat(json.loads((TINY_PONG / "world.json").read_text())["eval"])
    assert main(["eval", "--world", str(TINY_PONG), "--device", "cpu"]) == 0
    printed = _flat(json.loads(capsys.readouterr().out))
    assert printed.pop("held_out") == "fresh pong episodes (4000 frames, seed 1000003, a random action every frame)"
    assert printed.pop("control_hold") == HOLD  # what the command was asked; training's figures hold the default
    assert set(printed) == set(golden)
    for name, want in golden.items():
        if isinstance(want, (float, list)):
            assert printed[name] == pytest.approx(want, abs=TOLERANCE), name
        else:
            assert printed[name] == want, name


def test_eval_with_expected_decoding_scores_other_pictures_of_the_same_rollouts(capsys):
    """--decode expected changes only what generated frames look like: the figures of true frames stay
    the golden ones, and the rollouts' differ (the tokens, and so the model's history, are the same)."""
    golden = json.loads((TINY_PONG / "world.json").read_text())["eval"]
    assert main(["eval", "--world", str(TINY_PONG), "--device", "cpu", "--decode", "expected"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert "decode: expected" in captured.err
    for name in ("tokenizer_psnr", "copy_psnr", "lam_nmi"):
        assert printed[name] == pytest.approx(golden[name], abs=TOLERANCE), name
    assert printed["rollout_psnr"] != golden["rollout_psnr"]
