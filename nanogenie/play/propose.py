"""A proposed keymap for a world with no true actions: arrows and space bound by what each code does.

Training reads each code's motion from the video it trained on (`video_motion`): the transitions the LAM
labels with a code, against all transitions; so does `play --propose-keys` while that video is still
where world.json says. With no video at hand it reads the world's own rollouts, as follows.

How it decides from rollouts. From a few start states (the prompt, then a few seeded random steps further each
time), the engine rolls every latent action a for `frames` frames, all from the same state with the
same noise (`Engine.explore`), so the futures differ only by their action. In a's own future, each
step is explained by two shifts (`code_motion`): the whole picture's (the camera, counted only when it
explains most of what changed, as a scroll's does) and then the shift of the pixels the camera leaves
unexplained (the thing that moves). The thing's motion in the world is its shift minus the camera's:
a hero the camera keeps in the middle while the ground slides left is going right. a's motion
(dx, dy) is that, averaged over steps and starts; its `strength`, how far its future is from the mean
future over all codes.

Then: idle = the code that moves least (ties: the weaker); each arrow takes a code whose motion points its
way, within 60 degrees and at least MIN_MOTION of the frame's side per frame (an arrow stays unbound rather
than bound to a code that moves nothing its way), each code once: from a video the commonest such code, from
rollouts the one that moves farthest that way; space = the
strongest code left, if it changes the picture more than idle does; the rest stay on the digit keys.
From a video, a code on fewer than MIN_SHARE of the sampled transitions gets neither a key nor idle.
Last, with the world at hand (`with_similar_codes`), every code is rolled from the same states with the same
noise, and a code no key plays first joins the key whose code it rolls like, far more than that key's code
rolls like any other key's: a LAM with more codes than keys splits a key by something else that moves
(pong's no-key by where the ball heads), and the key then plays whichever of its codes the world is in
(play/keymap.py). On pong's recipe world read as a video, that gives each key the codes its labels give it.
Idle then plays first the code whose long hold leaves the scene nearest where it started (`steadiest_idle_first`).

It sees motion, not meaning: a small hero beside a scroll it does not fully explain, a move faster
than play/motion.py's MAX_SHIFT a frame, or a code whose effect is a change of pose reads as weak; the explorer
(`play --explore`) is there to bind those by eye. Against the shipped worlds' fitted keymaps
(`nanogenie play --world pong --propose-keys`): pong 2 of 3 keys (up, down; idle is another of its
still codes), sonic 0 of 6 (its codes are mixtures of its keys: each code's commonest true action covers
25-54% of its transitions). Read from the video instead: pong 2 of 3 again, sonic 1 of 6; on a dungeon
world trained from an H.264 clip, 4 of 4 arrows name the action their code stands for, where its rollouts
bound 1 (docs/lab/2026-12-03-video-world.md).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from nanogenie.atomic import write_bytes
from nanogenie.play.keymap import Keymap, codes_value, parse_keymap
from nanogenie.play.motion import code_motion, video_motion
from nanogenie.world import World, update_world_meta

ARROWS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}  # y grows down
MIN_MOTION = 0.015  # of the frame's side per frame: ~1 px a frame on a 64 px frame
MIN_ALIGNMENT = 0.5  # cos 60 degrees: the motion must point that way more than sideways
STEADY_FRAMES = 40  # how long idle's codes are held to see which one the scene rests in
SAME_KEY = 0.5  # how near a code's futures must be to a key's code's, as a share of that code's to every other key's
MIN_SHARE = 0.01  # of a video's transitions: what a code labels fewer of is what those few frames did (a scene
# cut moves everything), not what the code does, and a key bound to it would seldom have been seen in training


class Explorable(Protocol):
    """What the proposal needs from an engine (nanogenie.play.engine.Engine has it)."""

    num_actions: int

    def reset(self) -> np.ndarray: ...

    def step(self, action: int) -> np.ndarray: ...

    def explore(self, frames: int = 4, actions: list[int] | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class CodeEffect:
    code: int
    dx: float  # pixels a frame, + right, averaged over steps and starts
    dy: float  # pixels a frame, + down
    strength: float  # mean |future - mean future| in [0, 1]
    key: str  # what the proposal bound it to: an arrow, "space", "idle" or "" (digit only)


@dataclass(frozen=True)
class Proposal:
    idle: int
    bindings: dict[str, int]  # key name -> code, in ARROWS order then space
    effects: tuple[CodeEffect, ...]  # one per code
    more: dict[str, tuple[int, ...]] = field(default_factory=dict)  # "idle" or a key -> the other codes it owns

    def owned(self, key: str) -> tuple[int, ...]:
        """Every code `key` ("idle" or a bound key) plays, its own first (play/keymap.py)."""
        return (self.idle if key == "idle" else self.bindings[key], *self.more.get(key, ()))

    def toml(self) -> str:
        """The keymap.toml text, in the format play/keymap.py reads, with each code's motion noted."""
        lines = ["# Proposed by nanogenie from what each latent action does to the picture (play/propose.py);",
                 "# edit it, or bind keys by eye with `nanogenie play --explore` (E in the window).",
                 f"idle = {codes_value(self.owned('idle'))}", "", "[bindings]"]
        for key, code in self.bindings.items():
            e = self.effects[code]
            lines.append(f"{key} = {codes_value(self.owned(key))}  # dx {e.dx:+.2f} dy {e.dy:+.2f} px a frame, "
                         f"strength {e.strength:.3f}")
        return "\n".join(lines) + "\n"

    def keymap(self, source: str = "<proposed>") -> Keymap:
        return parse_keymap(self.toml(), len(self.effects), source)

    def report(self) -> list[str]:
        """One line per code: its motion, strength and the key it got."""
        return [f"code {e.code}: dx {e.dx:+6.2f} dy {e.dy:+6.2f} px/frame  strength {e.strength:.3f}  -> "
                f"{e.key or f'digit {e.code}'}" for e in self.effects]


