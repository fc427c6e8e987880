"""Making an interrupted run file readable again, and finishing one a full disk left open.

:func:`_opens_cleanly` is the quick check that a file reads (schema, committed rows and
events present). :func:`recover` rebuilds a damaged file from its journal (the damaged file
is kept as ``<name>.damaged``, a new one holds the skeleton and every journalled batch) and
finishes a file whose journal ends with a finish record the file lacks (the disk was full at
the end of the run). It holds the run lock while it works, checks free space before writing
and leaves no temporary file behind. :func:`_repack` rewrites a file object by object (a
killed writer can leave allocation metadata that reads fine but breaks the next write);
:func:`_truncate` cuts the data back to a number of rows. :data:`_DAMAGE_ERRORS` are what
damaged metadata raises.
"""
from __future__ import annotations

import contextlib
import errno
import io
import json
import os
from pathlib import Path

import h5py
import numpy as np

from .encoding import _normalise_parameters, _write_tree
from .journal import _journal_finish, _json_hook, _read_journal, journal_path
from .locking import StoreError, _check_free, _fsync_dir, _locked, _open_h5, _reason
from .runlock import run_lock
from .schema import _append_to_file, _Batch, _check_schema, _parse_iso, _write_skeleton

#: What h5py, json and the decoders raise on damaged metadata: reported as StoreError.
_DAMAGE_ERRORS = (KeyError, AttributeError, RuntimeError, TypeError, IndexError, OSError,
                  UnicodeDecodeError, json.JSONDecodeError)


def _opens_cleanly(path: Path) -> bool:
    try:
        with _open_h5(path, "r") as f:
            _check_schema(f, path)
            n = int(f.attrs["rows_committed"])
            for name in f["data"].attrs["columns"]:
                if f["data"][name].shape[0] < n:
                    return False
                if n:
                    f["data"][name][n - 1]
            m = int(f.attrs["events_committed"])
            return all(ds.shape[0] >= m for ds in f["events"].values())
    except (ValueError, *_DAMAGE_ERRORS):
        return False


def recover(path: str | os.PathLike, force: bool = False) -> bool:
    """Make an interrupted run file readable (and finished, if its run ended) again; returns
    True if the file was rebuilt or finished.

    If the file opens cleanly and its journal records no end it lacks, nothing is done.
    A damaged file (killed or disk full in the middle of an HDF5 write) is rebuilt from its
    journal: the damaged file is kept as ``<name>.damaged`` and a new one holds the skeleton
    and every journalled batch. ``force`` rebuilds even a file that reads cleanly (its
    allocation metadata may still be damaged). When the journal holds the run's final
    status (``F`` record), the file gets it and the journal, no longer needed, is deleted.
    Raises ``StoreError`` (one line) if the file is damaged and has no journal, if the disk
    has no room for the work, or :class:`~acquisition.store.runlock.RunLocked` if another
    process writes the file.
    """
    path = Path(path)
    jpath = journal_path(path)
    if not force and not jpath.exists() and _opens_cleanly(path):
        return False
    with run_lock(path, "recover"):
        clean = not force and _opens_cleanly(path)
        if not jpath.exists():
            if clean:
                return False
            raise StoreError(errno.EIO, f"{path} is damaged and has no journal to rebuild it from")
        records = _read_journal(jpath)
        final = _journal_finish(records)
        if clean and _journal_rows(records) > _file_rows(path):
            clean = False        # the journal holds committed rows the file lacks: add them
        if clean:
            if final is None or not _finish_file(path, final):
                return False
        else:
            if not records or records[0][0] != b"S":
                raise StoreError(errno.EIO, f"{path} is damaged and its journal has no header")
            _check_free(path.parent, 2 * jpath.stat().st_size, f"rebuild {path.name}")
            _rebuild(path, records, final)
        if final is not None:           # finished from its journal: the file is complete
            with contextlib.suppress(FileNotFoundError):
                os.unlink(jpath)
            _fsync_dir(path.parent)
        return True


def _journal_rows(records: list[tuple[bytes, bytes]]) -> int:
    """Rows the journal's batches reach (row0 + rows of the last ``B`` record)."""
    for kind, payload in reversed(records):
        if kind == b"B":
            with np.load(io.BytesIO(payload)) as z:
                col = next((k for k in z.files if k.startswith("c:")), None)
                return int(z["row0"]) + (len(z[col]) if col else 0)
    return 0


def _file_rows(path: Path) -> int:
    with _open_h5(path, "r") as f:
        return int(f.attrs["rows_committed"])


