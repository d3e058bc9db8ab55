"""The `nanogenie` command: subcommands only parse their flags and dispatch.

Each subcommand's work lives in its part of the package (data/commands.py, training/recipes.py and
training/commands.py, eval/commands.py, eval/lam_bench.py, play/commands.py, play/bench.py) and is imported
lazily, so `nanogenie --help` starts instantly.
A UserError anywhere becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import math
import signal
import sys
import threading
from typing import Any

from nanogenie.config import STAGES
from nanogenie.errors import EXIT_CODE, UserError, report


def _dispatch(target: str):
    """`module:function` resolved only when the subcommand runs."""

    def run(args: argparse.Namespace) -> int | None:
        module, func = target.split(":")
        return getattr(importlib.import_module(module), func)(args)

    return run


def _whole_number(text: str, low: int, high: int | None, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1, None, "a number > 0")


def _hold(text: str) -> int:
    return _whole_number(text, 1, 256, "a hold of 1 to 256 frames")


def _frame_size(text: str) -> int:
    return _whole_number(text, 8, 1024, "a frame size from 8 to 1024 pixels")


def _crop(text: str) -> tuple[int, int, int, int]:
    parts = text.split(",")
    if len(parts) != 4 or not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"expected LEFT,TOP,WIDTH,HEIGHT in whole pixels, e.g. 0,40,640,400, got {text!r}")
    left, top, width, height = (int(part) for part in parts)
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"expected a crop at least 1 pixel wide and high, got {text!r}")
    return left, top, width, height


def _seed(text: str) -> int:
    # numpy's and torch's generators both take any seed in [0, 2^63)
    return _whole_number(text, 0, 2**63 - 1, "a seed from 0 to 2^63-1")


def _finite_number(text: str, low: float, high: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
    return value


def _temperature(text: str) -> float:
    return _finite_number(text, 0, math.inf, "a finite number >= 0 (0 samples greedily)")


def _minutes(text: str) -> float:
    return _finite_number(text, 0, 24 * 60, "minutes from 0 to 1440")


def _add_data(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="make, import, inspect and download HDF5 video datasets")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="{generate,info,import,download}")

    p = dsub.add_parser("generate", help="play a built-in game with its behaviour policy and save the frames")
    p.add_argument("--env", required=True, help="simulator name (sonic, pong; firefly, dungeon, paddle, bricks: measurement worlds)")
    p.add_argument("--frames", type=_positive_int, required=True, help="number of frames to write")
    p.add_argument("--out", required=True, help="output .h5 file")
    p.add_argument("--size", type=_positive_int, default=64, help="frame size in pixels (square)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--policy", choices=["sticky", "random"], default="sticky",
                   help="sticky: hold each action 2-12 frames (training data); random: a fresh action every "
                        "frame (held-out data for action figures: past motion cannot predict the next action)")
    p.set_defaults(run=_dispatch("nanogenie.data.commands:generate"))

    p = dsub.add_parser("info", help="summarise a dataset and optionally save a contact sheet of frames")
    p.add_argument("file", help=".h5 dataset")
    p.add_argument("--preview", metavar="PNG", help="write a contact sheet of sampled frames here")
    p.add_argument("--colours", action="store_true",
                   help="list the colours of the small things that move, to find the player's for lam.focus")
    p.set_defaults(run=_dispatch("nanogenie.data.commands:info"))

    p = dsub.add_parser("import", help="decode video files into an HDF5 dataset, one episode per file")
    p.add_argument("video", nargs="+", help="any video PyAV can decode (.mp4, .webm, ...); several files become "
                                            "several episodes, so no transition spans the cut between two of them")
    p.add_argument("--out", required=True, help="output .h5 file")
    p.add_argument("--size", type=_frame_size, default=64, help="square frame size in pixels (8-1024)")
    p.add_argument("--fps", type=_positive_int, default=10, help="resample to this many frames per second")
    p.add_argument("--crop", type=_crop, metavar="LEFT,TOP,WIDTH,HEIGHT",
                   help="keep only this rectangle of the source frames (e.g. the game's screen inside a recording), "
                        "then the largest centred square of it")
    p.set_defaults(run=_dispatch("nanogenie.data.commands:import_video"))

    p = dsub.add_parser("download", help="download a TinyWorlds dataset from the Hugging Face hub")
    p.add_argument("name", help="pong, sonic, zelda, picodoom or pole_position")
    p.add_argument("--out", default="data", help="folder to save into")
    p.set_defaults(run=_dispatch("nanogenie.data.commands:download"))


def _add_train_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train tokenizer -> latent actions -> dynamics into a world bundle")
    p.add_argument("--world", help="world name (also the simulator used when --data is absent)")
    p.add_argument("--recipe", metavar="NAME",
                   help="train a world from its recipe file (sonic, pong: the shipped worlds; or a .toml file): its "
                        "world, preset, processes and --set changes; world.json records it with the git revision")
    p.add_argument("--data", help=".h5 dataset; default: generate from the simulator named by --world")
    p.add_argument("--held-out", help=".h5 the held-out figures come from (all of it), e.g. play with a fresh random "
                                      "action every frame; default: fresh simulator episodes, or --data's test split")
    p.add_argument("--preset", default="cpu", help="tiny | cpu | gpu")
    p.add_argument("--out", help="output folder; default: ~/.nanogenie/worlds/NAME")
    p.add_argument("--stage", default="all", choices=["all", *STAGES])
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--steps", type=_positive_int, help="override the optimizer steps of every stage that runs (the "
                   "LAM's heads; its inverse model keeps train.lam_inverse.steps)")
    p.add_argument("--minutes", type=_minutes,
                   help="train the stages that run in about this many minutes on this machine: their steps scaled "
                        "by one factor, from a few steps of each timed here first (data, labelling and held-out "
                        "figures come on top); the steps are recorded, so --resume continues the same run")
    p.add_argument("--actions", choices=["latent", "true"],
                   help="what the dynamics is conditioned on: the LAM's latent actions (default) or the data's "
                        "recorded actions (labelled video; also the ceiling a latent-action world is measured against)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="change one config field of the preset (repeatable), e.g. --set dynamics.moving_weight=5 "
                        "--set train.dynamics.steps=3600; recorded in the run's config.json")
    p.add_argument("--processes", type=_positive_int, default=None,
                   help="data-parallel processes on this machine (default 1, or the recipe's), one torch thread each "
                        "(OMP_NUM_THREADS each, when set); they share each step's "
                        "batch_size clips, so N cores train the same recipe in little more than 1/N of the time "
                        "(torchrun --nproc_per_node N does the same)")
    p.add_argument("--sequential", action="store_true",
                   help="train one stage at a time; by default, on a CPU with 2+ threads, the LAM trains in a "
                        "second process beside the tokenizer, each on half the threads")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.set_defaults(run=_dispatch("nanogenie.training.recipes:train"))

    p = sub.add_parser("eval", help="measure a world on held-out episodes and print one JSON")
    p.add_argument("--world", required=True, help="world name or bundle folder")
    p.add_argument("--data", help=".h5 of held-out episodes; default: fresh simulator episodes (unseen seed)")
    p.add_argument("--json", metavar="FILE", help="also write the figures here")
    p.add_argument("--states", type=_positive_int, default=48,
                   help="held-out simulator states control_accuracy and the probes start from (default 48)")
    p.add_argument("--seed", type=_seed, help="seed that draws those states; default: the world's training seed")
    p.add_argument("--probe", action="append", default=[], metavar="NAME",
                   help="also run a named probe (repeatable): hero-whole (sonic: is the hero drawn whole?)")
    p.add_argument("--decode", choices=["sampled", "expected"],
                   help="draw each generated token as its sampled code or its expected code (the probability-"
                        "weighted mean of the codes); default: the world's")
    p.add_argument("--hold", type=_hold, metavar="FRAMES",
                   help="frames control_accuracy holds each key (default: its own few); a long hold checks that a "
                        "held key, or none, still does what the game does after many frames")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.set_defaults(run=_dispatch("nanogenie.eval.commands:evaluate"))


def _add_lam(sub: argparse._SubParsersAction) -> None:
    lam = sub.add_parser("lam", help="latent actions on labelled data: a LAM's probe, and the ceiling and leak beside it")
    tools = lam.add_subparsers(dest="lam_command", required=True, metavar="{probe,ceiling}")
    p = tools.add_parser("probe", help="score a trained LAM's codes against the true actions of a held-out file")
    p.add_argument("--world", required=True, help="a world, or a training's --out folder (a --stage lam run is enough)")
    p.add_argument("--held-out", required=True, help=".h5 with true actions, ideally a fresh random action every frame")
    p.set_defaults(run=_dispatch("nanogenie.eval.lam_bench:probe_command"))
    p = tools.add_parser("ceiling", help="a supervised inverse model (ceiling) and a past-only one (leak) on the same frames")
    p.add_argument("--data", help=".h5 with true actions to train on")
    p.add_argument("--world", help="or a simulator: its training data and fresh random-action episodes")
    p.add_argument("--held-out", help=".h5 to score on; default: the --data file's held-out split (named in the output)")
    p.add_argument("--minutes", type=_minutes, default=5.0, help="CPU minutes for the ceiling (match the LAM's)")
    p.add_argument("--leak-minutes", type=_minutes, default=2.0, help="CPU minutes for the leak (0: skip it)")
    p.add_argument("--steps", type=_positive_int, help="train each for exactly this many steps instead of minutes")
    p.set_defaults(run=_dispatch("nanogenie.eval.lam_bench:ceiling_command"))


def _add_play_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="play a learned world live in a window (or --headless)")
    p.add_argument("--world", help="world name or bundle folder; default: sonic, or the --replay log's world")
    p.add_argument("--keymap", help="keymap .toml; default: the one you saved for this world, else the world's own")
    p.add_argument("--scale", type=_positive_int, default=8, help="window pixels per frame pixel")
    p.add_argument("--fps", type=_positive_int, help="frames per second to aim for; default: the world's")
    p.add_argument("--record", metavar="FILE.mp4", help="record what you play (mp4 or .gif, + .json action log)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--steps", type=_positive_int, help="MaskGIT steps per frame; default: the world's")
    p.add_argument("--temperature", type=_temperature, help="sampling temperature; default: the world's")
    p.add_argument("--decode", choices=["sampled", "expected"],
                   help="show each generated token as its sampled code or its expected code (the probability-"
                        "weighted mean of the codes; the model still continues from the sampled ones); "
                        "default: the world's")
    p.add_argument("--headless", action="store_true", help="no window: scripted actions for --frames frames")
    p.add_argument("--frames", type=_positive_int, default=100, help="frames to play with --headless")
    p.add_argument("--actions", help="with --headless: 'random' or a list like '0,3,3,5' or '3x10,0x5'")
    p.add_argument("--replay", metavar="LOG.json", help="replay a recording's action log")
    p.add_argument("--explore", action="store_true",
                   help="open the action explorer at start: each latent action's future, bind keys by eye (E)")
    p.add_argument("--propose-keys", action="store_true",
                   help="propose arrow/space keys from what each latent action moves, print why, save it; no play")
    p.add_argument("--compile", action="store_true",
                   help="CPU: compile the dynamics with torch.compile (~1 minute at start, then faster frames)")
    p.set_defaults(run=_dispatch("nanogenie.play.commands:play"))

    p = sub.add_parser("bench", help="measure generation speed (random weights of a preset, or a world)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="tiny | cpu | gpu (random weights)")
    src.add_argument("--world", help="world name or bundle folder")
    p.add_argument("--frames", type=_positive_int, default=64, help="frames to generate per measurement")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--compile", action="store_true", help="with --world: the engine as `play --compile` runs it")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.set_defaults(run=_dispatch("nanogenie.play.bench:bench"))


class Parser(argparse.ArgumentParser):
    """argparse whose error line (the last one printed) also says where to look."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="nanogenie", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)  # help lists the registered commands
    _add_data(sub)
    _add_train_eval(sub)
    _add_lam(sub)
    _add_play_bench(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C so every command's cleanup runs
    (recordings finalised, checkpoints kept, temporary files removed)."""


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated(signal.Signals(signum).name)


def _handle_termination_like_ctrl_c() -> dict[int, Any]:
    """Install the handlers; returns the previous ones, to put back when the command ends."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # signal handlers can only be installed from the main thread (tests may call main elsewhere)
    signums = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]  # no SIGHUP on Windows
    return {signum: signal.signal(signum, _raise_terminated) for signum in signums}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = _handle_termination_like_ctrl_c()
    try:
        return args.run(args) or 0
    except UserError as err:
        report(err)
        return EXIT_CODE
    except KeyboardInterrupt as err:
        signame = str(err) if isinstance(err, Terminated) else "SIGINT"
        print(f"nanogenie: interrupted ({signame})", file=sys.stderr)
        return 128 + int(getattr(signal, signame, signal.SIGINT))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
