"""Making an interrupted run file readable again.

:func:`_opens_cleanly` is the quick check that a file reads (schema, committed rows and
events present). :func:`recover` rebuilds a damaged file from its journal: the damaged
file is kept as ``<name>.damaged`` and a new one holds the skeleton and every journalled
batch. :func:`_repack` rewrites a file object by object (a killed writer can leave
allocation metadata that reads fine but breaks the next write); :func:`_truncate` cuts
the data back to a number of rows. :data:`_DAMAGE_ERRORS` are what damaged metadata
raises.
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
from .journal import _json_hook, _read_journal, journal_path
from .locking import StoreError, _fsync_dir, _locked, _open_h5
from .schema import _append_to_file, _Batch, _check_schema, _parse_iso, _utc_now, _write_skeleton

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
    """Make an interrupted run file readable again; returns True if it was rebuilt.

    If the file opens cleanly nothing is done. Otherwise (killed or disk full in
    the middle of an HDF5 write) the file is rebuilt from its journal: the damaged
    file is kept as ``<name>.damaged`` and a new one holds the skeleton and every
    journalled batch. ``force`` rebuilds even a file that reads cleanly (its allocation
    metadata may still be damaged). Raises ``StoreError`` if it is damaged and has no
    journal.
    """
    path = Path(path)
    jpath = journal_path(path)
    if not force and _opens_cleanly(path):
        return False
    if not jpath.exists():
        raise StoreError(errno.EIO, f"{path} is damaged and has no journal to rebuild it from")
    records = _read_journal(jpath)
    if not records or records[0][0] != b"S":
        raise StoreError(errno.EIO, f"{path} is damaged and its journal has no header")
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
    with _open_h5(tmp, "w") as f:
        _write_skeleton(f, procedure=attrs["procedure"], sample=attrs["sample"],
                        pixel=attrs["pixel"], operator=attrs["operator"],
                        params=_normalise_parameters(params), columns=skel["columns"],
                        col_units=skel["units"], wl=wl, metadata=meta,
                        truth=skel["truth"], start=start,
                        spectrum_units=skel.get("spectrum_units") or "W/(sr m^2 nm)")
        for key in ("resume_count", "last_flush_time"):
            if key in attrs:
                f.attrs[key] = attrs[key]
        for name, tree in skel.get("analysis", {}).items():
            _write_tree(f["analysis"].create_group(name), tree, f"analysis/{name}")
        for kind, payload in records[1:]:
            if kind != b"B":
                continue
            with np.load(io.BytesIO(payload)) as z:
                row0 = int(z["row0"])
                if row0 != int(f.attrs["rows_committed"]):
                    # a batch journalled again after a requeue starts earlier: drop overlap
                    if row0 > int(f.attrs["rows_committed"]):
                        break
                    _truncate(f, row0)
                cols = {c: z[f"c:{c}"] for c in skel["columns"]}
                events = []
                if "ev_t" in z:
                    events = list(zip(z["ev_t"].tolist(), z["ev_level"].tolist(),
                                      z["ev_msg"].tolist()))
                spec = z["spectrum"] if "spectrum" in z else None
                _append_to_file(f, _Batch(cols, spec, events))
        rebuilt = _Batch({c: np.empty(0) for c in skel["columns"]}, None,
                         [((_utc_now() - start).total_seconds(), "warning",
                           f"recovered: file rebuilt from its journal "
                           f"({int(f.attrs['rows_committed'])} rows)")])
        _append_to_file(f, rebuilt)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    damaged = path.with_name(path.name + ".damaged")
    os.replace(path, damaged) if path.exists() else None
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return True


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
