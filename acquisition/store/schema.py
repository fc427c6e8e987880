"""What a run file is: schema version, statuses, names, units and the skeleton layout.

Constants of the on-disk layout (:data:`SCHEMA_VERSION`, :data:`STATUSES`,
:data:`METADATA_KEYS`, chunk sizes); the units a column name carries
(:data:`UNIT_SUFFIXES`, :func:`units_for_column`); file names
(:func:`sanitise_name`, :func:`procedure_short_name`, :func:`run_file_name`,
:func:`_link_unique`); the time stamps written (:func:`_iso`, :func:`_parse_iso`); and
the HDF5 layout itself: the skeleton a new file gets (:func:`_write_skeleton`), how a
:class:`_Batch` of rows and events extends it (:func:`_append_to_file`) and the schema
check of a file being read (:func:`_check_schema`). The layout is documented in
``acquisition/schema.md``.
"""
from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .encoding import _write_parameter, _write_tree

#: Version of the on-disk layout described in ``acquisition/schema.md``.
SCHEMA_VERSION = "1.1"
#: Allowed values of the root ``status`` attribute.
STATUSES = ("running", "finished", "aborted", "failed")
#: Keys accepted in ``RunWriter.create(metadata=...)``.
METADATA_KEYS = ("simulated", "station", "instruments", "procedure_version", "host",
                 "software_version", "notes")

_COLUMN_CHUNK_ROWS = 1024   # 8 KiB per float64 chunk: cheap in-place rewrites at 1 Hz
_SPECTRUM_CHUNK_ROWS = 16
_EVENT_CHUNK_ROWS = 256


# --------------------------------------------------------------------------- units
#: Unit suffixes of column names (the part after the quantity), longest match wins.
UNIT_SUFFIXES: dict[str, str] = {
    "mA_cm2": "mA/cm^2", "A_cm2": "A/cm^2", "A_m2": "A/m^2", "uA_cm2": "uA/cm^2",
    "cd_m2": "cd/m^2", "cd_A": "cd/A", "lm_W": "lm/W", "W_sr_m2_nm": "W/(sr m^2 nm)",
    "W_sr_m2": "W/(sr m^2)", "W_m2": "W/m^2", "mW_cm2": "mW/cm^2", "W_sr": "W/sr",
    "F_cm2": "F/cm^2", "nF_cm2": "nF/cm^2", "S_cm": "S/cm", "cm2_Vs": "cm^2/(V s)",
    "per_cm3": "cm^-3", "Ohm_cm2": "Ohm cm^2",
    "s": "s", "ms": "ms", "us": "us", "min": "min", "h": "h",
    "V": "V", "mV": "mV", "Vrms": "V (rms)", "mVrms": "mV (rms)",
    "A": "A", "mA": "mA", "uA": "uA", "nA": "nA",
    "W": "W", "mW": "mW", "uW": "uW", "F": "F", "nF": "nF", "pF": "pF",
    "S": "S", "Ohm": "Ohm", "Hz": "Hz", "kHz": "kHz",
    "nm": "nm", "um": "um", "mm": "mm", "cm": "cm", "m": "m", "cm2": "cm^2",
    "K": "K", "degC": "degC", "lm": "lm", "cd": "cd", "eV": "eV", "deg": "deg",
    "percent": "%", "fraction": "1", "ratio": "1", "factor": "1", "count": "1",
    "index": "1", "flag": "1",
}
#: Whole column names that are dimensionless.
UNITLESS_NAMES = frozenset({"cie_x", "cie_y", "cie_u", "cie_v", "cie_up", "cie_vp",
                            "step", "index", "cycle", "point", "sweep", "repeat"})


def units_for_column(name: str, overrides: Mapping[str, str] | None = None) -> str:
    """Units of a column from its name suffix (``current_density_mA_cm2`` → ``mA/cm^2``).

    Parameters
    ----------
    name : str
        Column name ``<quantity>_<unit>``; dimensionless names return ``"1"``.
    overrides : mapping, optional
        Explicit units for names that cannot carry them.

    Raises
    ------
    ValueError
        If the name has no recognised unit suffix and no override.
    """
    if overrides and name in overrides:
        return str(overrides[name])
    if name in UNITLESS_NAMES:
        return "1"
    tokens = name.split("_")
    for k in range(min(4, len(tokens) - 1), 0, -1):
        suffix = "_".join(tokens[-k:])
        if suffix in UNIT_SUFFIXES:
            return UNIT_SUFFIXES[suffix]
    raise ValueError(
        f"column {name!r} has no recognised unit suffix: name it <quantity>_<unit> "
        f"(e.g. voltage_V, luminance_cd_m2, eqe_fraction) or give its units explicitly")


