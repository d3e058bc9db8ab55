"""Shared test set-up: no display, no sound, user worlds kept inside the test's temp folder."""

import errno
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Trained worlds go to a temp NANOGENIE_HOME, never the user's ~/.nanogenie."""
    monkeypatch.setenv("NANOGENIE_HOME", str(tmp_path / "nanogenie_home"))


@pytest.fixture
def fill_disk(monkeypatch):
    """fill_disk(name_part): from now on, every write of a file whose name holds name_part stops half way
    with ENOSPC, as on a full disk (through nanogenie.atomic.write_all, where nanogenie's bytes reach
    files); fill_disk(None): the disk has room again."""
    from nanogenie import atomic

    real, full = atomic.write_all, []

    def write_all(file, data):
        if full and full[0] in file.name:
            real(file, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(file, data)

    def fill(name_part: str | None) -> None:
        full[:] = [name_part] if name_part is not None else []

    monkeypatch.setattr(atomic, "write_all", write_all)
    return fill
