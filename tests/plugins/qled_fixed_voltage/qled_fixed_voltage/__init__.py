"""Luminance of an LED pixel held at a fixed voltage, over time: a plug-in kind for qled-bench."""
