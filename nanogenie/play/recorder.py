"""Recordings: an H.264 mp4 (or a GIF) of what was played plus a JSON action log beside it (x.mp4 -> x.json).

The log holds everything needed to play the same frames again (`nanogenie play --replay x.json`):
the world, seed, device, MaskGIT steps and temperature, the actions stepped since the last reset
before recording began (`prefix`), then one event per video frame, a latent action or a reset, with
a CRC of the frame so a replay can say whether it reproduced the recording exactly, and a coarse digest
(the frame's mean colour in each cell of an 8 x 8 grid) so that a replay on another CPU, whose float
arithmetic rounds a few pixel values the other way, can still tell rounding from different content.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from nanogenie.atomic import write_bytes
from nanogenie.errors import UserError
from nanogenie.play.runner import RESET, FrameItem

LOG_FORMAT = 1
VIDEO_SUFFIXES = (".mp4", ".gif")
GIF_COLOURS = 256  # GIF frames are paletted: each frame gets the 256 colours that cover most of it


def log_path_for(video_path: str | os.PathLike) -> Path:
    return Path(video_path).with_suffix(".json")


def frame_crc(frame: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())


DIGEST_GRID = 8  # cells per side


def frame_digest(frame: np.ndarray) -> str:
    """(H, W, 3) uint8 -> hex of the mean colour of each cell of a DIGEST_GRID^2 grid (edge pixels that
    do not fill a cell are left out). A pixel value rounded the other way moves its cell's mean by a
    fraction of a level, so two digests of the same content differ by at most 1 per value."""
    h, w = (side // DIGEST_GRID for side in frame.shape[:2])
    cells = frame[:h * DIGEST_GRID, :w * DIGEST_GRID].reshape(DIGEST_GRID, h, DIGEST_GRID, w, 3)
    return cells.mean(axis=(1, 3), dtype=np.float64).round().astype(np.uint8).tobytes().hex()


def same_content(digest: str, other: str) -> bool:
    """True when two frame digests differ by at most one level per value (rounding, not content)."""
    a, b = (np.frombuffer(bytes.fromhex(d), dtype=np.uint8).astype(np.int16) for d in (digest, other))
    return a.shape == b.shape and bool(np.abs(a - b).max(initial=0) <= 1)


def upscale(frame: np.ndarray, scale: int, even: bool = False) -> np.ndarray:
    """Nearest-neighbour upscale (H, W, 3) -> (H*s, W*s, 3); `even` pads one edge row/column if odd,
    because yuv420p needs even sizes."""
    big = frame.repeat(scale, axis=0).repeat(scale, axis=1)
    if even:
        big = np.pad(big, ((0, big.shape[0] % 2), (0, big.shape[1] % 2), (0, 0)), mode="edge")
    return big


def paletted(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 -> palette (C<=256, 3) uint8 and indices (H, W) uint8 of each pixel's nearest colour.

    The palette is the most frequent colours after rounding to 5 bits per channel: exact for the flat
    colours of the simulators, close for generated frames.
    """
    pixels = frame.reshape(-1, 3).astype(np.int64)
    binned = (pixels >> 3) @ np.array([1024, 32, 1])  # (N,) 15-bit colour bins
    bins, in_bin, counts = np.unique(binned, return_inverse=True, return_counts=True)
    # Each kept bin's colour is the mean of its pixels, so flat colours come back exactly.
    sums = np.stack([np.bincount(in_bin, weights=pixels[:, c], minlength=len(bins)) for c in range(3)], axis=1)
    top = np.argsort(-counts, kind="stable")[:GIF_COLOURS]
    palette = (sums[top] / counts[top, None]).round().astype(np.uint8)
    # Nearest palette colour per distinct colour (a frame has few), then per pixel.
    colours, of_pixel = np.unique(pixels, axis=0, return_inverse=True)
    distance = ((colours[:, None, :] - palette[None].astype(np.int64)) ** 2).sum(axis=-1)  # (colours, C)
    return palette, distance.argmin(axis=1).astype(np.uint8)[of_pixel.reshape(-1)].reshape(frame.shape[:2])


def _rows_padded(image: np.ndarray, line_size: int) -> bytes:
    """A (H, W) uint8 image as plane bytes whose rows are `line_size` long (planes may pad rows)."""
    padded = np.zeros((image.shape[0], line_size), np.uint8)
    padded[:, :image.shape[1]] = image
    return padded.tobytes()


