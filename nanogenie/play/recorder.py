"""Recordings: an H.264 mp4 of what was played plus a JSON action log beside it (x.mp4 -> x.json).

The log holds everything needed to play the same frames again (`nanogenie play --replay x.json`):
the world, seed, device, MaskGIT steps and temperature, the actions stepped since the last reset
before recording began (`prefix`), then one event per video frame, a latent action or a reset, with
a CRC of the frame so a replay can say whether it reproduced the recording exactly.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from nanogenie.errors import UserError
from nanogenie.play.runner import RESET, FrameItem

LOG_FORMAT = 1


def log_path_for(video_path: str | os.PathLike) -> Path:
    return Path(video_path).with_suffix(".json")


def frame_crc(frame: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())


def upscale(frame: np.ndarray, scale: int, even: bool = False) -> np.ndarray:
    """Nearest-neighbour upscale (H, W, 3) -> (H*s, W*s, 3); `even` pads one edge row/column if odd,
    because yuv420p needs even sizes."""
    big = frame.repeat(scale, axis=0).repeat(scale, axis=1)
    if even:
        big = np.pad(big, ((0, big.shape[0] % 2), (0, big.shape[1] % 2), (0, 0)), mode="edge")
    return big


class Recorder:
    """Writes frames as they come; `close()` (or leaving the `with` block, for any reason) finalises
    both files: the encoder is flushed so the mp4 has its trailer, and the log is written."""

    def __init__(self, path: str | os.PathLike, fps: int, scale: int = 1, meta: dict[str, Any] | None = None,
                 prefix: list[int] | None = None):
        self.path = Path(path)
        self.log_path = log_path_for(self.path)
        if self.path.suffix.lower() != ".mp4":
            raise UserError(f"recording {self.path} must end in .mp4 (the action log goes to a .json beside it)")
        if not self.path.parent.is_dir():
            raise UserError(f"cannot record to {self.path}: folder {self.path.parent} does not exist")
        self.fps, self.scale = int(fps), int(scale)
        self.meta = dict(meta or {})
        self.prefix = list(prefix or [])
        self.events: list[dict[str, int | bool]] = []
        self._container = None
        self._stream = None
        self.closed = False

    @property
    def frames(self) -> int:
        return len(self.events)

    def _open(self, height: int, width: int) -> None:
        import av

        try:
            self._container = av.open(str(self.path), "w")
        except OSError as err:
            raise UserError(f"cannot write recording {self.path} ({err})") from None
        stream = self._container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        self._stream = stream

    def write(self, item: FrameItem) -> None:
        import av

        big = upscale(item.frame, self.scale, even=True)
        if self._container is None:
            self._open(*big.shape[:2])
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(big, format="rgb24")):
            self._container.mux(packet)
        event: dict[str, int | bool] = {"frame": len(self.events)}
        if item.action == RESET:
            event["reset"] = True
        else:
            event["action"] = int(item.action)
        event["crc"] = frame_crc(item.frame)
        self.events.append(event)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self._container is not None:
                for packet in self._stream.encode(None):  # flush the encoder's buffered frames
                    self._container.mux(packet)
                self._container.close()
        finally:
            log = {"format": LOG_FORMAT, **self.meta, "fps": self.fps, "video": self.path.name,
                   "frames": len(self.events), "prefix": self.prefix, "events": self.events}
            tmp = self.log_path.with_name(self.log_path.name + ".tmp")
            tmp.write_text(json.dumps(log, indent=1) + "\n")
            os.replace(tmp, self.log_path)

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_log(path: str | os.PathLike) -> dict[str, Any]:
    """A recording's action log, checked enough that replay can trust it."""
    path = Path(path)
    try:
        log = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read action log {path} ({err}); pass the .json written beside a recording") from None
    if not isinstance(log, dict) or log.get("format") != LOG_FORMAT or not isinstance(log.get("events"), list):
        raise UserError(f"{path} is not a nanogenie action log (format {LOG_FORMAT} with `events`); "
                        f"pass the .json written beside a recording")
    prefix = log.get("prefix", [])
    if not isinstance(prefix, list) or not all(isinstance(a, int) and a >= 0 for a in prefix):
        raise UserError(f"{path}: `prefix` must be a list of actions (integers >= 0); the log is damaged")
    for event in log["events"]:
        if not isinstance(event, dict) or not (event.get("reset") is True or isinstance(event.get("action"), int)):
            raise UserError(f"{path}: event {event!r} is neither a reset nor an integer action; the log is damaged")
    return log


def log_script(log: dict[str, Any]) -> tuple[list[int], int]:
    """(script events, how many leading frames only rebuild the start state and are not shown)."""
    warmup = [RESET, *log.get("prefix", [])]
    events = [RESET if event.get("reset") else int(event["action"]) for event in log["events"]]
    return warmup + events, len(warmup)
