"""``qled run <procedure>`` and ``qled demo``.

Every PyMeasure parameter of a procedure becomes a command-line option of the same name
(``step_voltage_V`` → ``--step-voltage-V``) with its units and allowed range in the help,
so the CLI, the GUI and the stored ``/parameters`` always agree.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from pathlib import Path

from pymeasure.experiment import (BooleanParameter, FloatParameter, IntegerParameter,
                                  ListParameter)

from .base import build_procedure, describe_parameter

#: ``qled run NAME`` → procedure class. A module that is absent is skipped.
PROCEDURES = {
    "jvl": "procedures.jvl:JVLProcedure",
    "lifetime": "procedures.lifetime:LifetimeProcedure",
    "dlcp": "procedures.dlcp:DLCPProcedure",
    "cv": "procedures.cv:CVProcedure",
    "sclc": "procedures.sclc:SCLCProcedure",
    "pl-stability": "procedures.pl_stability:PLStabilityProcedure",
}

#: Common options that are not procedure parameters.
_COMMON = ("out", "time_scale", "no_noise", "flush_interval")


def load_class(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def available_procedures() -> dict[str, type]:
    found = {}
    for name, target in PROCEDURES.items():
        try:
            found[name] = load_class(target)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("procedures."):
                continue
            raise
    return found


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_parameter_options(parser: argparse.ArgumentParser, cls) -> None:
    """One option per PyMeasure parameter of ``cls`` (default: the parameter's default)."""
    group = parser.add_argument_group("procedure parameters")
    for name, param in cls().parameter_objects().items():
        help_text = f"{param.name} ({describe_parameter(param)}; default {param.default!r})"
        if isinstance(param, BooleanParameter):
            group.add_argument(_option(name), dest=name, default=None, metavar="BOOL",
                               choices=("true", "false"), help=help_text)
        elif isinstance(param, ListParameter):
            group.add_argument(_option(name), dest=name, default=None,
                               choices=[str(c) for c in param.choices], help=help_text)
        elif isinstance(param, (FloatParameter, IntegerParameter)):
            group.add_argument(_option(name), dest=name, default=None, metavar="X",
                               help=help_text)
        else:
            group.add_argument(_option(name), dest=name, default=None, metavar="TEXT",
                               help=help_text)


def procedure_subcommands(parser: argparse.ArgumentParser):
    """One sub-command per available procedure under ``parser``: yields ``(name, class,
    sub-parser)`` with the class docstring's first line as help."""
    sub = parser.add_subparsers(dest="procedure", metavar="PROCEDURE")
    sub.required = True
    for name, cls in available_procedures().items():
        doc = (cls.__doc__ or name).strip().splitlines()[0]
        yield name, cls, sub.add_parser(name, help=doc, description=doc)


def add_simulation_options(parser: argparse.ArgumentParser) -> None:
    """``--time-scale`` and ``--no-noise`` (read back by :func:`sim_overrides`)."""
    parser.add_argument("--time-scale", type=float, default=None, metavar="K",
                        help="simulated bench only: simulated seconds per wall second")
    parser.add_argument("--no-noise", action="store_true",
                        help="simulated bench only: noise-free instruments")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs", metavar="DIR",
                        help="folder for the run file(s) (created if missing; default ./runs)")
    add_simulation_options(parser)
    parser.add_argument("--flush-interval", type=float, default=1.0, metavar="S",
                        help="longest time rows wait in memory before reaching the disk [s]")


def parameter_values(args, cls) -> dict:
    names = cls().parameter_objects()
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def sim_overrides(args) -> dict:
    """Simulated-bench options from :func:`add_simulation_options` (one-line ValueError)."""
    overrides = {}
    if getattr(args, "time_scale", None) is not None:
        if not (args.time_scale > 0 and math.isfinite(args.time_scale)):
            raise ValueError(f"--time-scale = {args.time_scale:g} is out of range: allowed > 0")
        overrides["time_scale"] = float(args.time_scale)
    if getattr(args, "no_noise", False):
        overrides["noise"] = False
    return overrides


