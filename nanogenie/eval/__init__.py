"""Evaluation: the figures of a world on held-out data, latent actions on any labelled file (ceiling,
leak, probe), and the results table built from them."""
