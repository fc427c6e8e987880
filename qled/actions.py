"""What the commands share: run one procedure, analyse a stored run, print results.

:func:`run_one` builds, validates and runs one procedure through the run engine with a
progress bar and analyses the finished file; :func:`analyze_file` analyses a stored run by its
kind and records the result in its ``/analysis`` group; :func:`print_summary` prints a result
as a short table (``--json`` prints everything).
"""
from __future__ import annotations

import json
import math
import shlex
import sys
from pathlib import Path

from qled.kinds import kind_of_run
from qled.progress import Progress

__all__ = ["run_one", "analyze_file", "after_store_failure", "json_default", "print_json",
           "print_summary", "lookup"]


def run_one(cls, values: dict, out: Path, *, overrides: dict | None = None,
            flush_interval_s: float = 1.0, label: str = "run", station_object=None,
            analyze: bool = True):
    """Build, validate and run one procedure; analyse the finished file → (RunResult, dict).

    The analysis is None when the run stored no rows, cannot be analysed (the reason is
    printed on stderr) or its file could not be written (disk full, I/O error: nothing more
    is done on that disk; the caller prints ``result.note``).
    """
    from acquisition.runner import run_procedure
    from procedures.base import build_procedure

    procedure = build_procedure(cls, values, station_object=station_object)
    if overrides:
        procedure.sim_overrides = {**procedure.sim_overrides, **overrides}
    with Progress(label) as bar:
        result = run_procedure(procedure, out, flush_interval_s=flush_interval_s, progress=bar)
    analysis = None
    if analyze and result.path is not None and result.rows and not result.store_failed:
        analysis = analyze_file(result.path)
    return result, analysis


def after_store_failure(result, stream=None) -> None:
    """What a run whose file could not be written leaves: one line saying what is saved and
    how to finish the file (no analysis, no recovery on a disk that just failed)."""
    if result.note:
        print(f"qled: {result.note}", file=stream or sys.stderr)


def analyze_file(path, *, stream=None) -> dict | None:
    """Analyse a stored run and record the result in its ``/analysis`` group.

    A run whose status is still ``running`` (interrupted: killed, power cut) is analysed as
    far as it got, but the result is not stored (only finished runs carry an analysis): one
    line on stderr says so and suggests ``qled resume``. Returns the result, or None (with
    the reason on stderr) when the analysis is not possible. ``stream``: where those lines
    go instead of stderr (``qled batch`` collects them per file).
    """
    from acquisition.store import StoreBusy, StoreError, load_run, write_analysis

    stream = stream or sys.stderr

    try:
        run = load_run(path)
    except (StoreError, StoreBusy) as exc:     # not a run file, or damaged beyond its journal
        reason = " ".join(str(getattr(exc, "strerror", None) or exc).split())
        print(f"qled: not a readable run file: {reason}", file=stream)
        return None
    try:
        kind = kind_of_run(run)
        if kind.analyze is None:
            raise ValueError(f"runs of kind '{kind.name}' have no analysis")
        result = kind.analyze(run)
    except ValueError as exc:
        print(f"qled: analysis of {Path(path).name} not possible: {exc}", file=stream)
        return None
    running = run.status == "running"
    if not running:
        try:
            write_analysis(path, kind.key, result)
        except StoreError as exc:      # disk full, or resumed since: analysed, not stored
            reason = " ".join(str(exc.strerror or exc).split())
            print(f"qled: {reason}", file=stream)
            return result
        except ValueError:
            # resumed since it was loaded? write_analysis refuses running files
            if load_run(path, spectra=False).status != "running":
                raise
            running = True
    if running:
        print(f"qled: {Path(path).name} was interrupted (status running, {len(run.data)} rows): "
              "analysed as far as it got, analysis not stored; unless it is still being "
              f"recorded, continue it with: qled resume {shlex.quote(str(path))}",
              file=stream)
    return result


def json_default(obj):
    """numpy scalars and arrays as Python numbers and lists; anything else as text."""
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _finite(obj) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_finite(v) for v in obj)
    return True


def print_json(result, stream=None) -> None:
    """``result`` as one JSON object (NaN only where the result holds one)."""
    print(json.dumps(result, default=json_default, allow_nan=not _finite(result)),
          file=stream or sys.stdout)


def lookup(result, key: str):
    """``result[key]`` where ``key`` may index into nested results: ``up.v_tfl_V``,
    ``n_dl_cm3.0`` (first item), ``per_frequency.-1.median_n_cv_reverse_cm3``."""
    value = result
    for part in key.split("."):
        try:
            value = value[int(part)] if isinstance(value, list) else value.get(part)
        except (ValueError, IndexError, AttributeError):
            return None
        if value is None:
            return None
    return value


def print_summary(result: dict, headlines=(), stream=None, *, full: bool = True) -> None:
    """A result as ``name  value`` lines.

    ``full``: every scalar figure by its key (keys carry their units), after the kind's nested
    ``headlines`` (a key with a dot, e.g. ``n_dl_cm3.0``); nested results are left to
    ``--json``. Not ``full``: the kind's headlines only (title, value), a short table for the
    end of a run; without headlines, as ``full``.
    """
    out = stream or sys.stdout
    for key, title, spec in headlines:
        if full and "." not in key:
            continue
        value = lookup(result, key)
        if value is None:
            continue
        text = format(value, spec) if spec and isinstance(value, (int, float)) else value
        print(f"{title:40s} {text}", file=out)
    if not full and headlines:
        return
    for key, value in result.items():
        if not isinstance(value, (list, dict)):
            print(f"{key:40s} {value}", file=out)
    nested = [k for k, v in result.items() if isinstance(v, (list, dict))]
    if nested:
        print(f"{'(with --json)':40s} {', '.join(nested)}", file=out)
