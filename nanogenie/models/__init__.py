"""The three models of a world (tokenizer, latent actions, dynamics), their parts, and frame generation."""
