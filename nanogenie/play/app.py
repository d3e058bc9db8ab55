"""The play window. The main thread owns pygame; the engine runs behind an EngineRunner.

Each tick: take the newest frame -> handle events -> choose the action from the held keys -> hand it
to the runner -> save frames to the recording -> draw the frame and the HUD. This module knows nothing
about models: anything with reset()/step()/last_ms behind a runner can be played.
"""

from __future__ import annotations

import collections
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from nanogenie.errors import UserError  # noqa: E402
from nanogenie.play.explorer import FRAMES, Explorer  # noqa: E402
from nanogenie.play.keymap import Keymap, codes_text  # noqa: E402
from nanogenie.play.recorder import Recorder  # noqa: E402
from nanogenie.play.runner import EngineRunner, FrameItem  # noqa: E402

HUD_HEIGHT = 40
MIN_WIDTH = 360  # so the HUD fits under small frames
DIGIT_KEYS = {getattr(pygame, f"K_{d}"): d for d in range(10)} | {getattr(pygame, f"K_KP{d}"): d for d in range(10)}
CONTROLS = ("Esc quit | R reset to prompt | P pause | 0-9 raw latent action (held) | E explore what each action does "
            "and bind keys | click a sprite: its colour, to train on | F9 record on/off | F12 screenshot")


def colour_at(frame: np.ndarray, pos: tuple[int, int], scale: int) -> tuple[int, int, int] | None:
    """The colour (R, G, B) of the frame (H, W, 3) under a window position, or None outside the frame."""
    x, y = pos[0] // scale, pos[1] // scale
    if not (0 <= x < frame.shape[1] and 0 <= y < frame.shape[0]):
        return None
    return tuple(int(v) for v in frame[y, x])