def collect_futures(engine: Explorable, starts: int = 6, frames: int = 4, gap: int = 6, seed: int = 0) -> np.ndarray:
    """(S, A, frames, H, W, 3) uint8: every code's future from S start states, the prompt first, then each
    `gap` random actions further along one seeded random walk. The engine is left reset."""
    rng = np.random.default_rng(seed)
    engine.reset()
    futures = []
    for s in range(starts):
        if s:
            for _ in range(gap):
                engine.step(int(rng.integers(engine.num_actions)))
        futures.append(engine.explore(frames))
    engine.reset()
    return np.stack(futures)


def propose_from_video(prev: np.ndarray, cur: np.ndarray, codes: np.ndarray, num_actions: int,
                       focus: list[int] | None = None) -> Proposal:
    """The proposal from a video's transitions and their latent actions (see `video_motion`); a key goes only
    to a code that labels at least MIN_SHARE of them."""
    motion, strength = video_motion(prev, cur, codes, num_actions, focus)
    share = np.bincount(codes, minlength=num_actions) / max(1, len(codes))
    return propose_from_motion(motion, strength, max(prev.shape[1:3]), share >= MIN_SHARE, share)


def propose_from_futures(futures: np.ndarray) -> Proposal:
    """The proposal for futures (S, A, T, H, W, 3) (see the module doc for the rule)."""
    motion, strength = code_motion(futures)
    return propose_from_motion(motion, strength, max(futures.shape[-3:-1]))


