"""Training and evaluation: the stage loop, checkpoints, DDP, metrics, keymap fitting, plots.

`commands.py` holds the two CLI entry points (`nanogenie train`, `nanogenie eval`).
"""
