"""nanogenie: a small, complete, playable Genie-style world model."""

__version__ = "0.1.0"
