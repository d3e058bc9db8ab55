"""`nanogenie play`: load a world, build its engine, then play it in a window or headless.

Headless runs and replays drive the engine synchronously from a script of events (latent actions and
resets); the window drives it through the EngineRunner thread from the keys held.
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nanogenie.atomic import write_bytes
from nanogenie.errors import UserError
from nanogenie.play.keymap import Keymap, load_keymap, saved_keymap_path
from nanogenie.play.recorder import Recorder, frame_crc, frame_digest, log_script, read_log, same_content
from nanogenie.play.runner import RESET, FrameItem, run_script
from nanogenie.world import PACKAGED_KEYMAPS, load_world, resolve_keymap

DEFAULT_WORLD = "sonic"


@dataclass
class Choices:
    """What decides the frames: with the same values (and action events) play is reproducible."""

    world: str
    seed: int
    device: str
    steps: int | None
    temperature: float | None
    decode: str | None


def make_engine(world: Any, choices: Choices, compile: bool = False) -> Any:
    from nanogenie.play.engine import Engine, use_play_threads

    use_play_threads()
    return Engine(world, device=choices.device, maskgit_steps=choices.steps,
                  temperature=choices.temperature, seed=choices.seed, compile=compile, decode=choices.decode)


def _choices(args: argparse.Namespace, log: dict[str, Any] | None) -> Choices:
    """The command line's choices; a replay takes the recording's for everything not given."""
    if log is None:
        return Choices(args.world or DEFAULT_WORLD, args.seed, args.device, args.steps, args.temperature, args.decode)
    world = args.world
    if world is None:
        recorded_path = log.get("world_path")
        world = recorded_path if recorded_path and Path(recorded_path).is_dir() else log.get("world", DEFAULT_WORLD)
    device = args.device if args.device != "auto" else log.get("device", "auto")
    temperature = args.temperature if args.temperature is not None else log.get("temperature")
    return Choices(world, int(log.get("seed", 0)), device, args.steps or log.get("steps"), temperature,
                   args.decode or log.get("decode"))


def parse_actions(spec: str, count: int, num_actions: int, seed: int) -> list[int]:
    """`count` actions from 'random' (sticky random holds, seeded), '0,3,3,5' or '3x10,0x5' (cycled)."""
    if spec == "random":
        rng = np.random.default_rng(seed)
        actions: list[int] = []
        while len(actions) < count:  # holds of 1-8 frames, so each action's effect has time to show
            actions += [int(rng.integers(num_actions))] * int(rng.integers(1, 9))
        return actions[:count]
    pattern: list[int] = []
    for part in spec.split(","):
        action_text, _, repeat_text = part.strip().partition("x")
        try:
            action, repeat = int(action_text), int(repeat_text or 1)
        except ValueError:
            raise UserError(f"--actions {spec!r}: cannot read {part.strip()!r}; use 'random', "
                            f"a list like '0,3,3,5' or runs like '3x10,0x5'") from None
        if not 0 <= action < num_actions or repeat < 1:
            raise UserError(f"--actions {spec!r}: in {part.strip()!r} the action must be 0..{num_actions - 1} "
                            f"for this world and the repeat count at least 1")
        pattern += [action] * min(repeat, count)  # a run longer than the whole script is cut to it
    return [pattern[i % len(pattern)] for i in range(count)]


def choose_keymap(keymap_arg: str | None, world: Any) -> Keymap | None:
    """--keymap, else one saved from play's explorer for this world ($NANOGENIE_HOME/keymaps), else the
    world's own, else the packaged one named like the world; None when there is none (play proposes one)."""
    if keymap_arg:
        path = resolve_keymap(keymap_arg)
    elif saved_keymap_path(world.name).is_file():
        path = saved_keymap_path(world.name)
    elif world.keymap_path is not None:
        path = world.keymap_path
    elif (PACKAGED_KEYMAPS / f"{world.name}.toml").is_file():
        path = PACKAGED_KEYMAPS / f"{world.name}.toml"
    else:
        return None
    return load_keymap(path, world.num_actions)


def keymap_save_paths(world: Any) -> tuple[Path, ...]:
    """Where a keymap bound in play is saved: the bundle's keymap.toml if the bundle can be written,
    else $NANOGENIE_HOME/keymaps/<world>.toml (which play then reads first)."""
    bundle = Path(world.path)
    return ((bundle / "keymap.toml",) if os.access(bundle, os.W_OK) else ()) + (saved_keymap_path(world.name),)