def propose_from_motion(motion: np.ndarray, strength: np.ndarray, side: int, seen: np.ndarray | None = None,
                        share: np.ndarray | None = None) -> Proposal:
    """Keys for codes that move (A, 2) pixels a frame with strengths (A,), on a frame `side` pixels wide; only
    the codes `seen` (A,) bool (all, without it) get a key or idle. With each code's `share` (A,) of a video's
    transitions, an arrow goes to the commonest code that moves its way: a key is pressed often, and a rare code
    that moves farther that way is an event (a respawn, a sprite meeting another), not the key."""
    num_actions = motion.shape[0]
    bindable = [c for c in range(num_actions) if seen is None or seen[c]] or list(range(num_actions))
    speed = np.linalg.norm(motion, axis=1)
    idle = int(min(bindable, key=lambda c: (round(float(speed[c]), 3), strength[c], c)))
    pairs = []  # (how far a code moves that way, its strength, arrow, code)
    for arrow, direction in ARROWS.items():
        for code in bindable:
            along = float(motion[code] @ np.asarray(direction))
            if code != idle and along >= MIN_MOTION * side and along >= MIN_ALIGNMENT * speed[code]:
                common = float(share[code]) if share is not None else 0.0
                pairs.append((common, along, float(strength[code]), arrow, code))
    chosen: dict[str, int] = {}  # commonest first (from a video), then the farthest move, then the stronger code
    for _, _, _, arrow, code in sorted(pairs, key=lambda p: (-p[0], -p[1], -p[2], p[3], p[4])):
        if arrow not in chosen and code not in chosen.values():
            chosen[arrow] = code
    bindings = {arrow: chosen[arrow] for arrow in ARROWS if arrow in chosen}
    left = [c for c in bindable if c != idle and c not in bindings.values()]
    if left:
        strongest = max(left, key=lambda c: (strength[c], -c))
        if strength[strongest] > strength[idle]:
            bindings["space"] = strongest
    key_of = {code: key for key, code in bindings.items()} | {idle: "idle"}
    effects = tuple(CodeEffect(c, float(motion[c, 0]), float(motion[c, 1]), float(strength[c]), key_of.get(c, ""))
                    for c in range(num_actions))
    return Proposal(idle, bindings, effects)


def propose_keymap(engine: Explorable, starts: int = 6, frames: int = 4, seed: int = 0) -> Proposal:
    """Roll every code from a few start states of `engine` and propose keys for them (deterministic for
    a given engine seed and `seed`); the engine is left reset."""
    futures = collect_futures(engine, starts, frames, seed=seed)
    return owning_keys(propose_from_futures(futures), engine, futures)


def owning_keys(proposal: Proposal, engine: Explorable, futures: np.ndarray | None = None) -> Proposal:
    """The proposal with every code that rolls like a key's given to it (`with_similar_codes`, on `futures` or
    on the engine's own), and idle's steadiest code first (`steadiest_idle_first`); the engine is left reset."""
    futures = collect_futures(engine) if futures is None else futures
    return steadiest_idle_first(with_similar_codes(proposal, futures), engine)