def register(subparsers) -> None:
    run = subparsers.add_parser("run", help="run a measurement procedure",
                                description="Run a measurement against a station: "
                                "'--station sim' (built-in simulated bench) or a TOML file.")
    for name, cls, p in procedure_subcommands(run):
        add_common_options(p)
        add_parameter_options(p, cls)
        hook = getattr(sys.modules[cls.__module__], "add_cli_options", None)
        if hook is not None:
            hook(p)
        p.set_defaults(func=_run, procedure_class=cls, procedure_name=name)

    demo = subparsers.add_parser(
        "demo", help="a full simulated session: every procedure, a batch report",
        description="Run every procedure against the simulated bench (pixels of a pristine "
        "and a passivated device), write all runs and the batch report, print a summary.")
    demo.add_argument("--out", default=None, metavar="DIR",
                      help="folder for runs and reports (default: a new "
                      "./qled-demo/<YYYYmmdd-HHMMSS> for every session)")
    demo.add_argument("--pixels", type=int, default=3, metavar="N",
                      help="pixels per device for the J-V-L batch (default 3)")
    demo.set_defaults(func=_demo)


class ProgressBar:
    """A tqdm bar fed by a procedure's 'progress' records (percent)."""

    def __init__(self, label: str):
        from tqdm import tqdm

        self.bar = tqdm(total=100.0, desc=label, unit="%", leave=False, file=sys.stderr,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
                        disable=not sys.stderr.isatty())

    def __call__(self, percent: float) -> None:
        self.bar.update(max(0.0, float(percent) - self.bar.n))

    def close(self) -> None:
        self.bar.close()


def run_one(cls, values: dict, out: Path, *, overrides: dict | None = None,
            flush_interval_s: float = 1.0, label: str = "run", station_object=None):
    """Build, validate and run one procedure; analyse the finished file. → (RunResult, dict)."""
    from acquisition.runner import run_procedure

    procedure = build_procedure(cls, values, station_object=station_object)
    if overrides:
        procedure.sim_overrides = {**procedure.sim_overrides, **overrides}
    bar = ProgressBar(label)
    try:
        result = run_procedure(procedure, out, flush_interval_s=flush_interval_s, progress=bar)
    finally:
        bar.close()
    analysis = None
    if result.path is not None and result.rows:
        analysis = analyze_file(result.path)
    return result, analysis


def analyze_file(path) -> dict | None:
    """Analyse a stored run and record the result in its ``/analysis`` group.

    A run whose status is still ``running`` (interrupted: killed, power cut) is analysed as
    far as it got, but the result is not stored (only finished runs carry an analysis): one
    line on stderr says so and suggests ``qled resume``. Returns the result, or None (with
    the reason on stderr) when the analysis is not possible.
    """
    import shlex

    from acquisition.store import StoreBusy, StoreError, load_run, write_analysis
    from analysis.dispatch import analyzer, run_kind

    try:
        run = load_run(path)
    except (StoreError, StoreBusy) as exc:     # not a run file, or damaged beyond its journal
        reason = " ".join(str(getattr(exc, "strerror", None) or exc).split())
        print(f"qled: not a readable run file: {reason}", file=sys.stderr)
        return None
    kind = run_kind(run)
    try:
        result = analyzer(kind)(run)
    except ValueError as exc:
        print(f"qled: analysis of {Path(path).name} not possible: {exc}", file=sys.stderr)
        return None
    running = run.status == "running"
    if not running:
        try:
            write_analysis(path, kind, result)
        except ValueError:
            # resumed since it was loaded? write_analysis refuses running files
            if load_run(path, spectra=False).status != "running":
                raise
            running = True
    if running:
        print(f"qled: {Path(path).name} was interrupted (status running, {len(run.data)} rows): "
              "analysed as far as it got, analysis not stored; unless it is still being "
              f"recorded, continue it with: qled resume {shlex.quote(str(path))}",
              file=sys.stderr)
    return result


def _run(args) -> int:
    cls = args.procedure_class
    values = parameter_values(args, cls)
    module = sys.modules[cls.__module__]
    custom = getattr(module, "cli_run", None)
    if custom is not None:
        return custom(args, values)
    out = Path(args.out)
    result, analysis = run_one(cls, values, out, overrides=sim_overrides(args),
                               flush_interval_s=args.flush_interval, label=args.procedure_name)
    if result.path is None:
        print(f"qled: run {result.status}: {result.message}", file=sys.stderr)
        return 1
    print(f"{result.status}: {result.path} ({result.rows} rows)"
          + (f" — {result.message}" if result.message else ""))
    if analysis is not None:
        print(json.dumps(analysis, indent=2, default=_json_default))
    return 0 if result.status == "finished" else 1


def _json_default(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(obj)


def _demo(args) -> int:
    from .demo import run_demo

    if args.out is None:
        import datetime

        out = Path("qled-demo") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    else:
        out = Path(args.out)
    return run_demo(out, pixels=args.pixels)