def proposed_keymap(engine: Any, world: Any) -> Keymap:
    """The keymap play proposes for a world that has none, said in one line."""
    from nanogenie.play.propose import propose_keymap

    print(f"world {world.name} has no keymap: proposing one from what each latent action moves "
          f"(rolls each from 6 states, a few seconds to a minute)...", flush=True)
    proposal = propose_keymap(engine)
    keys = ", ".join(f"{k} {c}" for k, c in proposal.bindings.items()) or "no arrows"
    print(f"playing the proposed keymap: idle {proposal.idle}, {keys}; digits play any code; E shows what "
          f"each does and binds keys, --propose-keys saves it")
    return proposal.keymap()


def propose_keys(world: Any, make: Callable[[], Any]) -> int:
    """`play --propose-keys`: propose a keymap, print the report, compare it with the world's own and save it:
    as the bundle's keymap.toml when it has none (or a proposed one) and can be written, else as the
    user's saved keymap for the world if there is none yet, else beside it as <world>.proposed.toml;
    never over a fitted, hand-made or explorer-bound keymap, nor over keys read from the training video
    with keys read from rollouts. Reads the training video when world.json's file is still there, as
    training does, else the world's own rollouts (the engine `make` builds only then)."""
    from nanogenie.play.propose import agreement, owning_keys, propose_keymap, save_proposal
    from nanogenie.training.bundle import training_video, video_proposal

    video = training_video(world)
    if video is not None:
        print(f"reading keys from the training video {world.meta['data']['path']}")
        device = str(next(world.lam.parameters()).device)
        proposal, made = video_proposal(world.lam, *video, world.config, device), "video"
        proposal = owning_keys(proposal, make())
    else:
        print("reading keys from the world's own rollouts (its training video is not where world.json says)")
        proposal, made = propose_keymap(make()), "proposed"
    print("\n".join(proposal.report()))
    current, origin = world.keymap_path, world.meta.get("keymap_origin")
    own = Path(world.path) / "keymap.toml"
    if current is not None:
        agree, total, lines = agreement(proposal, load_keymap(current, world.num_actions))
        print(f"agrees with {current} ({origin or 'fitted'}) on {agree} of {total} keys: " + "; ".join(lines))
    replaceable = current is None or (current == own and origin in {"proposed", made})
    if replaceable and os.access(world.path, os.W_OK):
        print(f"proposed keymap saved to {save_proposal(proposal, Path(world.path), made)}")
        return 0
    saved = saved_keymap_path(world.name)  # play reads it first: only when nothing would be lost
    path = saved if replaceable and not saved.exists() else saved.with_suffix(".proposed.toml")
    write_bytes(path, proposal.toml().encode())
    print(f"proposed keymap saved to {path}" + ("" if path == saved else f"; play it with --keymap {path}"))
    return 0


def play(args: argparse.Namespace) -> int:
    log = read_log(args.replay) if args.replay else None
    choices = _choices(args, log)
    if args.actions and not args.headless:
        raise UserError("--actions scripts a --headless run; add --headless, or play with the keys")
    if args.explore and args.headless:
        raise UserError("--explore opens the explorer in the play window; drop --headless")
    if not args.headless and not args.propose_keys:
        from nanogenie.play.app import require_display

        require_display()  # fail before loading anything
    world = load_world(choices.world)
    print(f"world {world.name}: {Path(world.path).resolve()}")
    if args.propose_keys:
        return propose_keys(world, lambda: make_engine(world, choices))
    keymap = choose_keymap(args.keymap, world) if (args.keymap or not args.headless) else None
    script: list[int] | None = None  # None: live play from the keys
    warmup, expected = 0, []
    if log is not None:
        script, warmup = log_script(log)
        expected = log["events"]
    elif args.headless:  # checked before the engine is built: building one can take a while
        actions = parse_actions(args.actions or "random", args.frames - 1, world.num_actions, choices.seed)
        script = [RESET, *actions]
    engine = make_engine(world, choices, compile=args.compile)
    print(f"nanogenie: engine on {getattr(engine, 'device_name', engine.device)}"
          + (" (compiling on the first frame, ~1 minute)" if args.compile else ""))
    if keymap is None and not args.headless:
        keymap = proposed_keymap(engine, world)
    fps = args.fps or engine.fps
    meta = {"world": world.name, "world_path": str(Path(world.path).resolve()), "seed": choices.seed,
            "device": engine.device, "steps": choices.steps or world.config.dynamics.maskgit_steps,
            "temperature": choices.temperature if choices.temperature is not None
            else world.config.dynamics.temperature, "decode": choices.decode or world.config.dynamics.decode}
    if args.headless:
        return _play_headless(engine, script, warmup, expected, args.record, fps, args.scale, meta)
    return _play_window(engine, keymap, script, warmup, args.record, fps, args.scale, meta,
                        explore=args.explore, save_paths=keymap_save_paths(world))


