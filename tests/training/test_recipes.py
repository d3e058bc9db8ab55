"""Recipes: one command rebuilds a world, and world.json says which recipe and which revision made it."""

import json

import pytest

from nanogenie.cli import build_parser, main
from nanogenie.config import WorldConfig, preset, with_overrides
from nanogenie.errors import UserError
from nanogenie.training.recipes import RECIPES, apply_recipe, read_recipe
from nanogenie.world import SHIPPED_WORLDS


def _args(*argv: str):
    return build_parser().parse_args(["train", *argv])


@pytest.mark.parametrize("name", ["sonic", "pong"])
def test_each_shipped_world_has_a_recipe_that_trains_its_config(name):
    recipe = read_recipe(RECIPES / f"{name}.toml")
    assert recipe["world"] == name
    made = with_overrides(preset(recipe["preset"]), recipe["set"])  # a typo in a field name would raise
    # the recipe trains the shipped world's config: a preset change must be pinned back in the recipe
    meta = json.loads((SHIPPED_WORLDS / name / "world.json").read_text())
    assert made == WorldConfig.from_dict(meta.get("config", meta))


def test_a_recipe_fills_the_command_and_the_users_flags_come_after():
    args = apply_recipe(_args("--recipe", "sonic", "--set", "train.dynamics.steps=10", "--out", "x"))
    assert (args.world, args.preset, args.processes, args.out) == ("sonic", "cpu", 2, "x")
    assert args.set[0] == "train.data_frames=120000" and args.set[-1] == "train.dynamics.steps=10"
    assert apply_recipe(_args("--recipe", "sonic", "--processes", "4")).processes == 4
    assert apply_recipe(_args("--recipe", "sonic", "--processes", "1")).processes == 1  # one process, if asked
    assert apply_recipe(_args("--world", "pong")).processes == 1  # no recipe, no flag: one


@pytest.mark.parametrize("argv, message", [
    ([], "--world NAME"),
    (["--recipe", "nope"], "recipe 'nope' not found"),
    (["--recipe", "sonic", "--world", "pong"], "disagree"),
    (["--recipe", "sonic", "--preset", "tiny"], "drop --preset"),
])
def test_bad_requests_are_one_line(argv, message):
    with pytest.raises(UserError, match=message):
        apply_recipe(_args(*argv))


def test_a_broken_recipe_file_says_which_field(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('world = "pong"\npreset = "tiny"\nprocesses = 1\nset = []\nsteps = 3\n')
    with pytest.raises(UserError, match="unknown field.*steps"):
        apply_recipe(_args("--recipe", str(path)))
    path.write_text('world = "pong"\npreset = "tiny"\nprocesses = "two"\nset = []\n')
    with pytest.raises(UserError, match="processes"):
        apply_recipe(_args("--recipe", str(path)))


def test_train_by_recipe_records_it_in_world_json(tmp_path):
    recipe = tmp_path / "tiny_pong.toml"
    recipe.write_text('world = "pong"\npreset = "tiny"\nprocesses = 1\nset = ["train.data_frames=300"]\n')
    out = tmp_path / "world"
    assert main(["train", "--recipe", str(recipe), "--out", str(out), "--steps", "2", "--sequential",
                 "--device", "cpu"]) == 0
    meta = json.loads((out / "world.json").read_text())
    made = meta["recipe"]
    assert made["name"] == str(recipe) and made["set"] == ["train.data_frames=300"] and made["preset"] == "tiny"
    assert made["git"] == "unknown" or len(made["git"].split("+")[0]) == 40
    assert meta["data"]["frames"] == 300  # the recipe's change was trained with