def _finish_file(path: Path, final: dict) -> bool:
    """Give a clean file the status and end time of its journal's finish record."""
    with _open_h5(path, "r") as f:
        if f.attrs["status"] == final["status"] and f.attrs["end_time"]:
            return True
    _check_free(path.parent, 0, f"finish {path.name}")
    with _locked(path, True, 10.0) as fd:
        with _open_h5(path, "r+") as f:
            f.attrs["status"] = str(final["status"])
            f.attrs["end_time"] = str(final["end_time"])
        os.fsync(fd)
    return True


def _rebuild(path: Path, records: list[tuple[bytes, bytes]], final: dict | None) -> None:
    skel = json.loads(records[0][1], object_hook=_json_hook)
    tmp = path.with_name(f".{path.name}.rebuild.tmp")
    attrs = skel["attrs"]
    meta = {"simulated": attrs.get("simulated", False),
            "station": json.loads(attrs.get("station_json", "{}")),
            "instruments": json.loads(attrs.get("instruments_json", "{}")),
            "procedure_version": attrs.get("procedure_version", ""),
            "host": attrs.get("host", ""), "software_version": attrs.get("software_version"),
            "notes": attrs.get("notes", "")}
    params = {k: tuple(v) for k, v in skel["parameters"].items()}
    wl = None if skel["wavelength_nm"] is None else np.asarray(skel["wavelength_nm"])
    start = _parse_iso(attrs["start_time"])
    try:
        with _open_h5(tmp, "w") as f:
            _write_skeleton(f, procedure=attrs["procedure"], sample=attrs["sample"],
                            pixel=attrs["pixel"], operator=attrs["operator"],
                            params=_normalise_parameters(params), columns=skel["columns"],
                            col_units=skel["units"], wl=wl, metadata=meta,
                            truth=skel["truth"], start=start,
                            spectrum_units=skel.get("spectrum_units") or "W/(sr m^2 nm)")
            for key in ("resume_count", "last_flush_time", "clock_s"):
                if key in attrs:
                    f.attrs[key] = attrs[key]
            for name, tree in skel.get("analysis", {}).items():
                _write_tree(f["analysis"].create_group(name), tree, f"analysis/{name}")
            _replay(f, skel["columns"], records[1:])
            clock = float(f.attrs.get("clock_s", 0.0))
            rebuilt = _Batch({c: np.empty(0) for c in skel["columns"]}, None,
                             [(clock, "warning", f"recovered: file rebuilt from its journal "
                               f"({int(f.attrs['rows_committed'])} rows)", np.nan)])
            _append_to_file(f, rebuilt)
            if final is not None:
                f.attrs["status"] = str(final["status"])
                f.attrs["end_time"] = str(final["end_time"])
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        damaged = path.with_name(path.name + ".damaged")
        if path.exists():
            os.replace(path, damaged)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        raise StoreError(getattr(exc, "errno", None) or errno.EIO,
                         f"cannot rebuild {path.name}: {_reason(exc)} (the file and its "
                         "journal are unchanged)") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)


def _replay(f: h5py.File, columns: list[str], records: list[tuple[bytes, bytes]]) -> None:
    """Append the journal's batches (``B`` records) to a fresh skeleton."""
    for kind, payload in records:
        if kind != b"B":
            continue
        with np.load(io.BytesIO(payload)) as z:
            row0 = int(z["row0"])
            if row0 != int(f.attrs["rows_committed"]):
                # a batch journalled again after a requeue starts earlier: drop overlap
                if row0 > int(f.attrs["rows_committed"]):
                    break
                _truncate(f, row0)
            cols = {c: z[f"c:{c}"] for c in columns}
            events = []
            if "ev_t" in z:
                stress = z["ev_stress"].tolist() if "ev_stress" in z else \
                    [np.nan] * len(z["ev_t"])
                events = list(zip(z["ev_t"].tolist(), z["ev_level"].tolist(),
                                  z["ev_msg"].tolist(), stress))
            spec = z["spectrum"] if "spectrum" in z else None
            clock = float(z["clock_s"]) if "clock_s" in z else None
            _append_to_file(f, _Batch(cols, spec, events, clock))


def _repack(path: Path, lock_timeout_s: float = 10.0) -> None:
    """Rewrite a run file object by object into a fresh file that replaces it atomically."""
    tmp = path.with_name(f".{path.name}.repack.{os.getpid()}.tmp")
    try:
        with _locked(path, True, lock_timeout_s):
            with _open_h5(path, "r") as src, _open_h5(tmp, "w") as dst:
                for key, value in src.attrs.items():
                    dst.attrs[key] = value
                for name in src:
                    src.copy(src[name], dst, name=name)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)


def _truncate(f: h5py.File, n: int) -> None:
    for name in f["data"]:
        f["data"][name].resize(n, axis=0)
    f.attrs["rows_committed"] = np.int64(n)
