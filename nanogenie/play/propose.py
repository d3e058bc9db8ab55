"""A proposed keymap for a world with no true actions: arrows and space bound by what each code does.

How it decides. From a few start states (the prompt, then a few seeded random steps further each
time), the engine rolls every latent action a for `frames` frames, all from the same state with the
same noise (`Engine.explore`), so the futures differ only by their action. In a's own future, each
step is explained by two shifts (`code_motion`): the whole picture's (the camera, counted only when the
step changes much of the picture, as a scroll does) and then the shift of the pixels the camera leaves
unexplained (the thing that moves). The thing's motion in the world is its shift minus the camera's:
a hero the camera keeps in the middle while the ground slides left is going right. a's motion
(dx, dy) is that, averaged over steps and starts; its `strength`, how far its future is from the mean
future over all codes.

Then: idle = the code that moves least (ties: the weaker); each arrow takes the code whose motion
points most its way, within 60 degrees and at least MIN_MOTION of the frame's side per frame (an arrow
stays unbound rather than bound to a code that moves nothing its way), each code once; space = the
strongest code left, if it changes the picture more than idle does; the rest stay on the digit keys.

It sees motion, not meaning: a small hero beside a scroll it does not fully explain, a move faster
than MAX_SHIFT a frame, or a code whose effect is a change of pose reads as weak; the explorer
(`play --explore`) is there to bind those by eye. Against the shipped worlds' fitted keymaps
(`nanogenie play --world pong --propose-keys`): pong 2 of 3 keys (up, down; idle is another of its
still codes), sonic 1 of 6 (right; no code reads as moving up or down, the scroll's residue outweighs
the hero, and left goes to another of the codes that drift left).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from nanogenie.atomic import write_bytes
from nanogenie.play.keymap import Keymap, parse_keymap
from nanogenie.world import World, update_world_meta

ARROWS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}  # y grows down
MIN_MOTION = 0.015  # of the frame's side per frame: ~1 px a frame on a 64 px frame
MAX_SHIFT = 0.07  # of the frame's side, the most a thing moves in one frame: 4 px on a 64 px frame
CHANGED = 0.1  # summed over channels, how far a code's future must be from the mean to mark a pixel
SCROLL_AREA = 0.2  # of the picture's pixels a step must change for its whole-picture shift to be a scroll
TIE = 1e-4  # per pixel of shift: a still picture matches itself at every shift, so prefer none
MIN_ALIGNMENT = 0.5  # cos 60 degrees: the motion must point that way more than sideways


class Explorable(Protocol):
    """What the proposal needs from an engine (nanogenie.play.engine.Engine has it)."""

    num_actions: int

    def reset(self) -> np.ndarray: ...

    def step(self, action: int) -> np.ndarray: ...

    def explore(self, frames: int = 4) -> np.ndarray: ...


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

    def toml(self) -> str:
        """The keymap.toml text, in the format play/keymap.py reads, with each code's motion noted."""
        lines = ["# Proposed by nanogenie from what each latent action does to the picture (play/propose.py);",
                 "# edit it, or bind keys by eye with `nanogenie play --explore` (E in the window).",
                 f"idle = {self.idle}", "", "[bindings]"]
        for key, code in self.bindings.items():
            e = self.effects[code]
            lines.append(f"{key} = {code}  # dx {e.dx:+.2f} dy {e.dy:+.2f} px a frame, strength {e.strength:.3f}")
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


