"""qled-bench: acquisition."""
