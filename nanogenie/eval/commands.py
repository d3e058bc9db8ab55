"""`nanogenie eval`: the figures of a world on held-out data (eval/held_out.py), as one JSON on stdout.

Training calls the same pieces for the figures it writes into world.json (`control_figures`,
evaluate.evaluate_world).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nanogenie.atomic import write_bytes
from nanogenie.data import load_dataset
from nanogenie.device import resolve_device
from nanogenie.errors import UserError
from nanogenie.eval.control import HOLD, STATES, control_accuracy
from nanogenie.eval.evaluate import evaluate_world
from nanogenie.eval.held_out import describe_fresh, fresh_episodes, held_out_of_file
from nanogenie.eval.probes import PROBES
from nanogenie.training.run_data import check_frame_size, simulator_names
from nanogenie.world import load_world, resolve_world


def control_figures(world, env: str | None, device: str, states: int = STATES, seed: int | None = None,
                    hold: int = HOLD) -> dict[str, float | None]:
    """control_accuracy and its standard error for a simulator world with a keymap (eval/control.py), over
    `states` held-out states drawn with `seed` (default: the world's training seed), each key held `hold`
    frames; None otherwise."""
    accuracy = error = None
    if env is not None and world.keymap_path is not None:
        seed = world.config.train.seed if seed is None else seed
        accuracy, error = control_accuracy(world, env, world.keymap_path, device, states=states, seed=seed,
                                           hold=hold)
    return {"control_accuracy": accuracy, "control_accuracy_se": error}


def _check_probes(names: list[str], env: str | None, world) -> None:
    for name in names:
        if name not in PROBES:
            raise UserError(f"unknown probe {name!r}; the probes are {', '.join(sorted(PROBES))}")
        needed = PROBES[name][0]
        if env != needed:
            raise UserError(f"--probe {name} needs a world trained on the {needed} simulator, evaluated without "
                            f"--data; {world.name!r} is {'a ' + env + ' world' if env else 'evaluated on a file'}")
        if world.keymap_path is None:
            raise UserError(f"--probe {name} plays the world's keymap, and {world.name!r} has none; pass a world "
                            f"with a keymap.toml")


def evaluate(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    if args.json and not Path(args.json).resolve().parent.is_dir():  # before minutes of evaluation, not after
        raise UserError(f"--json {args.json}: folder {Path(args.json).parent} does not exist; create it first")
    print(f"world: {resolve_world(args.world)}", file=sys.stderr)
    world = load_world(args.world, device)
    if args.decode is not None:  # the world's config is what every figure's frames are drawn by
        world.config.dynamics.decode = args.decode
    print(f"decode: {world.config.dynamics.decode}", file=sys.stderr)
    if args.data is not None:
        data = load_dataset(args.data)
        check_frame_size(data, world.config)
        spans, held_out = held_out_of_file(data, world.meta.get("data", {}))
        env = None
    else:
        env = world.meta.get("data", {}).get("env")
        if env not in simulator_names():
            raise UserError(f"world {world.name!r} was not trained on a built-in simulator, so there are no fresh "
                            f"episodes to generate; pass --data FILE.h5 with held-out episodes")
        data = fresh_episodes(env, world.config)
        spans, held_out = data.episodes(), describe_fresh(env, world.config)
    _check_probes(args.probe, env, world)
    figures = evaluate_world(world, data, spans, device, seed=world.config.train.seed)
    hold = HOLD if args.hold is None else args.hold
    figures.update(control_figures(world, env, device, states=args.states, seed=args.seed, hold=hold))
    if figures["control_accuracy"] is not None:
        figures["control_hold"] = hold
    for name in args.probe:
        figures.update(PROBES[name][1](world, device, states=args.states,
                                       seed=world.config.train.seed if args.seed is None else args.seed))
    figures["held_out"] = held_out
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        write_bytes(args.json, (text + "\n").encode())
    return 0
