"""Keymaps: which held keys play which latent action, kept as data in a small TOML file.

    idle = 0                  # latent action when no bound key is held
    [bindings]
    right = 2                 # pygame key names (pygame.key.key_code)
    "right+space" = 5         # a chord: every key held
    up = [4, 1]               # a key that owns several latent actions

Resolution: among the bindings whose keys are all held, the one with the most keys wins (ties go to
the earlier line), so "right+space" beats "right" while both keys are down.

A key owns several latent actions where the latent action model split what it does by something else
that moves: pong's up as "up, ball coming" and "up, ball going". Held, it plays the first, then whichever
of its actions the world's last frame shows (Engine.code_for), so the world is never told the ball went
the other way (docs/lab/2026-12-07-keys-that-own-several-codes.md).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from nanogenie.errors import UserError  # noqa: E402
from nanogenie.world import user_worlds_dir  # noqa: E402

# The app's own controls (Esc quit, R reset, P pause, E explorer, digits raw action, F9 record, F12
# screenshot); a keymap may not bind them, or a key press would do two things at once.
RESERVED_KEYS = ("escape", "r", "p", "e", "f9", "f12", *"0123456789")


Codes = tuple[int, ...]  # the latent actions one key owns, the one it plays first first


@dataclass(frozen=True)
class Binding:
    chord: str  # as written in the file, e.g. "right+space"
    keys: frozenset[int]  # pygame key codes
    codes: Codes

    @property
    def action(self) -> int:
        return self.codes[0]


@dataclass(frozen=True)
class Keymap:
    idle_codes: Codes
    bindings: tuple[Binding, ...]  # file order
    source: str = "<built-in>"

    @property
    def idle(self) -> int:
        return self.idle_codes[0]

    def resolve(self, held: set[int] | frozenset[int]) -> tuple[int, str]:
        """(latent action, the chord that chose it or "idle") for the set of held key codes."""
        codes, chord = self.resolve_codes(held)
        return codes[0], chord

    def resolve_codes(self, held: set[int] | frozenset[int]) -> tuple[Codes, str]:
        """(every latent action the chosen chord owns, the chord or "idle") for the set of held key codes."""
        best: Binding | None = None
        for binding in self.bindings:
            if binding.keys <= held and (best is None or len(binding.keys) > len(best.keys)):
                best = binding
        return (best.codes, best.chord) if best else (self.idle_codes, "idle")

    def describe(self) -> list[str]:
        """One line per binding for the start-up help, e.g. 'right+space -> 5' or 'up -> 4/1'."""
        return [f"{b.chord} -> {codes_text(b.codes)}" for b in self.bindings] + \
            [f"(nothing held) -> {codes_text(self.idle_codes)}"]


def codes_text(codes: Codes) -> str:
    return "/".join(map(str, codes))


def _key_code(name: str) -> int:
    # key_code wants the display module up; init it if nobody has, quietly, without opening a window.
    if not pygame.display.get_init():
        try:
            pygame.display.init()
        except pygame.error:
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pygame.key.key_code(name)


def _check_codes(value: object, where: str, num_actions: int) -> Codes:
    """A binding's value, one latent action or a list of distinct ones, as a tuple."""
    values = value if isinstance(value, list) and value else [value]
    for one in values:
        if isinstance(one, bool) or not isinstance(one, int) or not 0 <= one < num_actions:
            raise UserError(f"{where} = {value!r}: an action must be 0..{num_actions - 1} for this world, "
                            f"or a list of them such as [4, 1]")
    if len(set(values)) < len(values):
        raise UserError(f"{where} = {value!r} lists an action twice; list each once")
    return tuple(values)