def steadiest_idle_first(proposal: Proposal, engine: Explorable, frames: int = STEADY_FRAMES) -> Proposal:
    """Idle's codes reordered so that the one that, held `frames` frames from the prompt, leaves the picture nearest
    where it started plays first. With no key held a scene changes only by what moves on its own; a code the world
    follows into a bigger change (pong's "ball coming" drawn into the paddle until both dissolve) is no rest, and a
    key plays on whichever of its codes the world shows, so the first one is the one it settles in."""
    codes = proposal.owned("idle")
    if len(codes) < 2:
        return proposal
    start = engine.reset().astype(np.float32)
    held = engine.explore(frames, list(codes)).astype(np.float32)  # (N, frames, H, W, 3)
    engine.reset()
    drift = np.abs(held[:, frames // 4:] - start).mean(axis=(1, 2, 3, 4))  # after the first steps' own motion
    order = [codes[i] for i in np.argsort(drift, kind="stable")]
    effects = tuple(replace(e, key="idle") if e.code in codes else e for e in proposal.effects)
    more = dict(proposal.more) | {"idle": tuple(order[1:])}
    return Proposal(order[0], proposal.bindings, effects, more)


def with_similar_codes(proposal: Proposal, futures: np.ndarray) -> Proposal:
    """The proposal with each code that no key plays first given to the key whose code's futures its own are
    nearest, when they are at most SAME_KEY as far from that code's as that code's are from every other key's:
    the same key in another state of the scene (a LAM with more codes than the game has keys splits a key by
    something else that moves, pong's no-key by where the ball heads). futures (S, A, T, H, W, 3): every code
    rolled from the same states with the same noise (collect_futures), so two codes' futures differ by what
    the codes do. Space's code joins an arrow the same way, and space is then unbound: it was that arrow.
    Without two keys to measure a spread against, the proposal is returned as it is."""
    x = futures.astype(np.float32) / 255.0
    num_actions = x.shape[1]
    distance = np.array([[np.abs(x[:, a] - x[:, b]).mean() for b in range(num_actions)] for a in range(num_actions)])
    first = {"idle": proposal.idle} | {k: c for k, c in proposal.bindings.items() if k != "space"}
    if len(first) < 2:
        return proposal
    spread = {k: min(distance[c, other] for j, other in first.items() if j != k) for k, c in first.items()}
    more: dict[str, list[int]] = {}
    for code in range(num_actions):
        if code in first.values():
            continue
        key = min(first, key=lambda k: (distance[code, first[k]], k))
        if distance[code, first[key]] <= SAME_KEY * spread[key]:
            more.setdefault(key, []).append(code)
    bindings = dict(proposal.bindings)
    if any(bindings.get("space") in codes for codes in more.values()):
        del bindings["space"]
    key_of = {c: k for k, codes in more.items() for c in codes}

    def key(effect: CodeEffect) -> str:
        if effect.code in key_of:
            return key_of[effect.code]
        return "" if effect.key == "space" and "space" not in bindings else effect.key

    effects = tuple(replace(e, key=key(e)) for e in proposal.effects)
    return Proposal(proposal.idle, bindings, effects, {k: tuple(codes) for k, codes in more.items()})


def agreement(proposal: Proposal, keymap: Keymap) -> tuple[int, int, list[str]]:
    """How many of the keys a keymap binds among idle, the arrows and space the proposal binds to the
    same code: (agreeing, compared, one 'key: proposed a, keymap b' line each)."""
    theirs = {b.chord: b.action for b in keymap.bindings} | {"idle": keymap.idle}
    ours = proposal.bindings | {"idle": proposal.idle}
    keys = [k for k in ("idle", *ARROWS, "space") if k in theirs]
    lines = [f"{k}: proposed {ours.get(k, '-')}, keymap {theirs[k]}" for k in keys]
    return sum(ours.get(k) == theirs[k] for k in keys), len(keys), lines


def write_proposed_keymap(world: World, device: str = "cpu", proposal: Proposal | None = None,
                          origin: str = "proposed") -> Proposal:
    """Write `proposal` (default: one from the world's own rollouts) as the keymap.toml of a loaded bundle
    with no keymap (trained without true actions); world.json's `keymap_origin` says `origin` ("video" for
    keys read from the training video, which `play --propose-keys` does not replace). Prints the one-line
    summary."""
    from nanogenie.play.engine import Engine

    engine = Engine(world, device=device, seed=world.config.train.seed)
    futures = collect_futures(engine)
    proposal = owning_keys(propose_from_futures(futures) if proposal is None else proposal, engine, futures)
    save_proposal(proposal, Path(world.path), origin)
    keys = ", ".join(f"{k} {c}" for k, c in proposal.bindings.items()) or "no arrows"
    print(f"proposed keymap (idle {proposal.idle}, {keys}) saved to {Path(world.path) / 'keymap.toml'}",
          file=sys.stderr)
    return proposal


def save_proposal(proposal: Proposal, bundle: Path, origin: str = "proposed") -> Path:
    """The proposal as a bundle's keymap.toml (written atomically), noted in its world.json."""
    path = bundle / "keymap.toml"
    write_bytes(path, proposal.toml().encode())
    update_world_meta(bundle, keymap_origin=origin)
    return path
