"""``qled run KIND``: one measurement against a station (simulated or real), then its analysis.

Every parameter of the kind's procedure is an option (grouped: sample and device, sweep,
limits and safety, instruments, output, simulated bench), with units, range and default in
``--help``. A bad value is refused in one line before anything is sourced. On ``--station
sim`` the bench's clock runs :data:`qled.options.DEFAULT_SIM_TIME_SCALE` × faster unless
``--time-scale`` says otherwise; real stations keep real time.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qled.actions import after_store_failure, print_json, print_summary, run_one
from qled.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from qled.kinds import Kind, kinds
from qled.options import (DEFAULT_SIM_TIME_SCALE, add_output_options, add_parameter_options,
                          add_simulation_options, parameter_values, sim_overrides)

__all__ = ["register", "kind_subcommands", "station_help", "run_overrides"]


def station_help(kind: Kind) -> str:
    devices = "|".join(kind.sim_devices or kind.procedure.SIM_DEVICES)
    return (f"'sim' or 'sim:<{devices}>' (the built-in simulated bench; plain 'sim' is "
            f"{(kind.sim_devices or kind.procedure.SIM_DEVICES)[0]}) or a station TOML file")


def kind_subcommands(parser: argparse.ArgumentParser, *, dest: str = "kind"):
    """One sub-command per registered kind under ``parser``: yields ``(kind, sub-parser)``."""
    sub = parser.add_subparsers(dest=dest, metavar="KIND")
    sub.required = True
    for kind in kinds().values():
        yield kind, sub.add_parser(kind.name, help=kind.summary, description=kind.summary)


def register(subparsers) -> None:
    run = subparsers.add_parser(
        "run", help="run a measurement (J-V-L, lifetime, DLCP, C-V, SCLC, PL stability …)",
        description="Run a measurement against a station: '--station sim' (the built-in "
        "simulated bench) or a station TOML file. The run file goes to --out; its analysis is "
        "printed as a summary (--json: everything).")
    for kind, p in kind_subcommands(run):
        add_parameter_options(p, kind.procedure)
        for action in p._actions:
            if action.dest == "station":
                action.help = station_help(kind) + f" (default {kind.procedure.station.default})"
        if kind.add_options is not None:
            kind.add_options(p)
        add_output_options(p)
        add_simulation_options(p)
        p.set_defaults(func=_run, kind_name=kind.name)


def run_overrides(args, values: dict) -> dict:
    """Simulated-bench overrides of a run: the default fast clock only on ``--station sim``."""
    station = str(values.get("station", "sim"))
    on_sim = station == "sim" or station.startswith("sim:")
    return sim_overrides(args, default_time_scale=DEFAULT_SIM_TIME_SCALE if on_sim else None)


def _run(args) -> int:
    kind = kinds()[args.kind_name]
    cls = kind.procedure
    values = parameter_values(args, cls)
    if kind.run_command is not None:
        return kind.run_command(args, values)
    result, analysis = run_one(cls, values, Path(args.out), overrides=run_overrides(args, values),
                               flush_interval_s=args.flush_interval, label=kind.name)
    if result.path is None:
        if result.refused:           # a value the user can fix: nothing was recorded
            print(f"qled: error: {result.message}", file=sys.stderr)
            return EXIT_USAGE
        print(f"qled: run {result.status}: {result.message}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{result.status}: {result.path} ({result.rows} rows)"
          + (f" — {result.message}" if result.message else ""))
    if result.store_failed:
        after_store_failure(result)
    if analysis is not None:
        if args.json:
            print_json(analysis)
        else:
            print_summary(analysis, kind.headlines, full=False)
            print(f"(all figures: qled analyze {result.path}; --json prints everything)")
    return EXIT_OK if result.status == "finished" else EXIT_FAILED
