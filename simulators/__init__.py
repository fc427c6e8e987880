"""qled-bench: simulators."""