def parse_keymap(text: str, num_actions: int, source: str = "<keymap>") -> Keymap:
    """A Keymap from TOML text; UserError naming the source, the binding and what is allowed."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{source} is not valid TOML: {err}") from None
    if "idle" not in data:
        raise UserError(f"{source} has no `idle = N` line: the latent action (0..{num_actions - 1}) "
                        f"to play when no bound key is held")
    idle = _check_codes(data["idle"], f"{source}: idle", num_actions)
    table = data.get("bindings", {})
    if not isinstance(table, dict):
        raise UserError(f"{source}: `bindings` must be a table, e.g. [bindings] then right = 2")
    unknown = sorted(set(data) - {"idle", "bindings"})
    if unknown:
        raise UserError(f"{source}: unknown entry {unknown[0]!r}; a keymap holds only `idle` and [bindings]")
    bindings: list[Binding] = []
    seen: dict[frozenset[int], str] = {}
    for chord, value in table.items():
        where = f"{source}: binding {chord!r}"
        codes = _check_codes(value, where, num_actions)
        key_codes = []
        for name in chord.split("+"):
            name = name.strip().lower()
            try:
                key_codes.append(_key_code(name))
            except ValueError:
                raise UserError(f"{where}: unknown key name {name!r}; use pygame key names such as "
                                f"left, right, up, down, space, a, left shift, return") from None
            if name in RESERVED_KEYS:
                raise UserError(f"{where}: key {name!r} is an app control (Esc, R, P, E, F9, F12, digits); "
                                f"bind another key")
        keys = frozenset(key_codes)
        if keys in seen:
            raise UserError(f"{where} is the same chord as {seen[keys]!r}; keep one of them")
        seen[keys] = chord
        bindings.append(Binding(chord, keys, codes))
    return Keymap(idle, tuple(bindings), source)


def load_keymap(path: str | os.PathLike, num_actions: int) -> Keymap:
    """Read and check a keymap file against a world with `num_actions` latent actions."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read keymap {path} ({err}); pass a readable .toml with --keymap") from None
    return parse_keymap(text, num_actions, str(path))


def digits_only(num_actions: int) -> Keymap:
    """The fallback when a world has no keymap: idle is 0 and the digit keys pick raw actions."""
    return Keymap(idle_codes=(0,), bindings=(), source=f"<digits 0..{min(num_actions, 10) - 1} only>")


def as_codes(value: int | Sequence[int]) -> Codes:
    """One latent action or several (a tuple, or a keymap file's list) as the codes a key owns."""
    return (int(value),) if isinstance(value, (int, np.integer)) else tuple(int(c) for c in value)


def codes_value(codes: int | Codes) -> str:
    """A binding's value as the file writes it: one code as a number, several as a list, `[4, 1]`."""
    codes = as_codes(codes)
    return str(codes[0]) if len(codes) == 1 else f"[{', '.join(map(str, codes))}]"


def keymap_text(idle: int | Codes, bindings: dict[str, int | Codes], header: str = "") -> str:
    """The TOML text of a keymap (what parse_keymap reads), `header` lines first; a key that owns several
    codes is written as a list."""
    lines = [header.rstrip("\n")] if header else []
    lines += [f"idle = {codes_value(idle)}", "", "[bindings]"]
    lines += [f"{c if re.fullmatch(r'[A-Za-z0-9_-]+', c) else json.dumps(c)} = {codes_value(a)}"
              for c, a in bindings.items()]
    return "\n".join(lines) + "\n"


def rebind(keymap: Keymap, chord: str | None, action: int, num_actions: int, add: bool = False) -> Keymap:
    """The keymap with `chord` now playing `action` alone (None: `action` becomes idle), or with `add` also
    playing it after the codes it owns; a chord another action had keeps its place. UserError for a key a
    keymap may not bind."""
    table = {b.chord: b.codes for b in keymap.bindings}

    def played(codes: Codes) -> Codes:
        return (*codes, action) if add and action not in codes else codes if add else (action,)

    if chord is None:
        return parse_keymap(keymap_text(played(keymap.idle_codes), table), num_actions, keymap.source)
    table[chord] = played(table.get(chord, ()))
    return parse_keymap(keymap_text(keymap.idle_codes, table), num_actions, keymap.source)


def saved_keymap_path(world_name: str) -> Path:
    """Where a keymap edited in play is saved when the world's bundle cannot be written:
    $NANOGENIE_HOME/keymaps/<world>.toml (play reads it before the bundle's own)."""
    return user_worlds_dir().parent / "keymaps" / f"{world_name}.toml"
