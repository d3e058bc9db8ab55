"""Recipes: the whole `nanogenie train` command of a world in a file, so one command rebuilds it.

A recipe (nanogenie/recipes/NAME.toml, or any .toml file) names the simulator (`world`), the preset,
the processes and the `--set` changes. `nanogenie train --recipe NAME` trains it; flags given beside it
add to it (`--set` after the recipe's, `--out`, `--stage`, `--resume`, `--steps`). Every trained bundle's
world.json records how it was made: `recipe` holds the recipe's name (or null), the world, preset,
processes and `--set` changes it trained with, and the git revision of the nanogenie that trained it
("unknown" outside a git checkout; "+changes" when tracked files differed from that commit).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tomllib
from pathlib import Path

from nanogenie.errors import UserError

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
FIELDS = {"world": str, "preset": str, "processes": int, "set": list}


def resolve_recipe(name_or_path: str) -> Path:
    given = Path(name_or_path)
    if given.suffix == ".toml" and given.is_file():
        return given
    packaged = RECIPES / f"{name_or_path}.toml"
    if packaged.is_file():
        return packaged
    names = ", ".join(sorted(p.stem for p in RECIPES.glob("*.toml")))
    raise UserError(f"recipe {name_or_path!r} not found; give a .toml file or one of: {names}")


def read_recipe(path: Path) -> dict:
    """The recipe's fields, checked: world and preset (text), processes (>= 1), set (list of text)."""
    try:
        recipe = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise UserError(f"recipe {path} cannot be read ({err}); fix or re-copy it") from None
    unknown = set(recipe) - set(FIELDS)
    if unknown:
        raise UserError(f"recipe {path}: unknown field(s) {', '.join(sorted(unknown))}; the fields are "
                        f"{', '.join(FIELDS)}")
    for field, kind in FIELDS.items():
        if field not in recipe or not isinstance(recipe[field], kind):
            raise UserError(f"recipe {path}: `{field}` must be a {kind.__name__}, got {recipe.get(field)!r}")
    if recipe["processes"] < 1 or not all(isinstance(s, str) for s in recipe["set"]):
        raise UserError(f"recipe {path}: processes must be >= 1 and set a list of \"section.field=value\"")
    return recipe


def apply_recipe(args: argparse.Namespace) -> argparse.Namespace:
    """args with the recipe's world, preset, processes and --set filled in (the user's --set after them)."""
    if args.recipe is None:
        if args.world is None:
            raise UserError("train needs --world NAME (a simulator, or a name for your --data) or --recipe NAME")
        return argparse.Namespace(**{**vars(args), "processes": args.processes or 1})
    recipe = read_recipe(resolve_recipe(args.recipe))
    if args.world not in (None, recipe["world"]):
        raise UserError(f"--world {args.world} and --recipe {args.recipe} (world {recipe['world']!r}) disagree; "
                        f"drop --world")
    if args.preset not in ("cpu", recipe["preset"]):  # "cpu": the flag's default
        raise UserError(f"--recipe {args.recipe} trains preset {recipe['preset']!r}; drop --preset {args.preset} "
                        f"or copy the recipe and change it")
    return argparse.Namespace(**{**vars(args), "world": recipe["world"], "preset": recipe["preset"],
                                 "processes": args.processes or recipe["processes"],  # the flag, when given, wins
                                 "set": [*recipe["set"], *args.set]})


def git_revision() -> str:
    """The commit of the nanogenie checkout that runs, with "+changes" when tracked files differ from it."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        changes = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if changes else "")


def train(args: argparse.Namespace) -> int:
    """`nanogenie train`: the recipe applied, the training run, then how the bundle was made recorded."""
    from nanogenie.training import commands
    from nanogenie.world import update_world_meta

    args = commands.within_minutes(apply_recipe(args))
    status = commands.train(args)
    out = commands.world_folder(args)
    rank0 = os.environ.get("RANK", "0") == "0"
    if status == 0 and rank0 and args.stage in ("all", "dynamics") and (out / "world.json").is_file():
        update_world_meta(out, recipe={"name": args.recipe, "world": args.world, "preset": args.preset,
                                       "processes": args.processes, "set": args.set, "git": git_revision()})
    return status
