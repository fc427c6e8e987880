"""qled-bench: analysis."""