# --------------------------------------------------------------------------- names
def sanitise_name(text: str, max_len: int = 48) -> str:
    """File-name-safe form of ``text``: keep ``[A-Za-z0-9._-]``, collapse the rest to ``_``."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._-")
    return clean[:max_len].rstrip("._-") or "unnamed"


def procedure_short_name(procedure: str) -> str:
    """``procedures.jvl:JVLProcedure`` → ``jvl`` (class name without ``Procedure``)."""
    cls = re.split(r"[:.]", procedure)[-1]
    cls = re.sub(r"Procedure$", "", cls) or cls
    return sanitise_name(cls.lower(), 32)


def run_file_name(sample: str, procedure: str, when: _dt.datetime | None = None,
                  index: int = 1, tag: str = "") -> str:
    """``<YYYYmmdd-HHMMSS>_<sample>_<procedure>[_<tag>][-index].h5`` (local time); ``tag``
    names e.g. a lifetime channel (``ch2``)."""
    when = when or _dt.datetime.now()
    stem = f"{when:%Y%m%d-%H%M%S}_{sanitise_name(sample)}_{procedure_short_name(procedure)}"
    if tag:
        stem += f"_{sanitise_name(tag, 16)}"
    return f"{stem}.h5" if index == 1 else f"{stem}-{index}.h5"


def _link_unique(tmp: Path, out: Path, sample: str, procedure: str,
                 when: _dt.datetime, tag: str = "", claim=None):
    """Link ``tmp`` to the first free run-file name → ``(path, claimed)``.

    ``claim(path)`` (optional) is called before a name is taken and returns what it claimed
    (the run lock) or raises ``OSError`` when the name is held elsewhere; a claimed name
    that turns out to exist is released (``claimed.release()``) and the next one tried.
    """
    for index in range(1, 1000):
        final = out / run_file_name(sample, procedure, when, index, tag)
        if final.exists():
            continue
        claimed = None
        if claim is not None:
            try:
                claimed = claim(final)
            except OSError as exc:
                if exc.errno != errno.EBUSY:   # held by another writer: try the next name
                    raise
                continue
        try:
            os.link(tmp, final)
            return final, claimed
        except FileExistsError:
            pass
        except OSError as exc:  # filesystems without hard links (FAT, some SMB)
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                if claimed is not None:
                    claimed.release()
                raise
            try:
                os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                os.replace(tmp, final)
                return final, claimed
            except FileExistsError:
                pass
        if claimed is not None:
            claimed.release()
    raise FileExistsError(f"no free file name for {sample!r} in {out} this second")


# --------------------------------------------------------------------------- times
def _local_now() -> _dt.datetime:
    return _dt.datetime.now()


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _iso(t: _dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _clock_at_resume(attrs, event_times, now: _dt.datetime) -> float:
    """The run's clock [s since start] when a run is resumed at ``now``: the clock at its
    last flush (``clock_s``; for files without it, the latest of the wall time from start to
    that flush and the last event time) plus the wall-clock time since that flush."""
    start = _parse_iso(str(attrs["start_time"]))
    last = _parse_iso(str(attrs.get("last_flush_time") or attrs["start_time"]))
    if "clock_s" in attrs:
        base = float(attrs["clock_s"])
    else:
        times = np.asarray(event_times, float)
        times = times[np.isfinite(times)]
        base = max((last - start).total_seconds(), float(times.max()) if times.size else 0.0)
    return max(0.0, base) + max(0.0, (now - last).total_seconds())


def _software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("qled-bench")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


# -------------------------------------------------------------------------- layout
@dataclass
class _Batch:
    """Rows, spectra and events taken from the buffer for one flush.

    An event is ``(time_s, level, message, stress_time_s)``; ``clock_s`` is the run's clock
    at the flush (root attribute ``clock_s``), None to leave it as it is.
    """
    columns: dict[str, np.ndarray]
    spectra: np.ndarray | None
    events: list[tuple[float, str, str, float]]
    clock_s: float | None = None

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def _write_skeleton(f: h5py.File, *, procedure, sample, pixel, operator, params, columns,
                    col_units, wl, metadata, truth, start,
                    spectrum_units="W/(sr m^2 nm)") -> None:
    a = f.attrs
    a["schema_version"] = SCHEMA_VERSION
    a["procedure"] = str(procedure)
    a["procedure_version"] = str(metadata.get("procedure_version", ""))
    a["status"] = "running"
    a["start_time"] = _iso(start)
    a["end_time"] = ""
    a["last_flush_time"] = _iso(start)
    a["sample"] = str(sample)
    a["pixel"] = str(pixel)
    a["operator"] = str(operator)
    a["software_version"] = str(metadata.get("software_version") or _software_version())
    a["host"] = str(metadata.get("host") or socket.gethostname())
    a["simulated"] = np.bool_(bool(metadata.get("simulated", False)))
    a["station_json"] = json.dumps(metadata.get("station") or {}, default=str)
    a["instruments_json"] = json.dumps(metadata.get("instruments") or {}, default=str)
    a["notes"] = str(metadata.get("notes", ""))
    a["rows_committed"] = np.int64(0)
    a["events_committed"] = np.int64(0)
    a["resume_count"] = np.int64(0)
    a["clock_s"] = np.float64(0.0)
    pg = f.create_group("parameters", track_order=True)
    for name, (value, units, label) in params.items():
        _write_parameter(pg, name, value, units, label)
    dg = f.create_group("data", track_order=True)
    dg.attrs["columns"] = list(columns)
    for name in columns:
        ds = dg.create_dataset(name, shape=(0,), maxshape=(None,), dtype="f8",
                               chunks=(_COLUMN_CHUNK_ROWS,), fillvalue=np.nan)
        ds.attrs["units"] = col_units[name]
    ag = f.create_group("axes")
    if wl is not None:
        ax = ag.create_dataset("wavelength_nm", data=wl)
        ax.attrs["units"] = "nm"
        sp = dg.create_dataset("spectrum", shape=(0, wl.size), maxshape=(None, wl.size),
                               dtype="f8", chunks=(_SPECTRUM_CHUNK_ROWS, wl.size),
                               fillvalue=np.nan)
        sp.attrs["units"] = spectrum_units
        sp.attrs["axis"] = "/axes/wavelength_nm"
    eg = f.create_group("events", track_order=True)
    t = eg.create_dataset("time_s", shape=(0,), maxshape=(None,), dtype="f8",
                          chunks=(_EVENT_CHUNK_ROWS,))
    t.attrs["units"] = "s"
    for name in ("level", "message"):
        eg.create_dataset(name, shape=(0,), maxshape=(None,), dtype=h5py.string_dtype(),
                          chunks=(_EVENT_CHUNK_ROWS,))
    _add_stress_column(eg)
    if truth is not None:
        _write_tree(f.create_group("truth", track_order=True), truth, "truth")
    f.create_group("analysis", track_order=True)


def _append_to_file(f: h5py.File, batch: _Batch) -> int:
    """Append a batch after the committed rows; returns the row index it starts at."""
    n0 = int(f.attrs["rows_committed"])
    n = batch.n_rows
    if n:
        data = f["data"]
        for name, values in batch.columns.items():
            ds = data[name]
            ds.resize((n0 + n,))
            ds[n0:] = values
        if batch.spectra is not None:
            sp = data["spectrum"]
            sp.resize(n0 + n, axis=0)
            sp[n0:] = batch.spectra
        f.attrs["rows_committed"] = np.int64(n0 + n)
    if batch.events:
        e0 = int(f.attrs["events_committed"])
        ev = f["events"]
        m = len(batch.events)
        for ds in ev.values():
            ds.resize((e0 + m,))
        t, lv, msg, stress = zip(*batch.events)
        ev["time_s"][e0:] = np.asarray(t, float)
        ev["level"][e0:] = np.asarray(lv, dtype=object)
        ev["message"][e0:] = np.asarray(msg, dtype=object)
        ev["stress_time_s"][e0:] = np.asarray(stress, float)
        f.attrs["events_committed"] = np.int64(e0 + m)
    if batch.clock_s is not None:
        f.attrs["clock_s"] = np.float64(batch.clock_s)
    return n0


def _add_stress_column(events: h5py.Group) -> None:
    """``/events/stress_time_s`` (NaN where there is no stress), as long as the others."""
    n = events["time_s"].shape[0]
    ds = events.create_dataset("stress_time_s", shape=(n,), maxshape=(None,), dtype="f8",
                               chunks=(_EVENT_CHUNK_ROWS,), fillvalue=np.nan)
    ds.attrs["units"] = "s"


def _bytes_needed(batch: _Batch, n_wl: int | None) -> int:
    n = batch.n_rows
    chunk = _COLUMN_CHUNK_ROWS * 8
    need = len(batch.columns) * (n * 8 + 2 * chunk)
    if n_wl:
        need += (n + 2 * _SPECTRUM_CHUNK_ROWS) * n_wl * 8
    need += sum(len(e[2]) + 72 for e in batch.events) + 64 * 1024
    return need


def _check_schema(f: h5py.File, path: Path) -> None:
    version = f.attrs.get("schema_version")
    if version is None:
        raise ValueError(f"{path} is not a qled-bench run file (no schema_version)")
    if str(version).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ValueError(f"{path} has schema_version {version}: this software reads "
                         f"{SCHEMA_VERSION.split('.')[0]}.x")
