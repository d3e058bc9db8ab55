"""Shared test set-up: no display, no sound, user worlds kept inside the test's temp folder."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Trained worlds go to a temp NANOGENIE_HOME, never the user's ~/.nanogenie."""
    monkeypatch.setenv("NANOGENIE_HOME", str(tmp_path / "nanogenie_home"))
