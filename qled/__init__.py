"""The ``qled`` program: the application layer on top of qled-bench.

It may import every layer below it (procedures, reports, acquisition, instruments, analysis,
simulators); nothing below imports it. :mod:`qled.cli` assembles the command line from one
module per command group in :mod:`qled.commands`; :mod:`qled.kinds` finds the measurement
kinds (built-in and plug-ins) through entry points; :mod:`qled.gui` is the technician's window.
"""
