"""The command groups of the ``qled`` program, one module each: ``run``, ``gui``, ``demo``,
``analyze`` (analyze, report), ``store`` (resume, inspect, export), ``trpl``, ``sim``,
``completion``. Each has ``register(subparsers)``; :mod:`qled.cli` assembles them."""
