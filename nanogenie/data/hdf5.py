"""The HDF5 video dataset: frames, optional ground-truth actions and episode ends, in one file.

Layout of a file:
    frames        uint8 (N, H, W, 3) RGB, chunked and compressed
    actions       int16 (N,), optional: the action taken after frame i; -1 = unknown / episode's last frame
    episode_ends  int64 (E,), optional: exclusive end index of each episode, the last equals N
    attrs         fps (int), source (str), action_names (JSON list of str)

A file holding only `frames` (the TinyWorlds format) loads as one long episode at 10 fps with no actions.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from nanogenie.atomic import replacing
from nanogenie.errors import UserError

DEFAULT_FPS = 10
CHUNK_FRAMES = 64  # frames per HDF5 chunk: a clip read touches one or two chunks
MAKE_ONE = "make one with `nanogenie data generate`, `nanogenie data import` or `nanogenie data download`"


@dataclass
class VideoData:
    """A whole dataset in memory (60k frames at 64x64 are ~740 MB)."""

    frames: np.ndarray  # (N, H, W, 3) uint8
    actions: np.ndarray | None  # (N,) int16, -1 = unknown; None when the file has no actions
    episode_ends: np.ndarray  # (E,) int64, exclusive ends, the last equals N
    fps: int = DEFAULT_FPS
    source: str = ""
    action_names: list[str] = field(default_factory=list)
    path: str | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def episodes(self) -> list[tuple[int, int]]:
        """(start, end) of each episode, end exclusive."""
        starts = [0, *self.episode_ends[:-1].tolist()]
        return list(zip(starts, self.episode_ends.tolist()))


def _check_arrays(
    where: str, frames: np.ndarray, actions: np.ndarray | None, episode_ends: np.ndarray, num_action_names: int = 0
) -> None:
    """Raise UserError naming `where` if the arrays do not form a valid dataset."""
    _check_frame_layout(where, frames.dtype, frames.shape)
    num_frames = len(frames)
    if actions is not None:
        if actions.shape != (num_frames,) or not np.issubdtype(actions.dtype, np.integer):
            raise UserError(f"{where}: actions are {actions.dtype} {tuple(actions.shape)}, expected integers of "
                            f"shape ({num_frames},), one per frame; fix or delete the actions dataset")
        limit = num_action_names or np.iinfo(np.int16).max  # without names, anything int16 can hold
        if actions.min() < -1 or actions.max() >= limit:
            raise UserError(f"{where}: actions hold values outside [-1, {limit - 1}]; "
                            "fix the actions or the action_names attribute")
    if episode_ends.ndim != 1 or len(episode_ends) == 0 or not np.issubdtype(episode_ends.dtype, np.integer):
        raise UserError(f"{where}: episode_ends must be a non-empty list of integers; "
                        f"delete it to load the file as one episode")
    if episode_ends[0] <= 0 or np.any(np.diff(episode_ends) <= 0) or episode_ends[-1] != num_frames:
        raise UserError(f"{where}: episode_ends must be increasing and end at the frame count {num_frames}, "
                        f"got {_preview_list(episode_ends)}; fix it or delete it to load one episode")


def _check_frame_layout(where: str, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    if dtype != np.uint8:
        raise UserError(f"{where}: frames are {dtype}, expected uint8 RGB (0-255); save them as uint8")
    if len(shape) != 4 or shape[-1] != 3:
        raise UserError(f"{where}: frames have shape {tuple(shape)}, expected (N, H, W, 3) RGB; "
                        "store frames channels-last with 3 colour channels")
    if shape[0] == 0:
        raise UserError(f"{where}: holds no frames; {MAKE_ONE}")


def _preview_list(values: np.ndarray) -> str:
    """A short '[a, b, c, ..., z]' for messages about long arrays."""
    if len(values) <= 5:
        return str(values.tolist())
    return "[" + ", ".join(str(v) for v in values[:3].tolist()) + f", ..., {values[-1]}]"


def load_dataset(path: str | os.PathLike) -> VideoData:
    """Read and validate a dataset file; every problem is a UserError naming the file."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file; check the path, or {MAKE_ONE}")
    if not path.is_file():
        raise UserError(f"{path}: is not a file; pass an .h5 dataset file")
    if not h5py.is_hdf5(path):
        raise UserError(f"{path}: is not an HDF5 file; pass an .h5 dataset, or convert a video with "
                        "`nanogenie data import VIDEO --out FILE.h5`")
    try:
        with h5py.File(path, "r") as f:
            if not isinstance(f.get("frames"), h5py.Dataset):
                found = ", ".join(sorted(f.keys())) or "nothing"
                raise UserError(f"{path}: has no 'frames' dataset (found: {found}); "
                                "a dataset needs frames as uint8 (N, H, W, 3)")
            frames_ds = f["frames"]
            # Check dtype and shape before reading, so a huge wrong array is rejected at once.
            _check_frame_layout(str(path), frames_ds.dtype, frames_ds.shape)
            frames = frames_ds[()]
            actions = f["actions"][()] if "actions" in f else None
            episode_ends = f["episode_ends"][()] if "episode_ends" in f else np.array([len(frames)])
            fps_attr = f.attrs.get("fps", DEFAULT_FPS)
            source = _text(f.attrs.get("source", ""))
            names_json = _text(f.attrs.get("action_names", "[]"))
    except OSError as err:
        raise UserError(f"{path}: could not be read ({err}); the file may be truncated, download or write it again")
    try:
        action_names = json.loads(names_json)
    except json.JSONDecodeError:
        action_names = None
    if not isinstance(action_names, list):
        raise UserError(f"{path}: attribute action_names is not a JSON list ({names_json[:60]!r}); fix or delete it")
    action_names = [str(name) for name in action_names]
    try:
        fps = int(fps_attr)
    except (TypeError, ValueError):
        fps = 0
    if fps <= 0:
        raise UserError(f"{path}: attribute fps is {fps_attr!r}, expected a positive number of frames per second")
    _check_arrays(str(path), frames, actions, episode_ends, len(action_names))
    if actions is not None:
        actions = actions.astype(np.int16)
        if not action_names:  # actions without names: number them so every action has a label
            action_names = [f"action{i}" for i in range(int(actions.max()) + 1)]
    return VideoData(frames, actions, episode_ends.astype(np.int64), fps, source, action_names, str(path))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def write_dataset(
    path: str | os.PathLike,
    frames: np.ndarray,
    actions: np.ndarray | None = None,
    episode_ends: np.ndarray | None = None,
    fps: int = DEFAULT_FPS,
    source: str = "",
    action_names: list[str] | None = None,
) -> None:
    """Write a dataset atomically: a half-written file never replaces a good one."""
    path = Path(path)
    frames = np.asarray(frames)
    episode_ends = np.array([len(frames)]) if episode_ends is None else np.asarray(episode_ends)
    action_names = list(action_names or [])
    actions = None if actions is None else np.asarray(actions)
    _check_arrays(f"data for {path}", frames, actions, episode_ends, len(action_names))
    num_frames, height, width, _ = frames.shape
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _check_free_space(path, frames.nbytes)
        with replacing(path, then="free space or write elsewhere") as tmp, h5py.File(tmp, "w") as f:
            f.create_dataset("frames", data=frames, chunks=(min(CHUNK_FRAMES, num_frames), height, width, 3),
                             compression="gzip", compression_opts=1)
            if actions is not None:
                f.create_dataset("actions", data=np.asarray(actions, dtype=np.int16))
            f.create_dataset("episode_ends", data=episode_ends.astype(np.int64))
            f.attrs["fps"] = int(fps)
            f.attrs["source"] = source
            f.attrs["action_names"] = json.dumps(action_names)
    except OSError as err:
        raise UserError(f"{path}: could not be written ({err.strerror or err}); check the folder exists and is "
                        f"writable") from None


def _check_free_space(path: Path, raw_bytes: int) -> None:
    """Refuse before writing when the disk cannot hold the frames uncompressed: libhdf5 can crash the
    process (not raise) when the disk fills up mid-write."""
    free, need = shutil.disk_usage(path.parent).free, raw_bytes + (16 << 20)  # and a margin
    if free < need:
        raise UserError(f"{path}: {free >> 20} MB free on that disk, the data may need up to {need >> 20} MB; "
                        f"free some space or write elsewhere")