def require_display() -> None:
    """UserError, before any work, when a window cannot be shown on this machine."""
    if os.environ.get("SDL_VIDEODRIVER"):
        return  # the user (or a test) chose a video driver on purpose
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserError("no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                        "run with --headless --frames N [--record out.mp4] instead")


INVISIBLE_DRIVERS = ("offscreen", "dummy")  # SDL falls back to these when no display answers


def check_window_driver(driver: str) -> None:
    """UserError when SDL could only start a driver that shows nothing (DISPLAY set, no X server there),
    unless that driver was asked for by name: play would otherwise run invisibly until killed."""
    if driver in INVISIBLE_DRIVERS and os.environ.get("SDL_VIDEODRIVER") != driver:
        pygame.display.quit()
        raise UserError(f"no display answered (SDL could only start its {driver!r} driver; DISPLAY is "
                        f"{os.environ.get('DISPLAY')!r}); start an X server or run with --headless --frames N")


def timestamped(stem: str, suffix: str, folder: Path) -> Path:
    """A new file name in folder that does not exist yet, e.g. nanogenie-sonic-20250101-120000.png."""
    base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{base}{suffix}", 1
    while path.exists() or path.with_suffix(".json").exists():
        path, n = folder / f"{base}-{n}{suffix}", n + 1
    return path


@dataclass
class AppSettings:
    world: str  # shown in the HUD and used in file names
    device: str
    num_actions: int
    frame_size: int
    scale: int = 8
    fps: int = 10
    record_path: Path | None = None  # record from the first frame (F9 toggles later recordings)
    record_meta: dict[str, Any] = field(default_factory=dict)  # world/seed/device/... for the action log
    max_frames: int | None = None  # quit after this many engine frames (tests); None: until Esc
    output_dir: Path = field(default_factory=Path.cwd)  # screenshots and F9 recordings
    print_controls: bool = True  # the start-up help on stdout (bench turns it off: its stdout is a result)
    explore: bool = False  # open the action explorer at start
    keymap_save_paths: tuple[Path, ...] = ()  # where the explorer saves the keymap: the first writable one


class PlayApp:
    def __init__(self, runner: EngineRunner, keymap: Keymap, settings: AppSettings):
        self.runner, self.keymap, self.settings = runner, keymap, settings
        self.held: dict[int, None] = {}  # key codes held, in press order
        self.action, self.action_label = keymap.idle_codes, "idle"  # the codes the keys hold, and why
        self.item: FrameItem | None = None
        self.produced = 0  # engine frames seen (serial of the newest)
        self.recorder: Recorder | None = None
        self.recordings = 0
        self.shown_at: collections.deque[float] = collections.deque(maxlen=32)  # the HUD's fps window
        self.shown_ms: collections.deque[float] = collections.deque(maxlen=32)  # ... and the frames' model ms
        self.running = True
        self.window: pygame.Surface | None = None
        self.font: pygame.font.Font | None = None
        self.on_screen: tuple | None = None  # what the last draw showed (see _draw)
        self.explorer = Explorer(settings.num_actions, keymap, settings.keymap_save_paths)
        self.paused_before_explorer = False

    # --- lifecycle ---------------------------------------------------------------------------
    def run(self) -> None:
        """Play until Esc, the window closing, a finished script, max_frames, or an error;
        the engine thread is stopped and the recording finalised in every case."""
        self._open_window()
        if self.settings.print_controls:
            self._print_controls()
        try:
            if self.settings.record_path is not None:
                self._start_recording(self.settings.record_path)  # before start: keep the first frame
            self.runner.start()
            if self.settings.explore:
                self._open_explorer()
            while self.running:
                self._tick()
        finally:
            self.runner.stop()
            self.runner.join()
            self._stop_recording()
            if self.explorer.edited:  # keys bound and not saved: keep them
                self.explorer.save()
            pygame.display.quit()

    def _open_window(self) -> None:
        s = self.settings
        size = (max(s.frame_size * s.scale, MIN_WIDTH), s.frame_size * s.scale + HUD_HEIGHT)
        try:
            pygame.display.init()
            check_window_driver(pygame.display.get_driver())
            pygame.font.init()
            self.window = pygame.display.set_mode(size)
        except pygame.error as err:
            raise UserError(f"cannot open a window ({err}); run with --headless --frames N instead") from None
        pygame.display.set_caption(f"nanogenie - {s.world}")
        self.font = pygame.font.Font(None, 20)

    def _print_controls(self) -> None:
        print(f"controls: {CONTROLS}")
        print(f"keymap {self.keymap.source}: " + ", ".join(self.keymap.describe()))

    def _tick(self) -> None:
        item = self.runner.get_frame(timeout=1 / 60)  # wakes early for a new frame; raises engine errors
        if self.explorer.open:
            futures = self.runner.take_explored()
            if futures is not None:
                self.explorer.receive(futures)
        self._handle_events()
        self.action, self.action_label = self._choose_action()
        self.runner.set_action(self.action)
        self._save_recorded()
        if item is not None:
            self._show(item)
        self._draw()
        limit = self.settings.max_frames
        if (limit is not None and self.produced >= limit) or (self.runner.finished and item is None):
            self.running = False

    # --- input -------------------------------------------------------------------------------
    def _handle_events(self) -> None:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.running = False
            elif event.type == pygame.KEYDOWN and self.explorer.open:
                self._on_explorer_key(event)
            elif event.type == pygame.MOUSEBUTTONDOWN and self.explorer.open:
                self.explorer.on_click(event.pos)
            elif event.type == pygame.MOUSEBUTTONDOWN:
                self._say_colour(event.pos)
            elif event.type == pygame.KEYDOWN:
                self.held[event.key] = None
                self._on_control(event.key)
            elif event.type == pygame.KEYUP:
                self.held.pop(event.key, None)
            elif event.type == pygame.WINDOWFOCUSLOST:
                self.held.clear()  # the key-ups go to another window: do not leave keys stuck down
            elif event.type in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE):
                self.on_screen = None  # uncovered: draw again even if nothing changed

    def _on_control(self, key: int) -> None:
        if key == pygame.K_ESCAPE:
            self.running = False
        elif key == pygame.K_r:
            self.runner.request_reset()
        elif key == pygame.K_p:
            self._pause(not self.runner.paused)
        elif key == pygame.K_e:
            self._open_explorer()
        elif key == pygame.K_F12:
            self._screenshot()
        elif key == pygame.K_F9:
            if self.recorder is None:
                self._start_recording(timestamped(f"nanogenie-{self.settings.world}", ".mp4",
                                                  self.settings.output_dir))
            else:
                self._stop_recording()

    def _open_explorer(self) -> None:
        """Pause the game and ask the engine thread for every action's future from the current frame."""
        if not hasattr(self.runner.engine, "explore"):
            print("this engine cannot explore its actions")
            return
        self.paused_before_explorer = self.runner.paused
        self._pause(True)
        self.explorer.start()
        self.runner.request_explore(FRAMES)

    def _on_explorer_key(self, event: pygame.event.Event) -> None:
        if event.key == pygame.K_F12:
            self._screenshot()
            return
        shift = bool(getattr(event, "mod", 0) & pygame.KMOD_SHIFT)
        if not self.explorer.on_key(event.key, DIGIT_KEYS.get(event.key), shift):
            self._pause(self.paused_before_explorer)
            self.held.clear()  # keys pressed in the explorer are not the game's
        self.keymap = self.explorer.keymap

    def _say_colour(self, pos: tuple[int, int]) -> None:
        """Print the colour clicked and how to train on it: a player's colour tells the latent action model where
        the player is, when things that move on their own take its codes (models/lam.py, `focus`)."""
        colour = colour_at(self.item.frame, pos, self.settings.scale) if self.item is not None else None
        if colour is None:
            return
        r, g, b = colour
        print(f"colour at the click: {r},{g},{b}. If this is the player and the latent actions follow other "
              f"things, train again with --set \"lam.focus=[{r},{g},{b}]\"")

    def _pause(self, paused: bool) -> None:
        """Pause or resume the game; the HUD's frame rate starts again, so that it never counts a pause."""
        self.runner.pause(paused)
        self.shown_at.clear()

    def _choose_action(self) -> tuple[tuple[int, ...], str]:
        """A held digit (the latest pressed) picks a raw latent action; else the keymap decides (a key may own
        several codes: the engine thread picks among them each frame)."""
        for key in reversed(self.held):
            digit = DIGIT_KEYS.get(key)
            if digit is not None and digit < self.settings.num_actions:
                return (digit,), f"digit {digit}"
        return self.keymap.resolve_codes(frozenset(self.held))

    # --- output ------------------------------------------------------------------------------
    def _start_recording(self, path: Path) -> None:
        s = self.settings
        self.recorder = Recorder(path, s.fps, s.scale, s.record_meta, prefix=self.runner.start_recording())
        self.recordings += 1
        print(f"recording to {path}")

    def _save_recorded(self) -> None:
        if self.recorder is not None:
            self._write(self.recorder, self.runner.take_recorded())

    def _write(self, recorder: Recorder, items: list[FrameItem]) -> None:
        limit = self.settings.max_frames
        for item in items:
            if limit is None or item.serial <= limit:
                recorder.write(item)

    def _stop_recording(self) -> None:
        if self.recorder is None:
            return
        recorder, self.recorder = self.recorder, None  # detached first: a second stop finds nothing to do
        try:
            self._write(recorder, self.runner.stop_recording())
        finally:
            recorder.close()
        print(f"saved {recorder.frames} frames to {recorder.path} (actions: {recorder.log_path})")

    def _screenshot(self) -> None:
        path = timestamped(f"nanogenie-{self.settings.world}", ".png", self.settings.output_dir)
        pygame.image.save(self.window, str(path))
        print(f"screenshot saved to {path}")

    def _show(self, item: FrameItem) -> None:
        self.item = item
        self.produced = max(self.produced, item.serial)
        self.shown_at.append(time.perf_counter())
        self.shown_ms.append(item.model_ms)

    def shown_fps(self) -> float:
        """Frames shown per second over the last 32 (what the HUD prints)."""
        if len(self.shown_at) < 2:
            return 0.0
        return (len(self.shown_at) - 1) / max(self.shown_at[-1] - self.shown_at[0], 1e-6)

    def _draw(self) -> None:
        """Draw the frame and the HUD, only when something on them changed: the loop ticks at ~60 Hz,
        and redrawing what is already on screen holds the GIL the engine thread needs between its ops."""
        ex = self.explorer
        shown = (self.item.serial if self.item is not None else None, self.action, self.action_label,
                 self.recorder is not None, self.runner.paused,
                 ex.open and (ex.futures is not None, ex.phase(), ex.selected, ex.message, ex.keymap, ex.binding))
        if shown == self.on_screen:
            return
        self.on_screen = shown
        s = self.settings
        self.window.fill((0, 0, 0))
        size = s.frame_size * s.scale
        if ex.open:
            area = pygame.Rect(0, 0, self.window.get_width(), size)
            ex.draw(self.window, area, self.font, self.item.frame if self.item is not None else None)
        elif self.item is not None:
            frame = pygame.surfarray.make_surface(self.item.frame.swapaxes(0, 1))  # (W, H, 3) for pygame
            self.window.blit(pygame.transform.scale(frame, (size, size)), (0, 0))  # nearest neighbour
        model_ms = self.item.model_ms if self.item is not None else 0.0
        flags = ("  REC" if self.recorder else "") + ("  PAUSED" if self.runner.paused else "")
        lines = (f"{s.world}  {s.device}  {self.shown_fps():.1f} fps  {model_ms:.1f} ms/frame",
                 f"action {codes_text(self.action)} ({self.action_label}){flags}  |  E: explore actions, bind keys")
        if ex.open:
            lines = ex.hud()
        top = s.frame_size * s.scale + 2
        for i, line in enumerate(lines):
            self.window.blit(self.font.render(line, True, (230, 230, 230)), (4, top + 18 * i))
        pygame.display.flip()
