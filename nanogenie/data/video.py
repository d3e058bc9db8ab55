"""Decode a video file into square frames at a fixed frame rate (for `nanogenie data import`)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np

from nanogenie.errors import UserError


def decode_video(path: str | os.PathLike, size: int, fps: int) -> np.ndarray:
    """Frames (N, size, size, 3) uint8: resampled to `fps` by timestamp, centre-cropped square, area-downscaled.
    A video with fewer frames per second than `fps`, or smaller frames than `size`, is refused: its frames
    would repeat, or be upscaled."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such video file; check the path")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UserError(f"{path}: has no video stream; pass a file with video in it")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if stream.average_rate and fps > float(stream.average_rate) * (1 + 1e-6):
                rate = float(stream.average_rate)
                raise UserError(f"{path}: has {rate:.4g} frames per second, fewer than --fps {fps}, so frames would "
                                f"repeat (a world learns that nothing moves); pass --fps {max(1, math.floor(rate))} "
                                f"or less")
            frame_rate = float(stream.average_rate or 30)  # only for files whose frames carry no timestamps
            frames = []
            for frame in _nearest_to_ticks(container.decode(stream), fps, frame_rate):
                if not frames:
                    _check_size(path, frame, size)
                frames.append(_square_rgb(frame, size))
    except av.FFmpegError as err:
        raise UserError(f"{path}: could not be decoded as video ({err}); "
                        "pass a video file PyAV/FFmpeg can read (.mp4, .webm, .mkv, ...)")
    if not frames:
        raise UserError(f"{path}: holds no decodable video frames; pass another video")
    return np.stack(frames)


def _nearest_to_ticks(decoded: Iterable[av.VideoFrame], fps: int, frame_rate: float) -> Iterator[av.VideoFrame]:
    """For each tick t0 + k/fps up to the last frame's time, the decoded frame whose timestamp is nearest."""
    first_time = None
    tick = 0
    previous: tuple[float, av.VideoFrame] | None = None
    for i, frame in enumerate(decoded):
        time = frame.time if frame.time is not None else i / frame_rate
        if first_time is None:
            first_time = time
        # Ticks are counted, not accumulated, so a long video does not drift.
        while (target := first_time + tick / fps) <= time:
            # The target lies between the previous frame and this one: take the nearer.
            if previous is not None and target - previous[0] < time - target:
                yield previous[1]
            else:
                yield frame
            tick += 1
        previous = (time, frame)


def _check_size(path: Path, frame: av.VideoFrame, size: int) -> None:
    side = min(frame.width, frame.height)
    if side < size:
        raise UserError(f"{path}: frames are {frame.width}x{frame.height}, so the largest square is {side} pixels, "
                        f"smaller than --size {size} (upscaling invents no detail); pass --size {side} or less")


def _square_rgb(frame: av.VideoFrame, size: int) -> np.ndarray:
    """(size, size, 3) uint8: the largest centred square, scaled with area averaging."""
    rgb = frame.to_ndarray(format="rgb24")  # (h, w, 3)
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = np.ascontiguousarray(rgb[top: top + side, left: left + side])
    scaled = av.VideoFrame.from_ndarray(square, format="rgb24").reformat(
        width=size, height=size, format="rgb24", interpolation="AREA")
    return scaled.to_ndarray(format="rgb24")
