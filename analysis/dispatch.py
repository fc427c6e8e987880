"""Which analysis and report belong to which kind of run.

A run file names its procedure (``procedures.jvl:JVLProcedure`` → kind ``jvl``). For each
kind this table names two functions, as ``"module:function"`` strings so that nothing is
imported before it is needed:

``analyze(run) -> dict``
    JSON-able results of one loaded run (``acquisition.store.Run``); ``qled analyze`` prints
    them and writes them to the file's ``/analysis/<kind>``.
``report(run, out_dir) -> pathlib.Path``
    Writes a readable page (Markdown/HTML + PNG figures) for the run; returns its path.
"""
from __future__ import annotations

import importlib
from typing import Callable

__all__ = ["KINDS", "run_kind", "analyzer", "reporter"]

KINDS: dict[str, dict[str, str]] = {
    "jvl": {"analyze": "analysis.report:analyze_jvl_run",
            "report": "analysis.report:write_run_report"},
    "lifetime": {"analyze": "analysis.lifetime_report:analyze_run",
                 "report": "analysis.lifetime_report:write_run_report"},
    "dlcp": {"analyze": "analysis.dlcp_report:analyze_dlcp_run",
             "report": "analysis.dlcp_report:write_dlcp_report"},
    "cv": {"analyze": "analysis.dlcp_report:analyze_cv_run",
           "report": "analysis.dlcp_report:write_cv_report"},
    "sclc": {"analyze": "analysis.sclc_report:analyze_run",
             "report": "analysis.sclc_report:write_run_report"},
    "plstability": {"analyze": "analysis.pl_report:analyze_run",
                    "report": "analysis.pl_report:write_run_report"},
}


def run_kind(run) -> str:
    """Short name of the procedure that wrote ``run`` (``jvl``, ``lifetime``, ``dlcp`` …)."""
    from acquisition.store import procedure_short_name

    return procedure_short_name(str(run.attrs.get("procedure", "")))


def _resolve(kind: str, role: str) -> Callable:
    try:
        target = KINDS[kind][role]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise ValueError(f"no analysis for runs of kind '{kind}': known kinds are {known}") \
            from None
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ModuleNotFoundError, AttributeError):
        raise ValueError(f"the {role} of '{kind}' runs ({target}) is not available in this "
                         "version of qled-bench") from None


def analyzer(kind: str) -> Callable:
    """``analyze(run) -> dict`` for runs of ``kind``."""
    return _resolve(kind, "analyze")


def reporter(kind: str) -> Callable:
    """``report(run, out_dir) -> Path`` for runs of ``kind``."""
    return _resolve(kind, "report")