class Recorder:
    """Writes frames as they come; `close()` (or leaving the `with` block, for any reason) finalises
    both files: the encoder is flushed so the mp4 has its trailer, and the log is written."""

    def __init__(self, path: str | os.PathLike, fps: int, scale: int = 1, meta: dict[str, Any] | None = None,
                 prefix: list[int] | None = None):
        self.path = Path(path)
        self.log_path = log_path_for(self.path)
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise UserError(f"recording {self.path} must end in .mp4 or .gif (the action log goes to a .json "
                            f"beside it)")
        self.gif = self.path.suffix.lower() == ".gif"
        if not self.path.parent.is_dir():
            raise UserError(f"cannot record to {self.path}: folder {self.path.parent} does not exist")
        if not os.access(self.path.parent, os.W_OK):  # say so now, not after a whole session was played
            raise UserError(f"cannot record to {self.path}: folder {self.path.parent} is not writable")
        self.fps, self.scale = int(fps), int(scale)
        self.meta = dict(meta or {})
        self.prefix = list(prefix or [])
        self.events: list[dict[str, int | bool]] = []
        self._container = None
        self._stream = None
        self.closed = False
        self.failed = False  # a frame could not be written (the video ends before it)

    @property
    def frames(self) -> int:
        return len(self.events)

    def _open(self, height: int, width: int) -> None:
        import av

        try:
            self._container = av.open(str(self.path), "w")
        except OSError as err:
            raise UserError(f"cannot write recording {self.path} ({err})") from None
        if self.gif:
            stream = self._container.add_stream("gif", rate=self.fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "pal8"
        else:
            stream = self._container.add_stream("libx264", rate=self.fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"crf": "18", "preset": "veryfast"}
        self._stream = stream

    def _video_frame(self, frame: np.ndarray):
        import av

        if not self.gif:
            return av.VideoFrame.from_ndarray(upscale(frame, self.scale, even=True), format="rgb24")
        # The encoder cannot convert RGB to a palette itself; index the small frame, then upscale it.
        palette, indices = paletted(frame)
        big = upscale(indices[..., None], self.scale)[..., 0]
        video_frame = av.VideoFrame(big.shape[1], big.shape[0], "pal8")
        video_frame.planes[0].update(_rows_padded(big, video_frame.planes[0].line_size))
        bgra = np.zeros((256, 4), np.uint8)
        bgra[:len(palette), :3] = palette[:, ::-1]
        bgra[:, 3] = 255
        video_frame.planes[1].update(bgra.tobytes())
        return video_frame

    def write(self, item: FrameItem) -> None:
        video_frame = self._video_frame(item.frame)
        if self._container is None:
            self._open(video_frame.height, video_frame.width)
        try:
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        except OSError as err:  # e.g. the disk filled up: keep what was written, say so once
            self.failed = True
            raise UserError(f"recording {self.path} stopped after {len(self.events)} frames: {err.strerror or err}; "
                            f"the frames before it are kept") from None
        event: dict[str, int | bool] = {"frame": len(self.events)}
        if item.action == RESET:
            event["reset"] = True
        else:
            event["action"] = int(item.action)
        event["crc"] = frame_crc(item.frame)
        event["digest"] = frame_digest(item.frame)
        self.events.append(event)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        error = None
        try:
            if self._container is not None:
                try:
                    for packet in self._stream.encode(None):  # flush the encoder's buffered frames
                        self._container.mux(packet)
                finally:
                    self._container.close()
        except OSError as err:
            error = err
        finally:
            self._write_log()  # whatever happened, the log records every frame the video got
        if error is not None and not self.failed:  # (after a failed write(), that error has said it already)
            raise UserError(f"recording {self.path} could not be finished ({error.strerror or error})")

    def _write_log(self) -> None:
        log = {"format": LOG_FORMAT, **self.meta, "fps": self.fps, "video": self.path.name,
               "frames": len(self.events), "prefix": self.prefix, "events": self.events}
        try:
            write_bytes(self.log_path, (json.dumps(log, indent=1) + "\n").encode(), then="record again")
        except OSError as err:
            raise UserError(f"could not write the action log {self.log_path} ({err.strerror or err})") from None

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
        digest = event.get("digest")
        if digest is not None and not (isinstance(digest, str) and len(digest) == 2 * 3 * DIGEST_GRID ** 2
                                       and all(c in "0123456789abcdef" for c in digest)):
            raise UserError(f"{path}: frame {event.get('frame')}'s `digest` is not {6 * DIGEST_GRID ** 2} hex "
                            f"digits; the log is damaged")
    checks = {"seed": (lambda v: _is_int(v) and 0 <= v < 2**63, "a whole number from 0 to 2^63-1"),
              "steps": (lambda v: v is None or (_is_int(v) and v >= 1), "a whole number >= 1"),
              "temperature": (lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                                      and math.isfinite(v) and v >= 0), "a finite number >= 0"),
              "decode": (lambda v: v in (None, "sampled", "expected"), "'sampled' or 'expected'"),
              "world": (lambda v: isinstance(v, str), "a world name"),
              "device": (lambda v: isinstance(v, str), "a device name")}
    for name, (ok, what) in checks.items():
        if name in log and not ok(log[name]):
            raise UserError(f"{path}: `{name}` must be {what}, got {log[name]!r}; the log is damaged")
    return log


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def log_script(log: dict[str, Any]) -> tuple[list[int], int]:
    """(script events, how many leading frames only rebuild the start state and are not shown)."""
    warmup = [RESET, *log.get("prefix", [])]
    events = [RESET if event.get("reset") else int(event["action"]) for event in log["events"]]
    return warmup + events, len(warmup)
