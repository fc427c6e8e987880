"""The searchable metadata of one run file: who, what, when, its status and its figures.

:func:`lift_metadata` reads only a file's root attributes and its ``/analysis`` (never its
rows), so that 10⁴ files are lifted in one quick pass. Scalar figures of merit of the run's
kind are flattened to top-level keys whose names keep their units (``max_eqe_percent``;
a nested figure ``a/b`` becomes ``a__b``); figures of other analyses get their key as
prefix (``cv__built_in_V``). Non-finite numbers are left out (JSON has none).
"""
from __future__ import annotations

import math
import os
import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from acquisition.store import journal_path

__all__ = ["FINISHED", "RunNotFinished", "lift_metadata", "run_id"]

#: Statuses of a file that will not change again (``running`` may).
FINISHED = ("finished", "aborted", "failed")

#: Root attributes lifted as they are.
_ROOT = ("sample", "pixel", "operator", "status", "procedure", "start_time", "end_time",
         "host", "software_version", "notes", "resume_count", "simulated")


class RunNotFinished(ValueError):
    """A file that is still being written (or holds a journal) is never registered."""


def run_id(path: str | os.PathLike) -> str:
    """The catalogue key of a run: its file name without ``.h5`` (unique, stable across
    resumes and re-analyses: the name holds the start time, sample and procedure)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", Path(path).name.removesuffix(".h5"))


def _unix_s(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _flatten(tree: dict, prefix: str, out: dict) -> None:
    for key, value in tree.items():
        name = f"{prefix}__{key}" if prefix else str(key)
        if isinstance(value, dict):
            _flatten(value, name, out)
        elif isinstance(value, bool) or isinstance(value, str):
            out[name] = value
        elif isinstance(value, (int, float)) and math.isfinite(value):
            out[name] = value


def lift_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The catalogue metadata of a finished run file (``RunNotFinished`` otherwise).

    Keys: ``run_id``, ``file`` (its name), ``path`` (absolute, as registered), ``station`` (the station's name or ``sim``),
    ``kind`` (``qled run NAME``, or the procedure's key if no installed kind wrote it),
    ``procedure``, ``sample``, ``pixel``, ``operator``, ``status``, ``start_time``,
    ``end_time`` (ISO 8601 UTC), ``start_unix_s`` (for ``--since``), and the figures of merit.
    """
    import h5py

    from acquisition.store.encoding import _decode_scalar, _read_tree
    from qled.kinds import kind_key, kind_of_run

    path = Path(path)
    if journal_path(path).exists():
        raise RunNotFinished(f"{path.name} holds a journal (still written, or to be "
                             "recovered): only finished files are published")
    with h5py.File(path, "r") as f:
        attrs = {k: _decode_scalar(f.attrs[k]) for k in _ROOT + ("station_json",)
                 if k in f.attrs}
        analysis = {k: _read_tree(g) for k, g in f["analysis"].items()} \
            if "analysis" in f else {}
    status = attrs.get("status")
    if status not in FINISHED:
        raise RunNotFinished(f"{path.name} has status {status!r}: only finished files "
                             f"({', '.join(FINISHED)}) are published")
    import json

    station = json.loads(attrs.pop("station_json", "") or "{}")
    md: dict[str, Any] = {"run_id": run_id(path), "file": path.name,
                          "path": str(path.resolve())}
    md.update(attrs)
    table = station.get("station", station) if isinstance(station, dict) else {}
    md["station"] = str((table.get("name") if isinstance(table, dict) else None) or
                        ("sim" if attrs.get("simulated") else "unknown"))
    try:
        kind = kind_of_run(SimpleNamespace(attrs=attrs))
        md["kind"], key = kind.name, kind.key
    except ValueError:
        md["kind"] = key = kind_key(attrs.get("procedure", ""))
    md["start_unix_s"] = _unix_s(attrs.get("start_time", ""))
    for name, tree in analysis.items():
        _flatten(tree, "" if name == key else name, md)
    return md
