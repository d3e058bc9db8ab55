"""Playing a learned world: the inference engine, the benchmark, and the pygame app."""
