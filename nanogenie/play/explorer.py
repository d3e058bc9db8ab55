"""The action explorer: what each latent action does from the current frame, and keys bound by eye.

Opened with E (or `play --explore`): the game pauses and the engine thread rolls every action FRAMES
frames ahead of the current state (`Engine.explore`, which leaves the live game as it was); the window
shows one panel per action, looping its future, labelled with the code and the keys bound to it, and
the paused frame they all start from. Pick a code (digits, Tab, a click), press B then any key to bind
that key to it, N to make it idle, S to save the keymap; E or Esc goes back to the game. With Shift, B and N
add the code to what the key (or idle) already plays: a key may own several codes that do its thing in
different scenes (play/keymap.py), such as pong's "nothing held" with the ball coming and going. Nothing
here touches a model: the app hands the futures in and takes the keymap out.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pygame

from nanogenie.atomic import write_bytes
from nanogenie.errors import UserError
from nanogenie.play.keymap import Keymap, codes_text, keymap_text, rebind
from nanogenie.world import update_world_meta

FRAMES = 4  # how far ahead each panel shows
LOOP_FPS = 4  # how fast a panel loops through its future
LABEL_HEIGHT = 16
HELP = "0-9/Tab/click pick | B then a key: bind | N idle | Shift+B/N: add | S save | E back"


class Explorer:
    def __init__(self, num_actions: int, keymap: Keymap, save_paths: tuple[Path, ...] = ()):
        self.num_actions = num_actions
        self.keymap = keymap
        self.save_paths = save_paths  # tried in order: the first one that can be written
        self.open = False
        self.futures: np.ndarray | None = None  # (A, FRAMES, H, W, 3) uint8, None while computing
        self.selected = 0
        self.binding = False  # B was pressed: the next key binds
        self.adding = False  # ... to the codes the key owns already (Shift+B)
        self.message = ""
        self.edited = False  # bindings changed since the last save
        self.panels: list[pygame.Rect] = []

    # --- state ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.open, self.futures, self.binding, self.message = True, None, False, ""

    def receive(self, futures: np.ndarray) -> None:
        self.futures = futures

    def keys_of(self, code: int) -> str:
        """The keys that play a code, single keys before chords, e.g. 'right, d' or 'idle', '' if none."""
        names = sorted((b.chord for b in self.keymap.bindings if code in b.codes), key=lambda c: "+" in c)
        return ", ".join((["idle"] if code in self.keymap.idle_codes else []) + names)

    # --- input ---------------------------------------------------------------------------------
    def on_key(self, key: int, digit: int | None, shift: bool = False) -> bool:
        """Handle a key press while open; False when the explorer closes."""
        if self.binding:
            self.binding = False
            if key == pygame.K_ESCAPE:
                self.message = "not bound"
            else:
                self._bind(pygame.key.name(key))
            return True
        if key in (pygame.K_e, pygame.K_ESCAPE):
            self.open = False
        elif digit is not None and digit < self.num_actions:
            self.selected = digit
        elif key == pygame.K_TAB:
            self.selected = (self.selected + (-1 if shift else 1)) % self.num_actions
        elif key in (pygame.K_b, pygame.K_RETURN, pygame.K_KP_ENTER):
            self.binding, self.adding = True, shift
            self.message = f"press the key to {'also ' if shift else ''}play code {self.selected} (Esc: cancel)"
        elif key == pygame.K_n:
            self.adding = shift
            self._bind(None)
        elif key == pygame.K_s:
            self.save()
        return self.open

    def on_click(self, pos: tuple[int, int]) -> None:
        for code, rect in enumerate(self.panels):
            if rect.collidepoint(pos):
                self.selected = code

    def _bind(self, chord: str | None) -> None:
        try:
            keymap = rebind(self.keymap, chord, self.selected, self.num_actions, add=self.adding)
        except UserError as err:
            self.message = str(err).split(": ", 1)[-1]  # the source's name is noise here
            return
        self.edited = self.edited or keymap != self.keymap  # binding a key to what it already plays is no edit
        self.keymap = keymap
        codes = keymap.idle_codes if chord is None else next(b.codes for b in keymap.bindings if b.chord == chord)
        self.message = f"{chord or 'nothing held (idle)'} -> code {codes_text(codes)}; S saves"

    def save(self) -> Path | None:
        """Write the keymap to the first writable save path; None (and a message) if none is."""
        header = "# Bound in nanogenie's action explorer (`nanogenie play --explore`, E in the window)."
        text = keymap_text(self.keymap.idle_codes, {b.chord: b.codes for b in self.keymap.bindings}, header)
        for path in self.save_paths:
            try:
                write_bytes(path, text.encode())
                if (path.parent / "world.json").is_file():  # so that `play --propose-keys` never writes over it
                    update_world_meta(path.parent, keymap_origin="explorer")
            except (OSError, UserError):  # read-only, or a full disk: try the next place
                continue
            self.edited = False
            self.message = f"keymap saved to {path}"
            print(self.message)
            return path
        self.message = "cannot save the keymap: " + " nor ".join(str(p) for p in self.save_paths) + " is writable"
        print(self.message)
        return None

    # --- output --------------------------------------------------------------------------------
    def phase(self) -> int:
        """Which frame of its future each panel shows now (the app redraws when it changes)."""
        return int(time.perf_counter() * LOOP_FPS) % FRAMES if self.futures is not None else -1

    def draw(self, window: pygame.Surface, area: pygame.Rect, font: pygame.font.Font,
             current: np.ndarray | None) -> None:
        """The panels in `area` (or the current frame, dimmed, while the futures are computed)."""
        if self.futures is None:
            if current is not None:
                frame = pygame.surfarray.make_surface(current.swapaxes(0, 1))
                window.blit(pygame.transform.scale(frame, (area.height, area.height)), area.topleft)
                window.fill((90, 90, 90), area, special_flags=pygame.BLEND_RGB_SUB)
            text = font.render(f"rolling {self.num_actions} actions {FRAMES} frames ahead...", True, (255, 255, 255))
            window.blit(text, text.get_rect(center=area.center))
            return
        cells = self.num_actions + 1  # the last one shows the frame they all start from
        cell, cols = max((min(area.width // c, area.height // math.ceil(cells / c)), c)
                         for c in range(1, cells + 1))  # the columns that give the biggest panels
        side = max(cell - LABEL_HEIGHT - 4, 4)
        t = self.phase()
        self.panels = []
        for i in range(cells):
            x = area.left + (i % cols) * cell + (cell - side) // 2
            y = area.top + (i // cols) * cell + 2
            rect = pygame.Rect(x, y, side, side)
            now = i == self.num_actions
            image = current if now else self.futures[i, t]
            if image is not None:
                frame = pygame.surfarray.make_surface(image.swapaxes(0, 1))
                window.blit(pygame.transform.scale(frame, rect.size), rect.topleft)
            chosen = i == self.selected
            colour = (255, 210, 0) if chosen else (220, 220, 220)
            pygame.draw.rect(window, (255, 210, 0) if chosen else (70, 70, 70), rect.inflate(4, 4), 2)
            text = "now (paused)" if now else f"{i}: {self.keys_of(i) or '-'}"
            window.blit(font.render(_fit(font, text, side + 4), True, colour), (x, y + side + 2))
            if not now:
                self.panels.append(rect)

    def hud(self) -> tuple[str, str]:
        """The two HUD lines while open."""
        first = f"EXPLORER  code {self.selected} ({self.keys_of(self.selected) or 'digit only'})"
        return first + ("  *unsaved" if self.edited else ""), self.message or HELP


def _fit(font: pygame.font.Font, text: str, width: int) -> str:
    """text cut (with '..') to fit `width` pixels in `font`."""
    if font.size(text)[0] <= width:
        return text
    while text and font.size(text + "..")[0] > width:
        text = text[:-1]
    return text.rstrip(", ") + ".."