def code_motion(futures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """futures (S, A, T, H, W, 3) -> motion (A, 2) as (dx, dy) pixels per frame, strength (A,).

    Each step t-1 -> t of a code's own future is explained in two layers, each by the one shift (at
    most MAX_SHIFT of the frame's side) that best maps frame t-1 onto frame t: first the whole picture
    (the camera: 0 unless the step changes at least SCROLL_AREA of the picture, as a scroll does and a
    sprite on a plain background does not), then only the pixels that shift leaves unexplained (the
    thing that moves in the scene: where it arrived and where it left). The thing's motion in the world is its
    shift minus the camera's; with nothing left unexplained, it is minus the camera's (the scene going
    left is the player going right). Motions are averaged over steps and starts. Ties go to the
    smaller shift, so a still picture reads 0."""
    x = futures.astype(np.float32) / 255.0
    a, t, h, w = x.shape[1:5]
    strength = np.abs(x - x.mean(axis=1, keepdims=True)).sum(axis=-1).mean(axis=(0, 2, 3, 4)) / 3  # 0..1
    if t < 2:
        return np.zeros((a, 2), np.float32), strength
    r = max(1, round(MAX_SHIFT * max(h, w)))
    prev, cur = x[:, :, :-1], x[:, :, 1:]
    inside = np.ones(cur.shape[:-1], bool)  # (S, A, T-1, H, W)
    changed = (np.abs(cur - prev).sum(axis=-1) > CHANGED).mean(axis=(-2, -1))  # (S, A, T-1)
    camera = _best_shift(prev, cur, inside, r)  # (S, A, T-1, 2)
    camera = np.where(changed[..., None] >= SCROLL_AREA, camera, 0.0)  # a sprite alone is no scroll
    unexplained = np.abs(cur - _shifted(prev, camera, r)).sum(axis=-1) > CHANGED
    thing_seen = unexplained[..., r:h - r, r:w - r].any(axis=(-2, -1))  # (S, A, T-1)
    thing = _best_shift(prev, cur, unexplained, r)
    world = np.where(thing_seen[..., None], thing, 0.0) - camera
    return world.mean(axis=(0, 2)), strength


def _best_shift(prev: np.ndarray, cur: np.ndarray, weight: np.ndarray, r: int) -> np.ndarray:
    """The integer (dx, dy), |each| <= r, whose shift of prev (..., H, W, 3) best matches cur on the
    pixels of `weight` (..., H, W) inside an r-pixel margin: (..., 2), ties to the smaller shift."""
    h, w = cur.shape[-3:-1]
    inner = cur[..., r:h - r, r:w - r, :]
    mask = weight[..., r:h - r, r:w - r].astype(np.float32)
    count = np.maximum(mask.sum(axis=(-2, -1)), 1.0)
    best = np.full(cur.shape[:-3], np.inf, np.float32)
    shift = np.zeros((*cur.shape[:-3], 2), np.float32)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            moved = prev[..., r - dy:h - r - dy, r - dx:w - r - dx, :]  # prev shifted by (dx, dy)
            err = (np.abs(inner - moved).sum(axis=-1) * mask).sum(axis=(-2, -1)) / count + TIE * (abs(dx) + abs(dy))
            better = err < best
            best = np.where(better, err, best)
            shift[better] = (dx, dy)
    return shift


def _shifted(prev: np.ndarray, shift: np.ndarray, r: int) -> np.ndarray:
    """prev (..., H, W, 3) moved by its own integer shift (..., 2); the r-pixel border repeats the edge."""
    h, w = prev.shape[-3:-1]
    padded = np.pad(prev, [(0, 0)] * (prev.ndim - 3) + [(r, r), (r, r), (0, 0)], mode="edge")
    out = np.empty_like(prev)
    flat_prev, flat_out = padded.reshape(-1, *padded.shape[-3:]), out.reshape(-1, h, w, 3)
    for i, (dx, dy) in enumerate(shift.reshape(-1, 2).astype(int)):
        flat_out[i] = flat_prev[i, r - dy:r - dy + h, r - dx:r - dx + w]
    return out


def propose_from_futures(futures: np.ndarray) -> Proposal:
    """The proposal for futures (S, A, T, H, W, 3) (see the module doc for the rule)."""
    motion, strength = code_motion(futures)
    num_actions, side = motion.shape[0], max(futures.shape[-3:-1])
    speed = np.linalg.norm(motion, axis=1)
    idle = int(min(range(num_actions), key=lambda c: (round(float(speed[c]), 3), strength[c], c)))
    pairs = []  # (how far a code moves that way, arrow, code)
    for arrow, direction in ARROWS.items():
        for code in range(num_actions):
            along = float(motion[code] @ np.asarray(direction))
            if code != idle and along >= MIN_MOTION * side and along >= MIN_ALIGNMENT * speed[code]:
                pairs.append((along, arrow, code))
    chosen: dict[str, int] = {}
    for _, arrow, code in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if arrow not in chosen and code not in chosen.values():
            chosen[arrow] = code
    bindings = {arrow: chosen[arrow] for arrow in ARROWS if arrow in chosen}
    left = [c for c in range(num_actions) if c != idle and c not in bindings.values()]
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
    return propose_from_futures(collect_futures(engine, starts, frames, seed=seed))


def agreement(proposal: Proposal, keymap: Keymap) -> tuple[int, int, list[str]]:
    """How many of the keys a keymap binds among idle, the arrows and space the proposal binds to the
    same code: (agreeing, compared, one 'key: proposed a, keymap b' line each)."""
    theirs = {b.chord: b.action for b in keymap.bindings} | {"idle": keymap.idle}
    ours = proposal.bindings | {"idle": proposal.idle}
    keys = [k for k in ("idle", *ARROWS, "space") if k in theirs]
    lines = [f"{k}: proposed {ours.get(k, '-')}, keymap {theirs[k]}" for k in keys]
    return sum(ours.get(k) == theirs[k] for k in keys), len(keys), lines


def write_proposed_keymap(world: World, device: str = "cpu") -> Proposal:
    """Propose keys for a loaded bundle with no keymap (trained without true actions) and write them as
    its keymap.toml; world.json says `"keymap_origin": "proposed"`. Prints the one-line summary."""
    from nanogenie.play.engine import Engine

    proposal = propose_keymap(Engine(world, device=device, seed=world.config.train.seed))
    save_proposal(proposal, Path(world.path))
    keys = ", ".join(f"{k} {c}" for k, c in proposal.bindings.items()) or "no arrows"
    print(f"proposed keymap (idle {proposal.idle}, {keys}) saved to {Path(world.path) / 'keymap.toml'}",
          file=sys.stderr)
    return proposal


def save_proposal(proposal: Proposal, bundle: Path) -> Path:
    """The proposal as a bundle's keymap.toml (written atomically), noted in its world.json."""
    path = bundle / "keymap.toml"
    write_bytes(path, proposal.toml().encode())
    update_world_meta(bundle, keymap_origin="proposed")
    return path
