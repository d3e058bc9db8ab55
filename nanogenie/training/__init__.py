"""Training: the stage loop, checkpoints, the run folder, its processes and DDP, the run's data, the
bundle, keymap fitting, plots.

`commands.py` holds `nanogenie train`; the figures `bundle.py` writes into world.json come from nanogenie/eval.
"""
