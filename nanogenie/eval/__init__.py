"""Evaluation: the figures of a world on held-out data, and the results table built from them."""
