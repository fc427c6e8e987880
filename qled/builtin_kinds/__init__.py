"""The measurement kinds qled-bench brings: one module per kind, each publishing ``KIND``.

They are registered like a lab's own plug-ins, through the ``qled_bench.kinds`` entry points
of ``pyproject.toml`` (see :mod:`qled.kinds`); nothing imports this package directly.
"""
