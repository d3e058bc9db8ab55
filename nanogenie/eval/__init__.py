"""Evaluation: figures measured on held-out data, apart from training."""
