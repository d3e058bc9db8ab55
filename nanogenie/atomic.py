"""Atomic writes: the one way nanogenie replaces a file, a set of files, or a folder of files.

A write goes to a temp name beside its target (the same folder, so the rename stays on one file
system), every file is fsynced, then renamed over the target and the folder fsynced: a reader, or a
kill at any instant, sees the old version or the new one, never half of one. On any failure the temp
is removed and the old version stays. A full disk becomes one UserError that says so, what was kept,
and what to do.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from nanogenie.errors import UserError

RESUME = "rerun with --resume"  # what a training does after a failed write: its last checkpoint stands


def temp_path(path: Path) -> Path:
    """Where `path`'s next version is written: hidden, beside it, named for this process (two
    processes sharing a run folder never write the same temp)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def is_temp(path: Path) -> bool:
    return path.name.startswith(".") and ".tmp-" in path.name


def write_bytes(path: str | os.PathLike, data: bytes, kept: str | None = None, then: str = "try again") -> None:
    """Replace the file `path` by `data` atomically (`kept` and `then`: see disk_full)."""
    write_files({Path(path): data}, kept, then)


def write_files(files: dict[Path, bytes], kept: str | None = None, then: str = "try again") -> None:
    """Replace several files as one: every one is written and fsynced before the first is renamed, so a
    failed write (a full disk) leaves them all as they were. They are renamed in the dict's order."""
    temps = {Path(path): temp_path(Path(path)) for path in files}
    path = next(iter(temps))
    try:
        for path, tmp in temps.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_synced(tmp, files[path])
        for path, tmp in temps.items():
            os.replace(tmp, path)
        for folder in {path.parent for path in temps}:
            fsync_dir(folder)
    except BaseException as err:
        for tmp in temps.values():
            _remove(tmp)
        _raise_disk_full(err, path, kept, then)  # naming the file that failed
        raise


@contextmanager
def replacing(path: str | os.PathLike, kept: str | None = None, then: str = "try again") -> Iterator[Path]:
    """Yields a temp path beside `path` for the caller to write (one file, or a folder of files). On a
    normal exit everything in it is fsynced and renamed onto `path` (a folder there is replaced); on
    any exception (a kill's KeyboardInterrupt too) the temp is removed and `path` is left as it was."""
    path = Path(path)
    tmp = temp_path(path)
    _remove(tmp)  # left by a killed process that had this pid
    try:
        yield tmp
        _fsync_tree(tmp)
        if path.is_dir() and tmp.is_dir():  # the same checkpoint step written again
            shutil.rmtree(path)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException as err:
        _remove(tmp)
        _raise_disk_full(err, path, kept, then)
        raise


def write_synced(path: Path, data: bytes) -> None:
    """Write and fsync one file (no rename: for a file inside a folder `replacing` renames)."""
    with open(path, "wb") as f:
        write_all(f, data)
        f.flush()
        os.fsync(f.fileno())


def write_all(file: BinaryIO, data: bytes) -> None:
    """Where nanogenie's own bytes reach a file (tests make it fail as a full disk does)."""
    file.write(data)


def is_disk_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_full(path: Path, kept: str | None = None, then: str = "try again") -> UserError:
    """The one line a full disk gets: what could not be written, what was kept, what to do."""
    if kept is None:
        kept = f"the previous {path.name} is unchanged" if path.exists() else "nothing else was changed"
    return UserError(f"the disk is full: {path} could not be written; {kept}. Free space on the disk that holds "
                     f"{path.parent}, then {then}")


def _raise_disk_full(err: BaseException, path: Path, kept: str | None, then: str) -> None:
    if is_disk_full(err):
        raise disk_full(path, kept, then) from None


def fsync_dir(path: Path) -> None:
    """Make a rename in the folder durable; not every platform can open a folder."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    if path.is_dir():
        for child in path.iterdir():
            _fsync_tree(child)
        fsync_dir(path)
    else:
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _remove(path: Path) -> None:
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass  # e.g. a read-only folder where it was never made: the original error says why
