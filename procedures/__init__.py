"""qled-bench: procedures."""
