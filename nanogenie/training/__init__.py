"""Training: the stage loop, checkpoints, DDP, the run's data, keymap fitting, plots.

`commands.py` holds `nanogenie train`; the figures it writes into world.json come from nanogenie/eval.
"""
