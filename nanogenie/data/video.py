"""Decode a video file into square frames at a fixed frame rate (for `nanogenie data import`)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np

from nanogenie.errors import UserError


Crop = tuple[int, int, int, int]  # left, top, width, height in source pixels


def decode_video(path: str | os.PathLike, size: int, fps: int, crop: Crop | None = None) -> np.ndarray:
    """Frames (N, size, size, 3) uint8: resampled to `fps` by timestamp, cut to `crop` (default: the whole frame),
    centre-cropped square, area-downscaled. A video with fewer frames per second than `fps`, or a region smaller
    than `size`, is refused: its frames would repeat, or be upscaled."""
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
                    region = _region(path, frame, crop)
                    _check_size(path, region, size, "--crop region is" if crop else "frames are")
                frames.append(_square_rgb(frame, size, region))
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


def _region(path: Path, frame: av.VideoFrame, crop: Crop | None) -> Crop:
    """The part of every frame to keep: `crop`, checked against the frame, or the whole frame."""
    if crop is None:
        return 0, 0, frame.width, frame.height
    left, top, width, height = crop
    if left + width > frame.width or top + height > frame.height:
        raise UserError(f"{path}: --crop {left},{top},{width},{height} reaches past its {frame.width}x{frame.height} "
                        f"frames; keep LEFT + WIDTH <= {frame.width} and TOP + HEIGHT <= {frame.height}")
    return crop


def _check_size(path: Path, region: Crop, size: int, what: str) -> None:
    _, _, width, height = region
    side = min(width, height)
    if side < size:
        raise UserError(f"{path}: {what} {width}x{height}, so the largest square is {side} pixels, "
                        f"smaller than --size {size} (upscaling invents no detail); pass --size {side} or less")


def _square_rgb(frame: av.VideoFrame, size: int, region: Crop) -> np.ndarray:
    """(size, size, 3) uint8: the largest centred square of `region`, scaled with area averaging."""
    left, top, width, height = region
    rgb = frame.to_ndarray(format="rgb24")[top: top + height, left: left + width]  # (h, w, 3)
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = np.ascontiguousarray(rgb[top: top + side, left: left + side])
    scaled = av.VideoFrame.from_ndarray(square, format="rgb24").reformat(
        width=size, height=size, format="rgb24", interpolation="AREA")
    return scaled.to_ndarray(format="rgb24")
