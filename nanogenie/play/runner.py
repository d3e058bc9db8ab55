"""The engine on its own thread, so a slow model step never freezes the window.

The main thread writes the latest wanted action; the engine thread steps at the target fps and puts
each frame in a depth-1 slot (a newer frame replaces one not yet shown: stale frames are dropped).
While recording, every frame is also kept in order, so recordings and action logs are complete even
when the window skips frames. An exception on the engine thread stops it and is raised again in the
main thread by the next `get_frame()`, so the app never waits on a dead thread.

A script (a list of events, see RESET) replaces the live action: that is how replays run in a window,
and `run_script` plays one synchronously for headless runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

RESET = -1  # a script event: back to the prompt (any other event is a latent action to step with)
CATCH_UP_FRAMES = 2  # how far behind its schedule the engine may fall and still make the time up


def next_deadline(deadline: float, now: float, period: float) -> float:
    """When the next frame is due, paced at `period` seconds a frame.

    A frame that runs late is made up by the next ones starting at once, so a frame time that varies
    around the period still averages the target rate (pacing each frame from when the last one finished
    would lose every late frame's overrun for good). Only up to CATCH_UP_FRAMES periods are made up: after
    a longer stall (a pause, a compile) the schedule restarts from now instead of racing to catch up."""
    return max(deadline + period, now - CATCH_UP_FRAMES * period)


class FrameSource(Protocol):
    """What the runner needs from an engine (nanogenie.play.engine.Engine has it)."""

    last_ms: float

    def reset(self) -> np.ndarray: ...

    def step(self, action: int) -> np.ndarray: ...

    def code_for(self, codes: Sequence[int]) -> int: ...


@dataclass(frozen=True)
class FrameItem:
    frame: np.ndarray  # (H, W, 3) uint8
    action: int  # the latent action that produced it, or RESET for the prompt frame
    index: int  # frames since the last reset (0 = the prompt frame)
    serial: int  # frames since the runner started, 1-based: counts every frame ever produced
    model_ms: float  # the engine's time for this frame


def produce(engine: FrameSource, event: int, index: int, serial: int) -> FrameItem:
    """One frame for one script event."""
    if event == RESET:
        return FrameItem(engine.reset(), RESET, 0, serial, float(engine.last_ms))
    return FrameItem(engine.step(event), event, index + 1, serial, float(engine.last_ms))


def run_script(engine: FrameSource, events: Iterable[int], on_frame: Callable[[FrameItem], None]) -> int:
    """Play events synchronously (no thread), calling on_frame for each frame; returns frames made."""
    index, serial = 0, 0
    for event in events:
        serial += 1
        item = produce(engine, event, index, serial)
        index = item.index
        on_frame(item)
    return serial


def _codes(action: int | Sequence[int]) -> tuple[int, ...]:
    return (int(action),) if isinstance(action, (int, np.integer)) else tuple(int(a) for a in action)


class EngineRunner:
    """Runs an engine on a background thread; every public method is called from the main thread."""

    def __init__(self, engine: FrameSource, fps: float, action: int | Sequence[int] = 0,
                 script: Iterable[int] | None = None,
                 history: list[int] | None = None):
        """`history`: actions the engine already stepped since its last reset, when a script
        continues a state built beforehand (a replay's prefix), so recordings know the start state."""
        self.engine = engine
        self.period = 1.0 / fps if fps > 0 else 0.0  # seconds per frame; 0 = as fast as the engine goes
        self._action = _codes(action)  # one writer (main), one reader (engine); rebinding it is atomic
        self._script = iter(script) if script is not None else None
        self._reset_requested = threading.Event()
        self._paused = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Condition()  # guards everything below
        self._latest: FrameItem | None = None
        self._recording: list[FrameItem] | None = None
        self._since_reset: list[int] = list(history or [])  # with the seed, this is the engine's state
        self._error: BaseException | None = None
        self._explore_frames: int | None = None  # an exploration asked for and not yet run (see request_explore)
        self._explored: np.ndarray | None = None
        self.finished = False  # the script ran out (live play never finishes by itself)
        self._thread = threading.Thread(target=self._loop, name="nanogenie-engine", daemon=True)

    # --- main-thread API -------------------------------------------------------------------
    def start(self) -> "EngineRunner":
        self._thread.start()
        return self

    def set_action(self, action: int | Sequence[int]) -> None:
        """The latent action to play from the next frame on, or every code the held key owns (the engine
        thread picks among them before each frame, Engine.code_for)."""
        self._action = _codes(action)

    def request_reset(self) -> None:
        self._reset_requested.set()

    def pause(self, paused: bool) -> None:
        (self._paused.set if paused else self._paused.clear)()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def stop(self) -> None:
        self._stop.set()
        with self._ready:
            self._ready.notify_all()

    def join(self, timeout: float | None = 5.0) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def get_frame(self, timeout: float = 0.0) -> FrameItem | None:
        """The newest frame not yet taken (None if none came within timeout); re-raises engine errors."""
        with self._ready:
            if self._latest is None and self._error is None and not self._stop.is_set():
                self._ready.wait(timeout)
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            item, self._latest = self._latest, None
            return item

    def request_explore(self, frames: int) -> None:
        """Ask the engine thread for every action's future `frames` ahead of its current state (between
        two frames, so the live caches are never read mid-step); take it with take_explored()."""
        with self._ready:
            self._explore_frames, self._explored = frames, None

    def take_explored(self) -> np.ndarray | None:
        """The futures (A, frames, H, W, 3) once computed, else None."""
        with self._ready:
            explored, self._explored = self._explored, None
            return explored

    def start_recording(self) -> list[int]:
        """Keep every frame from now on; returns the actions since the last reset (the start state)."""
        with self._ready:
            self._recording = []
            return list(self._since_reset)

    def take_recorded(self) -> list[FrameItem]:
        """Frames produced since the last call, in order, while recording."""
        with self._ready:
            if self._recording is None:
                return []
            items, self._recording = self._recording, []
            return items

    def stop_recording(self) -> list[FrameItem]:
        """Stop keeping frames; returns the ones not yet taken."""
        with self._ready:
            items, self._recording = self._recording or [], None
            return items

    def __enter__(self) -> "EngineRunner":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join()

    # --- engine thread -----------------------------------------------------------------------
    def _next_event(self, first: bool) -> int | None:
        """The next thing to do, or None to idle this tick (paused, or the script is done).
        A script is followed as written: R and the keys do not change a replay."""
        if self._script is not None:
            if self._paused.is_set():
                return None
            event = next(self._script, None)
            self.finished = event is None
            return event
        if first or self._reset_requested.is_set():  # a reset also works while paused
            self._reset_requested.clear()
            return RESET
        if self._paused.is_set():
            return None
        codes = self._action
        return codes[0] if len(codes) == 1 else self.engine.code_for(codes)

    def _publish(self, item: FrameItem) -> None:
        with self._ready:
            if item.action == RESET:
                self._since_reset.clear()
            else:
                self._since_reset.append(item.action)
            if self._recording is not None:
                self._recording.append(item)
            self._latest = item  # replaces a frame the main thread has not taken: it is stale now
            self._ready.notify_all()

    def _explore(self) -> None:
        with self._ready:
            frames, self._explore_frames = self._explore_frames, None
        if frames is None:
            return
        explored = self.engine.explore(frames)  # a slow call (A x frames frames): outside the lock
        with self._ready:
            self._explored = explored
            self._ready.notify_all()

    def _loop(self) -> None:
        index, serial = len(self._since_reset), 0
        deadline = time.perf_counter()
        try:
            while not self._stop.is_set():
                if serial:  # after the first reset: the engine has a state to explore from
                    self._explore()
                event = self._next_event(first=serial == 0 and self._script is None)
                if event is None:
                    self._stop.wait(0.01)
                    deadline = time.perf_counter()
                    continue
                serial += 1
                item = produce(self.engine, event, index, serial)
                index = item.index
                self._publish(item)
                deadline = next_deadline(deadline, time.perf_counter(), self.period)
                self._stop.wait(max(0.0, deadline - time.perf_counter()))
        except BaseException as error:  # noqa: BLE001 - handed to the main thread, never swallowed
            with self._ready:
                self._error = error
                self._ready.notify_all()
