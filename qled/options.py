"""Command-line options from procedure parameters, grouped as an operator thinks of them.

Every PyMeasure parameter of a procedure becomes an option of the same name
(``step_voltage_V`` → ``--step-voltage-V``) with its units, allowed range and default in the
help, so the CLI, the GUI and the stored ``/parameters`` always agree. Options are grouped by
the procedure's :attr:`~procedures.base.QledProcedure.PARAMETER_GROUPS` (sample and device,
sweep, limits and safety, instruments …); the options of every run (output, simulated bench)
follow.
"""
from __future__ import annotations

import argparse
import math

from pymeasure.experiment import (BooleanParameter, FloatParameter, IntegerParameter,
                                  ListParameter)

from procedures.base import GROUP_ORDER, MEASUREMENT, describe_parameter

__all__ = ["add_parameter_options", "add_output_options", "add_simulation_options",
           "parameter_values", "sim_overrides", "DEFAULT_SIM_TIME_SCALE"]

#: Simulated seconds per wall second of a run on ``--station sim`` unless ``--time-scale``
#: says otherwise: a J-V-L sweep whose spectroradiometer integrates for seconds per point
#: then takes seconds, not minutes. Real stations and served benches keep their own clock.
DEFAULT_SIM_TIME_SCALE = 100.0


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _help(param) -> str:
    default = param.default
    shown = "none" if default in (None, "") else repr(default) if isinstance(default, str) \
        else f"{default:g}" if isinstance(default, float) else str(default)
    return f"{param.name} ({describe_parameter(param)}; default {shown})"


def add_parameter_options(parser: argparse.ArgumentParser, cls) -> None:
    """One option per PyMeasure parameter of ``cls``, in the groups its
    ``PARAMETER_GROUPS`` names (unlisted parameters: :data:`procedures.base.MEASUREMENT`)."""
    params = cls().parameter_objects()
    listed = [n for n in cls.PARAMETER_GROUPS if n in params]
    names = listed + sorted(n for n in params if n not in cls.PARAMETER_GROUPS)
    group_of = {n: cls.PARAMETER_GROUPS.get(n, MEASUREMENT) for n in names}
    titles = [t for t in GROUP_ORDER if t in group_of.values()]
    titles += [t for t in dict.fromkeys(group_of.values()) if t not in titles]
    groups = {t: parser.add_argument_group(t) for t in titles}
    for name in names:
        param = params[name]
        group = groups[group_of[name]]
        help_text = _help(param)
        if isinstance(param, BooleanParameter):
            group.add_argument(_option(name), dest=name, default=None, metavar="BOOL",
                               choices=("true", "false"), help=help_text)
        elif isinstance(param, ListParameter):
            group.add_argument(_option(name), dest=name, default=None,
                               choices=[str(c) for c in param.choices], help=help_text)
        elif isinstance(param, (FloatParameter, IntegerParameter)):
            metavar = param.units.replace(" ", "") if param.units else \
                "N" if isinstance(param, IntegerParameter) else "X"
            group.add_argument(_option(name), dest=name, default=None, metavar=metavar,
                               help=help_text)
        else:
            group.add_argument(_option(name), dest=name, default=None,
                               metavar="sim|FILE.toml" if name == "station" else "TEXT",
                               help=help_text)


def add_output_options(parser: argparse.ArgumentParser, *, flush: bool = True) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--out", default="runs", metavar="DIR",
                       help="folder for the run file(s) (created if missing; default ./runs)")
    if flush:
        group.add_argument("--flush-interval", type=float, default=1.0, metavar="S",
                           help="longest time rows wait in memory before reaching the disk "
                           "[s] (default 1)")
    group.add_argument("--json", action="store_true",
                       help="print the analysis as one JSON object instead of a summary")


def add_simulation_options(parser: argparse.ArgumentParser) -> None:
    """``--time-scale``, ``--no-noise`` and ``--sim-switch`` (read back by
    :func:`sim_overrides`)."""
    group = parser.add_argument_group("simulated bench (--station sim…)")
    group.add_argument("--time-scale", type=float, default=None, metavar="K",
                       help="simulated seconds per wall second (default "
                       f"{DEFAULT_SIM_TIME_SCALE:g} on --station sim; a station file keeps "
                       "its own clock)")
    group.add_argument("--no-noise", action="store_true",
                       help="noise-free simulated instruments")
    group.add_argument("--sim-switch", choices=("keithley7001", "relay_box"), default=None,
                       help="a switched substrate (max(4, pixel) pixels): the run connects its "
                       "pixel through this pixel switch")


def parameter_values(args, cls) -> dict:
    names = cls().parameter_objects()
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def sim_overrides(args, *, default_time_scale: float | None = DEFAULT_SIM_TIME_SCALE) -> dict:
    """Simulated-bench options from :func:`add_simulation_options` (one-line ValueError).

    ``default_time_scale`` applies when ``--time-scale`` is not given (None: real time).
    """
    overrides = {}
    scale = getattr(args, "time_scale", None)
    if scale is None:
        scale = default_time_scale
    elif not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"--time-scale = {scale:g} is out of range: allowed > 0 (finite)")
    if scale is not None:
        overrides["time_scale"] = float(scale)
    if getattr(args, "no_noise", False):
        overrides["noise"] = False
    if getattr(args, "sim_switch", None):
        overrides["switch"] = args.sim_switch
    return overrides
