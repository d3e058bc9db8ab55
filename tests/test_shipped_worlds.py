"""The worlds in nanogenie/worlds are what a fresh clone plays: each must load, play and map its keys."""

from pathlib import Path

import numpy as np
import pytest

from nanogenie.cli import main
from nanogenie.play.engine import Engine
from nanogenie.play.keymap import load_keymap
from nanogenie.world import SHIPPED_WORLDS, load_world

REPO_ROOT = Path(__file__).resolve().parent.parent

SHIPPED = sorted(p.parent.name for p in SHIPPED_WORLDS.glob("*/world.json"))


def test_sonic_and_pong_ship():
    assert {"sonic", "pong"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_world_loads_plays_and_has_a_valid_keymap(name):
    world = load_world(name, "cpu")
    assert world.path == SHIPPED_WORLDS / name  # found without training anything
    assert sum(p.stat().st_size for p in world.path.iterdir()) < 20e6
    keymap = load_keymap(world.keymap_path, world.num_actions)
    engine = Engine(world, device="cpu", seed=0)
    engine.reset()
    frames = [engine.step(keymap.idle) for _ in range(3)]
    size = world.config.tokenizer.image_size
    assert all(f.shape == (size, size, 3) and f.dtype == np.uint8 for f in frames)


@pytest.mark.parametrize("name", ["sonic", "pong"])
def test_the_readme_recordings_replay_exactly(name, capsys):
    """Golden files: the GIFs in the README were recorded from the shipped worlds, and their action logs
    (docs/images/NAME.json, with a CRC and a coarse digest per frame) must replay to the same frames:
    exactly on the CPU and torch build they were recorded on, up to rounding on others (the CPUs this
    suite runs on round a few of sonic's decoded pixel values differently); the check says which frame
    first differs."""
    log = REPO_ROOT / "docs" / "images" / f"{name}.json"
    assert main(["play", "--replay", str(log), "--world", name, "--headless", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "replay reproduced all" in out, out
