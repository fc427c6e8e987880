"""qled-bench: instruments."""