def _play_headless(engine: Any, script: list[int], warmup: int, expected: list[dict[str, Any]],
                   record: str | None, fps: int, scale: int, meta: dict[str, Any]) -> int:
    recorder = Recorder(record, fps, scale, meta) if record else None
    frames: list[np.ndarray] = []
    model_ms: list[float] = []

    def on_frame(item: FrameItem) -> None:
        if item.serial <= warmup:
            return  # only rebuilds the state the recording started from
        if expected:
            frames.append(item.frame)
        model_ms.append(item.model_ms)
        if recorder is not None:
            recorder.write(item)

    try:
        run_script(engine, script, on_frame)
    finally:
        if recorder is not None:
            recorder.close()
    mean_ms = float(np.mean(model_ms)) if model_ms else 0.0
    print(f"played {len(model_ms)} frames headless on {engine.device}: {mean_ms:.1f} model ms/frame")
    if recorder is not None:
        print(f"saved {recorder.frames} frames to {recorder.path} (actions: {recorder.log_path})")
    if expected:
        _report_replay(frames, expected)
    return 0


def _report_replay(frames: list[np.ndarray], expected: list[dict[str, Any]]) -> None:
    """Say whether the replayed frames are the recorded ones: exactly (CRCs), up to rounding (digests:
    another CPU's float arithmetic rounds a few pixel values the other way), or from which frame not."""
    pairs = [(frame, event) for frame, event in zip(frames, expected) if event.get("crc") is not None]
    inexact = [i for i, (frame, event) in enumerate(pairs) if frame_crc(frame) != event["crc"]]
    different = [i for i in inexact if "digest" not in pairs[i][1]
                 or not same_content(frame_digest(pairs[i][0]), pairs[i][1]["digest"])]
    if not inexact:
        print(f"replay reproduced all {len(frames)} recorded frames exactly")
    elif not different:
        print(f"replay reproduced all {len(frames)} recorded frames up to rounding ({len(inexact)} differ only in "
              f"pixel values rounded the other way, as another CPU's float arithmetic does: their mean colours per "
              f"cell of an 8 x 8 grid agree within one level)")
    else:
        print(f"replay differs from the recording from frame {different[0]} ({len(different)} of {len(frames)} "
              f"frames); frames match only with the same seed, device and nanogenie version")


def _play_window(engine: Any, keymap: Keymap, script: list[int] | None, warmup: int, record: str | None,
                 fps: int, scale: int, meta: dict[str, Any], explore: bool = False,
                 save_paths: tuple[Path, ...] = ()) -> int:
    from nanogenie.play.app import AppSettings, PlayApp
    from nanogenie.play.runner import EngineRunner

    history: list[int] = []
    if script is not None:  # a replay: rebuild the start state here, then show the recorded frames
        run_script(engine, script[:warmup], lambda item: None)
        history, script = script[1:warmup], script[warmup:]
    runner = EngineRunner(engine, fps, action=keymap.idle_codes, script=script, history=history)
    settings = AppSettings(world=meta["world"], device=engine.device, num_actions=engine.num_actions,
                           frame_size=engine.frame_size, scale=scale, fps=fps,
                           record_path=Path(record) if record else None, record_meta=meta, explore=explore,
                           keymap_save_paths=save_paths)
    app = PlayApp(runner, keymap, settings)
    app.run()
    if len(app.shown_ms) > 1:  # what the HUD showed last, for the record
        print(f"window: {app.shown_fps():.1f} frames/s over the last {len(app.shown_ms)} frames shown, "
              f"{statistics.median(app.shown_ms):.1f} model ms/frame")
    return 0
