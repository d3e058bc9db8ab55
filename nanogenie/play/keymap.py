"""Keymaps: which held keys play which latent action, kept as data in a small TOML file.

    idle = 0                  # latent action when no bound key is held
    [bindings]
    right = 2                 # pygame key names (pygame.key.key_code)
    "right+space" = 5         # a chord: every key held

Resolution: among the bindings whose keys are all held, the one with the most keys wins (ties go to
the earlier line), so "right+space" beats "right" while both keys are down.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from nanogenie.errors import UserError  # noqa: E402
from nanogenie.world import user_worlds_dir  # noqa: E402

# The app's own controls (Esc quit, R reset, P pause, E explorer, digits raw action, F9 record, F12
# screenshot); a keymap may not bind them, or a key press would do two things at once.
RESERVED_KEYS = ("escape", "r", "p", "e", "f9", "f12", *"0123456789")


@dataclass(frozen=True)
class Binding:
    chord: str  # as written in the file, e.g. "right+space"
    keys: frozenset[int]  # pygame key codes
    action: int


@dataclass(frozen=True)
class Keymap:
    idle: int
    bindings: tuple[Binding, ...]  # file order
    source: str = "<built-in>"

    def resolve(self, held: set[int] | frozenset[int]) -> tuple[int, str]:
        """(latent action, the chord that chose it or "idle") for the set of held key codes."""
        best: Binding | None = None
        for binding in self.bindings:
            if binding.keys <= held and (best is None or len(binding.keys) > len(best.keys)):
                best = binding
        return (best.action, best.chord) if best else (self.idle, "idle")

    def describe(self) -> list[str]:
        """One line per binding for the start-up help, e.g. 'right+space -> 5'."""
        return [f"{b.chord} -> {b.action}" for b in self.bindings] + [f"(nothing held) -> {self.idle}"]


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


def _check_action(value: object, where: str, num_actions: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < num_actions:
        raise UserError(f"{where} = {value!r}: an action must be 0..{num_actions - 1} for this world")
    return value


def parse_keymap(text: str, num_actions: int, source: str = "<keymap>") -> Keymap:
    """A Keymap from TOML text; UserError naming the source, the binding and what is allowed."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{source} is not valid TOML: {err}") from None
    if "idle" not in data:
        raise UserError(f"{source} has no `idle = N` line: the latent action (0..{num_actions - 1}) "
                        f"to play when no bound key is held")
    idle = _check_action(data["idle"], f"{source}: idle", num_actions)
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
        action = _check_action(value, where, num_actions)
        codes = []
        for name in chord.split("+"):
            name = name.strip().lower()
            try:
                codes.append(_key_code(name))
            except ValueError:
                raise UserError(f"{where}: unknown key name {name!r}; use pygame key names such as "
                                f"left, right, up, down, space, a, left shift, return") from None
            if name in RESERVED_KEYS:
                raise UserError(f"{where}: key {name!r} is an app control (Esc, R, P, E, F9, F12, digits); "
                                f"bind another key")
        keys = frozenset(codes)
        if keys in seen:
            raise UserError(f"{where} is the same chord as {seen[keys]!r}; keep one of them")
        seen[keys] = chord
        bindings.append(Binding(chord, keys, action))
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
    return Keymap(idle=0, bindings=(), source=f"<digits 0..{min(num_actions, 10) - 1} only>")


def keymap_text(idle: int, bindings: dict[str, int], header: str = "") -> str:
    """The TOML text of a keymap (what parse_keymap reads), `header` lines first."""
    lines = [header.rstrip("\n")] if header else []
    lines += [f"idle = {idle}", "", "[bindings]"]
    lines += [f"{c if re.fullmatch(r'[A-Za-z0-9_-]+', c) else json.dumps(c)} = {a}" for c, a in bindings.items()]
    return "\n".join(lines) + "\n"


def rebind(keymap: Keymap, chord: str | None, action: int, num_actions: int) -> Keymap:
    """The keymap with `chord` now playing `action` (None: `action` becomes idle); a chord another
    action had keeps its place. UserError for a key a keymap may not bind."""
    table = {b.chord: b.action for b in keymap.bindings}
    if chord is None:
        return parse_keymap(keymap_text(action, table), num_actions, keymap.source)
    table[chord] = action
    return parse_keymap(keymap_text(keymap.idle, table), num_actions, keymap.source)


def saved_keymap_path(world_name: str) -> Path:
    """Where a keymap edited in play is saved when the world's bundle cannot be written:
    $NANOGENIE_HOME/keymaps/<world>.toml (play reads it before the bundle's own)."""
    return user_worlds_dir().parent / "keymaps" / f"{world_name}.toml"
