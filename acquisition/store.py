"""The HDF5 run store: one crash-safe, live-readable file per run.

The layout is documented in ``acquisition/schema.md``. The write scheme:

* the complete skeleton is written under a temporary name in the target folder,
  closed, fsynced and then hard-linked to its final name (``os.link`` fails if the
  name exists, so a file is never overwritten and never seen half-created);
* rows are buffered in memory; at each flush (every ``flush_interval_s`` from a
  background thread, or when the buffer reaches ``max_buffer_rows``) the file is
  opened ``r+``, extended, its ``rows_committed`` attribute updated, closed and
  fsynced. Between flushes the file on disk is a cleanly closed HDF5 file that
  any tool (h5py, pandas, HDFView) opens plainly;
* each flush is first appended to a checksummed journal beside the file
  (``<file>.h5.journal``), so a kill or a full disk in the middle of an HDF5
  write cannot lose committed rows: :func:`recover` rebuilds the file from it.
  The journal is deleted when the run is finalised cleanly;
* writers and readers coordinate with ``flock`` on the ``.h5`` file itself (HDF5's
  own locking is switched off for our handles and uses the same primitive for
  other tools), so a reader never sees a half-written flush.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import io
import json
import os
import re
import shutil
import socket
import struct
import threading
import time
import traceback
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

try:  # POSIX; on other systems readers and writers are not coordinated
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = [
    "SCHEMA_VERSION", "STATUSES", "RunWriter", "Run", "load_run", "LiveReader",
    "export_csv", "write_analysis", "recover", "units_for_column", "sanitise_name",
    "run_file_name", "StoreError", "StoreBusy", "journal_path",
]

#: Version of the on-disk layout described in ``acquisition/schema.md``.
SCHEMA_VERSION = "1.0"
#: Allowed values of the root ``status`` attribute.
STATUSES = ("running", "finished", "aborted", "failed")
#: Keys accepted in ``RunWriter.create(metadata=...)``.
METADATA_KEYS = ("simulated", "station", "instruments", "procedure_version", "host",
                 "software_version", "notes")

_COLUMN_CHUNK_ROWS = 1024   # 8 KiB per float64 chunk: cheap in-place rewrites at 1 Hz
_SPECTRUM_CHUNK_ROWS = 16
_EVENT_CHUNK_ROWS = 256
_LOCK_POLL_S = 0.002
_FREE_SPACE_MARGIN_B = 256 * 1024


class StoreError(OSError):
    """The run file could not be written (disk full, folder gone, file damaged)."""


class StoreBusy(TimeoutError):
    """The run file stayed locked by another process for longer than the timeout."""


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
                  index: int = 1) -> str:
    """``<YYYYmmdd-HHMMSS>_<sample>_<procedure>[-index].h5`` (local time)."""
    when = when or _dt.datetime.now()
    stem = f"{when:%Y%m%d-%H%M%S}_{sanitise_name(sample)}_{procedure_short_name(procedure)}"
    return f"{stem}.h5" if index == 1 else f"{stem}-{index}.h5"


def journal_path(path: str | os.PathLike) -> Path:
    """Path of the write-ahead journal that accompanies a run file while it is written."""
    return Path(str(path) + ".journal")


def _local_now() -> _dt.datetime:
    return _dt.datetime.now()


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _iso(t: _dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("qled-bench")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem allows it
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _locked(path: Path, exclusive: bool, timeout_s: float) -> Iterator[int]:
    """Hold ``flock`` on ``path`` (shared or exclusive); yields the fd (usable for fsync)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if fcntl is not None:
            op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fd, op)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreBusy(f"{path} is locked by another process") from None
                    time.sleep(_LOCK_POLL_S)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def _open_h5(path: Path, mode: str) -> h5py.File:
    # Our own flock coordinates access; HDF5's lock would conflict with it in-process.
    return h5py.File(path, mode, locking=False)


# --------------------------------------------------------------- value encoding
def _validate_key(key: Any, where: str) -> str:
    key = str(key)
    if not key or "/" in key or key in (".", ".."):
        raise ValueError(f"{where} key {key!r} is not allowed: use a non-empty name without '/'")
    return key


def _encode_scalar(value: Any) -> Any:
    """Python/numpy scalar → HDF5 attribute value, or ``None`` if not a scalar."""
    if value is None:
        return h5py.Empty("f")
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, str):
        return value
    return None


def _decode_scalar(value: Any) -> Any:
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, bytes):
        return value.decode()
    return value


def _write_tree(group: h5py.Group, mapping: Mapping[str, Any], where: str) -> None:
    """Store a JSON-like nested mapping: scalars as attributes, sequences as datasets."""
    for raw_key, value in mapping.items():
        key = _validate_key(raw_key, where)
        if isinstance(value, Mapping):
            _write_tree(group.create_group(key, track_order=True), value, f"{where}/{key}")
            continue
        scalar = _encode_scalar(value)
        if scalar is not None:
            group.attrs[key] = scalar
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            group.create_dataset(key, data=value).attrs["python_type"] = "ndarray"
        elif isinstance(value, (list, tuple)):
            arr = np.asarray(value) if _is_rectangular(value) else None
            if arr is not None and arr.dtype.kind in "biuf":
                ds = group.create_dataset(key, data=arr)
            elif arr is not None and arr.dtype.kind == "U" and arr.ndim == 1:
                ds = group.create_dataset(key, data=arr.astype(object),
                                          dtype=h5py.string_dtype())
            else:
                ds = group.create_dataset(key, data=json.dumps(value),
                                          dtype=h5py.string_dtype())
                ds.attrs["python_type"] = "json"
                continue
            ds.attrs["python_type"] = "list"
        else:
            raise ValueError(f"{where}/{key} has type {type(value).__name__}: allowed are "
                             "dict, str, int, float, bool, None, lists and numeric arrays")


def _is_rectangular(value: Sequence) -> bool:
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged
        return False
    return arr.dtype != object


def _read_tree(group: h5py.Group) -> dict[str, Any]:
    out: dict[str, Any] = {k: _decode_scalar(v) for k, v in group.attrs.items()}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = _read_tree(item)
            continue
        kind = item.attrs.get("python_type", "ndarray")
        if kind == "json":
            out[key] = json.loads(item.asstr()[()])
        elif item.dtype.kind == "O":
            out[key] = list(item.asstr()[()])
        elif kind == "list":
            out[key] = item[()].tolist()
        else:
            out[key] = item[()]
    return out


def _write_parameter(group: h5py.Group, name: str, value: Any, units: str, label: str) -> None:
    name = _validate_key(name, "parameter")
    scalar = _encode_scalar(value)
    if scalar is None:
        if isinstance(value, (list, tuple, np.ndarray)) and _is_rectangular(value) \
                and np.asarray(value).dtype.kind in "biuf":
            ds = group.create_dataset(name, data=np.asarray(value))
            ds.attrs["python_type"] = "ndarray" if isinstance(value, np.ndarray) else "list"
        else:
            ds = group.create_dataset(name, data=json.dumps(value), dtype=h5py.string_dtype())
            ds.attrs["python_type"] = "json"
    elif isinstance(scalar, str):
        ds = group.create_dataset(name, data=scalar, dtype=h5py.string_dtype())
    else:
        ds = group.create_dataset(name, data=scalar)
    ds.attrs["units"] = units
    ds.attrs["label"] = label


def _read_parameter(ds: h5py.Dataset) -> Any:
    kind = ds.attrs.get("python_type", "")
    if kind == "json":
        return json.loads(ds.asstr()[()])
    if ds.dtype.kind == "O":
        return ds.asstr()[()]
    if kind == "list":
        return ds[()].tolist()
    if kind == "ndarray":
        return ds[()]
    return _decode_scalar(ds[()])


# ------------------------------------------------------------------- journal
# Record: magic(4) kind(1) length(u64) crc32(u32) payload. Payloads are .npz (rows,
# spectra, events) or JSON (skeleton, finish); a torn tail fails its checksum and
# is ignored on replay.
_J_MAGIC = b"QLJ1"
_J_HEADER = struct.Struct("<4scQI")


def _journal_record(kind: bytes, payload: bytes) -> bytes:
    return _J_HEADER.pack(_J_MAGIC, kind, len(payload), zlib.crc32(payload)) + payload


def _read_journal(path: Path) -> list[tuple[bytes, bytes]]:
    """Records of a journal up to the first torn or corrupt one."""
    records = []
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    while pos + _J_HEADER.size <= len(data):
        magic, kind, length, crc = _J_HEADER.unpack_from(data, pos)
        start, end = pos + _J_HEADER.size, pos + _J_HEADER.size + length
        if magic != _J_MAGIC or end > len(data) or zlib.crc32(data[start:end]) != crc:
            break
        records.append((kind, data[start:end]))
        pos = end
    return records


def _batch_record(batch: "_Batch", row0: int) -> bytes:
    payload = {f"c:{k}": v for k, v in batch.columns.items()}
    if batch.spectra is not None:
        payload["spectrum"] = batch.spectra
    if batch.events:
        t, lv, msg = zip(*batch.events)
        payload["ev_t"] = np.asarray(t, float)
        payload["ev_level"] = np.asarray(lv, dtype=str)
        payload["ev_msg"] = np.asarray(msg, dtype=str)
    payload["row0"] = np.asarray(row0)
    return _npz_bytes(payload)


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# --------------------------------------------------------------------- writer
@dataclass
class _Batch:
    """Rows, spectra and events taken from the buffer for one flush."""
    columns: dict[str, np.ndarray]
    spectra: np.ndarray | None
    events: list[tuple[float, str, str]]

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


class RunWriter:
    """Streams one run to one HDF5 file; safe against kills and full disks.

    Create with :meth:`create` (new run) or :meth:`reopen` (resume). Independent
    per instance: several writers may run in one process. Thread-safe: rows may be
    appended from one thread while the background flusher writes.

    Attributes
    ----------
    path : pathlib.Path
        The run file.
    rows_flushed : int
        Rows committed to the file so far (on disk, fsynced).
    error : StoreError or None
        Set when a flush failed; further appends raise it.
    """

    def __init__(self, path: Path, columns: list[str], n_wavelengths: int | None, *,
                 start_time: _dt.datetime, rows_flushed: int, flush_interval_s: float,
                 max_buffer_rows: int, background_flush: bool, lock_timeout_s: float,
                 journal: bool):
        self.path = Path(path)
        self.columns = list(columns)
        self.n_wavelengths = n_wavelengths
        self.start_time = start_time
        self.rows_flushed = rows_flushed
        self.flush_interval_s = flush_interval_s
        self.max_buffer_rows = max_buffer_rows
        self.lock_timeout_s = lock_timeout_s
        self.error: StoreError | None = None
        self.status = "running"
        self._allowed = frozenset(self.columns) | {"spectrum"}
        self._segments: list[Any] = []   # row lists and column batches, in order
        self._rows: list[tuple] = []
        self._spectra: list[np.ndarray | None] = []
        self._events: list[tuple[float, str, str]] = []
        self._n_buffered = 0
        self._buf_lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._closed = False
        self._journal_path = journal_path(self.path) if journal else None
        self._journal_fh = None
        self._stop = threading.Event()
        self._flusher = None
        if background_flush:
            self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                             name=f"RunWriter-flush:{self.path.name}")
            self._flusher.start()

    # ---------------------------------------------------------------- creation
    @classmethod
    def create(cls, out_dir: str | os.PathLike, *, procedure: str, sample: str,
               pixel: str = "", operator: str = "",
               parameters: Mapping[str, tuple] | None = None,
               columns: Sequence[str], units: Mapping[str, str] | None = None,
               spectrum_axis_nm: Sequence[float] | np.ndarray | None = None,
               metadata: Mapping[str, Any] | None = None,
               truth: Mapping[str, Any] | None = None,
               spectrum_units: str = "W/(sr m^2 nm)",
               flush_interval_s: float = 1.0, max_buffer_rows: int = 20_000,
               background_flush: bool = True, lock_timeout_s: float = 2.0,
               journal: bool = True) -> RunWriter:
        """Create a new run file in ``out_dir`` and return its writer.

        Parameters
        ----------
        out_dir : path
            Folder for the file (created if missing).
        procedure : str
            Import path of the Procedure class, ``"package.module:Class"``.
        sample, pixel, operator : str
            Identification; ``sample`` also names the file (sanitised).
        parameters : mapping
            ``name -> (value, units)`` or ``(value, units, label)``.
        columns : sequence of str
            1-D data columns, unit-suffixed names (see :func:`units_for_column`).
        units : mapping, optional
            Units for columns whose names cannot carry them.
        spectrum_axis_nm : array, optional
            Wavelength axis [nm]; enables ``/data/spectrum``.
        spectrum_units : str
            Units of the spectra (default spectral radiance).
        metadata : mapping, optional
            Keys among :data:`METADATA_KEYS`.
        truth : mapping, optional
            True parameters of a simulated device (JSON-like nested dict).
        flush_interval_s : float
            Rows reach the disk at most this long after they are appended [s].
        max_buffer_rows : int
            Flush as soon as this many rows are buffered (bounds memory).
        """
        if not 0.0 < flush_interval_s <= 3600.0:
            raise ValueError(f"flush_interval_s = {flush_interval_s} is out of range: "
                             "allowed 0 < flush_interval_s <= 3600 s")
        if not 1 <= max_buffer_rows <= 10_000_000:
            raise ValueError(f"max_buffer_rows = {max_buffer_rows} is out of range: "
                             "allowed 1 … 10000000")
        columns = list(columns)
        if not columns:
            raise ValueError("columns is empty: give at least one data column")
        if len(set(columns)) != len(columns):
            raise ValueError(f"columns has duplicates: {columns}")
        for name in columns:
            _validate_key(name, "column")
            if name == "spectrum":
                raise ValueError("column 'spectrum' is reserved: pass spectrum_axis_nm instead")
        col_units = {c: units_for_column(c, units) for c in columns}
        metadata = dict(metadata or {})
        unknown = set(metadata) - set(METADATA_KEYS)
        if unknown:
            raise ValueError(f"metadata keys {sorted(unknown)} are not allowed: "
                             f"allowed are {', '.join(METADATA_KEYS)}")
        params = _normalise_parameters(parameters or {})
        wl = None
        if spectrum_axis_nm is not None:
            wl = np.asarray(spectrum_axis_nm, dtype=float)
            if wl.ndim != 1 or wl.size < 2 or not np.all(np.isfinite(wl)):
                raise ValueError("spectrum_axis_nm must be a 1-D finite array of >= 2 "
                                 "wavelengths [nm]")

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        start = _utc_now()
        local_now = _local_now()
        # pid + thread + random: writers in several threads may start in the same second
        tmp = out / (f".{run_file_name(sample, procedure, local_now)}.{os.getpid()}."
                     f"{threading.get_ident()}.{os.urandom(4).hex()}.tmp")
        with _open_h5(tmp, "w") as f:
            _write_skeleton(f, procedure=procedure, sample=sample, pixel=pixel,
                            operator=operator, params=params, columns=columns,
                            col_units=col_units, wl=wl, metadata=metadata, truth=truth,
                            start=start, spectrum_units=spectrum_units)
        try:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            path = _link_unique(tmp, out, sample, procedure, local_now)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(out)
        writer = cls(path, columns, None if wl is None else wl.size, start_time=start,
                     rows_flushed=0, flush_interval_s=flush_interval_s,
                     max_buffer_rows=max_buffer_rows, background_flush=background_flush,
                     lock_timeout_s=lock_timeout_s, journal=journal)
        if journal:
            writer._journal_open()
            skeleton = _skeleton_json(path)
            writer._journal_write(b"S", skeleton.encode())
        return writer

    @classmethod
    def reopen(cls, path: str | os.PathLike, *, flush_interval_s: float = 1.0,
               max_buffer_rows: int = 20_000, background_flush: bool = True,
               lock_timeout_s: float = 2.0, journal: bool = True) -> RunWriter:
        """Reopen an interrupted run for appending (resume).

        A damaged file is first rebuilt from its journal (:func:`recover`). Sets the
        status back to ``running`` and records a ``resume`` event with the gap since
        the last stored row.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"run file {path} does not exist")
        recover(path)
        # A killed writer can leave allocation metadata that reads fine but breaks the
        # next write ("len not positive after adjustment for EOA"): continue on a copy.
        try:
            _repack(path, lock_timeout_s)
        except (OSError, RuntimeError):  # allocation damaged beyond a copy: use the journal
            recover(path, force=True)
        now = _utc_now()
        with _locked(path, True, lock_timeout_s) as fd:
            with _open_h5(path, "r+") as f:
                _check_schema(f, path)
                n = int(f.attrs["rows_committed"])
                for name in f["data"]:
                    ds = f["data"][name]
                    if ds.shape[0] != n:  # rows past the last commit are discarded
                        ds.resize(n, axis=0)
                columns = list(f["data"].attrs["columns"])
                n_wl = f["axes/wavelength_nm"].shape[0] if "spectrum" in f["data"] else None
                start = _parse_iso(f.attrs["start_time"])
                last = f.attrs.get("last_flush_time", f.attrs["start_time"])
                gap_s = (now - _parse_iso(last)).total_seconds()
                f.attrs["status"] = "running"
                f.attrs["end_time"] = ""
                f.attrs["resume_count"] = int(f.attrs.get("resume_count", 0)) + 1
            os.fsync(fd)
        writer = cls(path, columns, n_wl, start_time=start, rows_flushed=n,
                     flush_interval_s=flush_interval_s, max_buffer_rows=max_buffer_rows,
                     background_flush=background_flush, lock_timeout_s=lock_timeout_s,
                     journal=journal)
        writer.gap_s = gap_s
        if journal:
            writer._journal_snapshot()
        writer.event("info", f"resume: gap {gap_s:.3f} s since the last stored row "
                     f"(row {n})", category="resume")
        writer.flush()
        return writer

    # ----------------------------------------------------------------- appending
    def append(self, row: Mapping[str, Any]) -> None:
        """Buffer one row: ``{column: value, ..., "spectrum": 1-D array}``.

        Missing columns are stored as NaN. Raises ``ValueError`` for unknown keys or
        a spectrum of the wrong length, and the pending :attr:`error` if a flush failed.
        """
        if self.error is not None:
            raise self.error
        if self._closed:
            raise ValueError(f"run file {self.path.name} is finalised: no more rows")
        if not self._allowed.issuperset(row):
            raise ValueError(f"row has unknown keys {sorted(set(row) - self._allowed)}: "
                             f"allowed are {', '.join(self.columns)}, spectrum")
        spec = row.get("spectrum")
        if spec is not None:
            spec = self._check_spectrum(spec, 1)[0]
        values = tuple(map(row.get, self.columns))
        with self._buf_lock:
            self._rows.append(values)
            if self.n_wavelengths is not None:
                self._spectra.append(spec)
            self._n_buffered += 1
            full = self._n_buffered >= self.max_buffer_rows
        if full:
            self.flush()

    def append_batch(self, batch: Mapping[str, Any]) -> None:
        """Buffer many rows at once: ``{column: 1-D array}`` (+ ``spectrum`` 2-D)."""
        if self.error is not None:
            raise self.error
        if self._closed:
            raise ValueError(f"run file {self.path.name} is finalised: no more rows")
        if not self._allowed.issuperset(batch):
            raise ValueError(f"batch has unknown keys {sorted(set(batch) - self._allowed)}: "
                             f"allowed are {', '.join(self.columns)}, spectrum")
        cols = {k: _as_float_column(k, v) for k, v in batch.items() if k != "spectrum"}
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"batch columns have different lengths {sorted(lengths)}: "
                             "all must be equal")
        n = lengths.pop() if lengths else 0
        spec = batch.get("spectrum")
        if spec is not None:
            spec = self._check_spectrum(spec, n)
        if n == 0:
            return
        full_cols = {c: cols.get(c, np.full(n, np.nan)) for c in self.columns}
        with self._buf_lock:
            self._close_row_segment()
            self._segments.append((full_cols, spec if spec is not None else n))
            self._n_buffered += n
            full = self._n_buffered >= self.max_buffer_rows
        if full:
            self.flush()

    def event(self, level: str, message: str, time_s: float | None = None,
              category: str | None = None) -> None:
        """Record an event (reconnect, compliance hit, fault, abort, resume).

        ``time_s`` is seconds since the run start (default: now). ``level`` is one of
        ``debug``, ``info``, ``warning``, ``error``. A ``category`` is prefixed to the
        message as ``category: ``.
        """
        level = str(level).lower()
        if level not in ("debug", "info", "warning", "error"):
            raise ValueError(f"level = {level!r} is not allowed: use debug, info, "
                             "warning or error")
        if time_s is None:
            time_s = (_utc_now() - self.start_time).total_seconds()
        message = str(message)
        if category and not message.startswith(f"{category}:"):
            message = f"{category}: {message}"
        with self._buf_lock:
            self._events.append((float(time_s), level, message))

    def _check_spectrum(self, spec: Any, n: int) -> np.ndarray:
        if self.n_wavelengths is None:
            raise ValueError("row has a spectrum but the run was created without "
                             "spectrum_axis_nm")
        arr = np.asarray(spec, dtype=float)
        if arr.size != n * self.n_wavelengths or (n > 1 and arr.shape[0] != n):
            raise ValueError(f"spectrum has shape {arr.shape}: expected {self.n_wavelengths} "
                             f"points (the wavelength axis) for each of {n} rows")
        return arr.reshape(n, self.n_wavelengths)

    def _close_row_segment(self) -> None:
        if self._rows:
            self._segments.append((self._rows, self._spectra))
            self._rows, self._spectra = [], []

    def _take(self) -> _Batch | None:
        with self._buf_lock:
            self._close_row_segment()
            segments, self._segments = self._segments, []
            events, self._events = self._events, []
            self._n_buffered = 0
        if not segments and not events:
            return None
        parts: dict[str, list[np.ndarray]] = {c: [] for c in self.columns}
        spectra: list[np.ndarray] = []
        warnings: list[str] = []
        for seg in segments:
            if isinstance(seg[0], dict):  # a batch
                cols, spec = seg
                n = len(cols[self.columns[0]])
                for c in self.columns:
                    parts[c].append(cols[c])
                if self.n_wavelengths is not None:
                    spectra.append(spec if isinstance(spec, np.ndarray)
                                   else np.full((n, self.n_wavelengths), np.nan))
            else:
                rows, specs = seg
                for i, c in enumerate(self.columns):
                    parts[c].append(_rows_to_column(c, [r[i] for r in rows], warnings))
                if self.n_wavelengths is not None:
                    block = np.full((len(rows), self.n_wavelengths), np.nan)
                    for j, s in enumerate(specs):
                        if s is not None:
                            block[j] = s
                    spectra.append(block)
        t = (_utc_now() - self.start_time).total_seconds()
        events += [(t, "warning", w) for w in warnings]
        columns = {c: (np.concatenate(p) if p else np.empty(0)) for c, p in parts.items()}
        spec_arr = None
        if self.n_wavelengths is not None:
            spec_arr = (np.concatenate(spectra) if spectra
                        else np.empty((0, self.n_wavelengths)))
        return _Batch(columns, spec_arr, events)

    # ------------------------------------------------------------------ flushing
    def flush(self, lock_timeout_s: float | None = None) -> int:
        """Write buffered rows and events to disk now; returns rows committed in total.

        On a write failure the run file keeps every previously committed row, the
        batch stays in the journal, :attr:`error` is set and a :class:`StoreError`
        raised.
        """
        with self._io_lock:
            if self.error is not None:
                raise self.error
            batch = self._take()
            if batch is None:
                return self.rows_flushed
            try:
                self._commit(batch, lock_timeout_s)
            except StoreBusy:
                self._requeue(batch)  # a reader holds the file: try again next time
                if lock_timeout_s is not None:
                    raise
            except OSError as exc:
                saved = (f"rows 0..{self.rows_flushed - 1} are saved" if self.rows_flushed
                         else "no rows were saved")
                self.error = StoreError(
                    exc.errno or errno.EIO,
                    f"cannot write run file {self.path}: {_reason(exc)} ({saved}; run stopped)")
                raise self.error from exc
            return self.rows_flushed

    def _requeue(self, batch: _Batch) -> None:
        with self._buf_lock:
            spec = batch.spectra if batch.spectra is not None else batch.n_rows
            if batch.n_rows:
                self._segments.insert(0, (batch.columns, spec))
                self._n_buffered += batch.n_rows
            self._events[:0] = batch.events

    def _commit(self, batch: _Batch, lock_timeout_s: float | None = None) -> None:
        # Refuse a write that would run out of space half-way (journal + HDF5).
        needed = _bytes_needed(batch, self.n_wavelengths)
        if shutil.disk_usage(self.path.parent).free < 2 * needed + _FREE_SPACE_MARGIN_B:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        # The lock comes first so that a busy file leaves neither journal nor file touched.
        with _locked(self.path, True, lock_timeout_s or self.lock_timeout_s) as fd:
            if self._journal_fh is not None:
                self._journal_write(b"B", _batch_record(batch, self.rows_flushed))
            with _open_h5(self.path, "r+") as f:
                n0 = _append_to_file(f, batch)
                f.attrs["last_flush_time"] = _iso(_utc_now())
            os.fsync(fd)
        self.rows_flushed = n0 + batch.n_rows

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self.flush()
            except OSError:
                return  # error is kept in self.error and raised on the next append

    # --------------------------------------------------------------- journal
    def _journal_open(self) -> None:
        self._journal_fh = open(self._journal_path, "wb")

    def _journal_snapshot(self, block_rows: int = 100_000) -> None:
        """Start a journal holding everything already in the file (used on resume).

        Written under a temporary name and renamed, so the previous journal stays
        valid until the new one is complete.
        """
        tmp = self._journal_path.with_name(self._journal_path.name + ".tmp")
        with open(tmp, "wb") as fh, _locked(self.path, False, 30.0):
            fh.write(_journal_record(b"S", _skeleton_json(self.path).encode()))
            with _open_h5(self.path, "r") as f:
                n, m = int(f.attrs["rows_committed"]), int(f.attrs["events_committed"])
                ev = f["events"]
                events = list(zip(ev["time_s"][:m].tolist(), ev["level"].asstr()[:m].tolist(),
                                  ev["message"].asstr()[:m].tolist()))
                for a in range(0, max(n, 1), block_rows):
                    b = min(n, a + block_rows)
                    cols = {c: f["data"][c][a:b] for c in self.columns}
                    spec = f["data/spectrum"][a:b] if self.n_wavelengths else None
                    fh.write(_journal_record(b"B", _batch_record(
                        _Batch(cols, spec, events if a == 0 else []), a)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._journal_path)
        _fsync_dir(self.path.parent)
        self._journal_fh = open(self._journal_path, "ab")

    def _journal_write(self, kind: bytes, payload: bytes) -> None:
        self._journal_fh.write(_journal_record(kind, payload))
        self._journal_fh.flush()
        os.fsync(self._journal_fh.fileno())

    def _journal_close(self, delete: bool) -> None:
        if self._journal_fh is not None:
            self._journal_fh.close()
            self._journal_fh = None
            if delete:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._journal_path)

    # --------------------------------------------------------------- finishing
    def finish(self, status: str = "finished", message: str | None = None) -> str:
        """Flush, set the final status and end time, and close. Returns the status.

        If the final flush fails the status written is ``failed`` (when the disk
        still allows it); the rows already committed stay readable.
        """
        if status not in STATUSES[1:]:
            raise ValueError(f"status = {status!r} is not allowed: use finished, "
                             "aborted or failed")
        if self._closed:
            return self.status
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
        if message:
            self.event("error" if status == "failed" else "info", message)
        try:
            self.flush(lock_timeout_s=max(self.lock_timeout_s, 30.0))
        except (OSError, StoreBusy) as exc:
            if self.error is None:
                self.error = StoreError(errno.EBUSY, f"cannot finalise {self.path}: {exc}")
            status = "failed"
        clean = False
        with contextlib.suppress(OSError, StoreBusy):
            with _locked(self.path, True, max(self.lock_timeout_s, 10.0)) as fd:
                with _open_h5(self.path, "r+") as f:
                    f.attrs["status"] = status
                    f.attrs["end_time"] = _iso(_utc_now())
                os.fsync(fd)
            clean = self.error is None
        self._journal_close(delete=clean)
        self.status = status
        self._closed = True
        return status

    def close(self) -> None:
        """Finalise as ``aborted`` if still running (idempotent)."""
        if not self._closed:
            self.finish("aborted" if self.error is None else "failed")

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish("finished")
        else:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self.event("error", f"exception: {text}")
            self.finish("aborted" if issubclass(exc_type, KeyboardInterrupt) else "failed")

    def __repr__(self) -> str:
        return f"<RunWriter {self.path} rows_flushed={self.rows_flushed} status={self.status}>"


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full"
    return exc.strerror or str(exc)


def _normalise_parameters(parameters: Mapping[str, Any]) -> dict[str, tuple[Any, str, str]]:
    out = {}
    for name, spec in parameters.items():
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            raise ValueError(f"parameter {name!r} must be (value, units) or "
                             "(value, units, label)")
        value, units = spec[0], str(spec[1])
        label = str(spec[2]) if len(spec) == 3 else str(name)
        out[_validate_key(name, "parameter")] = (value, units, label)
    return out


def _as_float_column(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"batch column {name!r} is not numeric") from None
    if arr.ndim != 1:
        raise ValueError(f"batch column {name!r} must be 1-D, got shape {arr.shape}")
    return arr


def _rows_to_column(name: str, values: list, warnings: list[str]) -> np.ndarray:
    try:
        return np.array(values, dtype=float)  # None -> NaN
    except (TypeError, ValueError):
        out = np.empty(len(values))
        for i, v in enumerate(values):
            try:
                out[i] = np.nan if v is None else float(v)
            except (TypeError, ValueError):
                out[i] = np.nan
                warnings.append(f"column {name}: non-numeric value {v!r} stored as NaN")
        return out


def _bytes_needed(batch: _Batch, n_wl: int | None) -> int:
    n = batch.n_rows
    chunk = _COLUMN_CHUNK_ROWS * 8
    need = len(batch.columns) * (n * 8 + 2 * chunk)
    if n_wl:
        need += (n + 2 * _SPECTRUM_CHUNK_ROWS) * n_wl * 8
    need += sum(len(m) + 64 for _, _, m in batch.events) + 64 * 1024
    return need


def _link_unique(tmp: Path, out: Path, sample: str, procedure: str,
                 when: _dt.datetime) -> Path:
    for index in range(1, 1000):
        final = out / run_file_name(sample, procedure, when, index)
        try:
            os.link(tmp, final)
            return final
        except FileExistsError:
            continue
        except OSError as exc:  # filesystems without hard links (FAT, some SMB)
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            try:
                os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            os.replace(tmp, final)
            return final
    raise FileExistsError(f"no free file name for {sample!r} in {out} this second")


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
        t, lv, msg = zip(*batch.events)
        ev["time_s"][e0:] = np.asarray(t, float)
        ev["level"][e0:] = np.asarray(lv, dtype=object)
        ev["message"][e0:] = np.asarray(msg, dtype=object)
        f.attrs["events_committed"] = np.int64(e0 + m)
    return n0


def _check_schema(f: h5py.File, path: Path) -> None:
    version = f.attrs.get("schema_version")
    if version is None:
        raise ValueError(f"{path} is not a qled-bench run file (no schema_version)")
    if str(version).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ValueError(f"{path} has schema_version {version}: this software reads "
                         f"{SCHEMA_VERSION.split('.')[0]}.x")


def _skeleton_json(path: Path) -> str:
    """Everything of a run file except its rows and events, as JSON (journal header)."""
    with _open_h5(path, "r") as f:
        attrs = {k: _decode_scalar(v) for k, v in f.attrs.items()}
        params = {n: [_read_parameter(ds), ds.attrs["units"], ds.attrs["label"]]
                  for n, ds in f["parameters"].items()}
        columns = list(f["data"].attrs["columns"])
        units = {c: f["data"][c].attrs["units"] for c in columns}
        wl = f["axes/wavelength_nm"][()].tolist() if "wavelength_nm" in f["axes"] else None
        truth = _read_tree(f["truth"]) if "truth" in f else None
        analysis = {k: _read_tree(g) for k, g in f["analysis"].items()}
        spec_units = f["data/spectrum"].attrs["units"] if "spectrum" in f["data"] else None
    return json.dumps({"attrs": attrs, "parameters": params, "columns": columns,
                       "units": units, "wavelength_nm": wl, "truth": truth,
                       "spectrum_units": spec_units,
                       "analysis": analysis}, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def _json_hook(obj: dict) -> Any:
    if "__ndarray__" in obj:
        return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
    return obj


# ------------------------------------------------------------------ recovery
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


# -------------------------------------------------------------------- reading
@dataclass
class Run:
    """A run loaded from its file by :func:`load_run`.

    Attributes
    ----------
    path : pathlib.Path
    attrs : dict
        Root attributes (status, times, sample, …); ``station`` and ``instruments``
        are decoded from their JSON.
    parameters : dict
        ``name -> {"value", "units", "label"}``.
    data : pandas.DataFrame
        The 1-D columns, committed rows only.
    units : dict
        ``column -> units``.
    spectra : numpy.ndarray or None
        ``(rows, wavelengths)`` [W sr⁻¹ m⁻² nm⁻¹]; NaN rows where none was taken.
    wavelength_nm : numpy.ndarray or None
    events : pandas.DataFrame
        Columns ``time_s``, ``level``, ``message``.
    truth : dict or None
    analysis : dict
    """
    path: Path
    attrs: dict
    parameters: dict
    data: pd.DataFrame
    units: dict
    spectra: np.ndarray | None
    wavelength_nm: np.ndarray | None
    events: pd.DataFrame
    truth: dict | None
    analysis: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.attrs["status"]

    @property
    def procedure(self) -> str:
        return self.attrs["procedure"]

    def parameter_values(self) -> dict[str, Any]:
        """``name -> value`` of the stored parameters."""
        return {k: v["value"] for k, v in self.parameters.items()}


#: What h5py, json and the decoders raise on damaged metadata: reported as StoreError.
_DAMAGE_ERRORS = (KeyError, AttributeError, RuntimeError, TypeError, IndexError, OSError,
                  UnicodeDecodeError, json.JSONDecodeError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def load_run(path: str | os.PathLike, *, spectra: bool = True,
             lock_timeout_s: float = 5.0) -> Run:
    """Load a run file (finished, interrupted, or being written).

    Only committed rows (``rows_committed``) are returned. An interrupted file
    damaged in the middle of a write is rebuilt from its journal first.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"run file {path} does not exist")
    if journal_path(path).exists():
        with contextlib.suppress(StoreBusy):
            with _locked(path, False, lock_timeout_s):
                ok = _opens_cleanly(path)
            if not ok:
                recover(path)
        try:
            return _read_run(path, spectra, lock_timeout_s)
        except (StoreError, ValueError):
            # damage that the quick check above does not reach (a parameter, the truth…):
            # the journal still holds everything committed
            recover(path, force=True)
    return _read_run(path, spectra, lock_timeout_s)


def _read_run(path: Path, spectra: bool, lock_timeout_s: float) -> Run:
    with _locked(path, False, lock_timeout_s):
        try:
            f = _open_h5(path, "r")
        except OSError as exc:
            raise StoreError(errno.EIO, f"{path} cannot be opened as HDF5: {exc}") from None
        with f:
            try:
                _check_schema(f, path)
                attrs = {k: _decode_scalar(v) for k, v in f.attrs.items()}
                attrs["station"] = json.loads(attrs.pop("station_json", "{}"))
                attrs["instruments"] = json.loads(attrs.pop("instruments_json", "{}"))
                n = int(attrs["rows_committed"])
                params = {name: {"value": _read_parameter(ds), "units": ds.attrs["units"],
                                 "label": ds.attrs.get("label", name)}
                          for name, ds in f["parameters"].items()}
                cols = list(f["data"].attrs["columns"])
                data = pd.DataFrame({c: f["data"][c][:n] for c in cols}, columns=cols)
                units = {c: f["data"][c].attrs["units"] for c in cols}
                spec = wl = None
                if "wavelength_nm" in f["axes"]:
                    wl = f["axes/wavelength_nm"][()]
                    if spectra:
                        spec = f["data/spectrum"][:n]
                m = int(attrs["events_committed"])
                ev = f["events"]
                events = pd.DataFrame({"time_s": ev["time_s"][:m],
                                       "level": ev["level"].asstr()[:m],
                                       "message": ev["message"].asstr()[:m]})
                truth = _read_tree(f["truth"]) if "truth" in f else None
                analysis = {k: _read_tree(g) for k, g in f["analysis"].items()}
            except _DAMAGE_ERRORS as exc:
                raise StoreError(errno.EIO, f"{path} is damaged: {_first_line(exc)}") from None
    return Run(path, attrs, params, data, units, spec, wl, events, truth, analysis)


class LiveReader:
    """Reads a run file while it is written, fetching only rows added since the last poll.

    Each :meth:`poll` takes a shared lock for a few milliseconds, opens the file,
    reads ``[last_n:n]`` of each column and closes it, so its cost depends on the
    number of new rows, not on the length of the run.

    Attributes
    ----------
    n_rows : int
        Rows read so far.
    status : str
        The run's status at the last poll (``running`` until it ends).
    columns, units : list, dict
        Known after the first poll.
    new_spectra : numpy.ndarray or None
        Spectra of the rows returned by the last poll (if ``spectra=True``).
    new_events : pandas.DataFrame
        Events added since the previous poll.
    """

    def __init__(self, path: str | os.PathLike, *, spectra: bool = False,
                 lock_timeout_s: float = 1.0):
        self.path = Path(path)
        self.spectra = spectra
        self.lock_timeout_s = lock_timeout_s
        self.n_rows = 0
        self.n_events = 0
        self.status = "unknown"
        self.columns: list[str] = []
        self.units: dict[str, str] = {}
        self.new_spectra: np.ndarray | None = None
        self.new_events = pd.DataFrame({"time_s": [], "level": [], "message": []})

    def poll(self) -> pd.DataFrame:
        """New committed rows since the last poll (index = row number in the run).

        Raises :class:`StoreBusy` if the writer held the file for longer than
        ``lock_timeout_s`` (retry on the next poll).
        """
        with _locked(self.path, False, self.lock_timeout_s):
            with _open_h5(self.path, "r") as f:
                if not self.columns:
                    self.columns = list(f["data"].attrs["columns"])
                    self.units = {c: f["data"][c].attrs["units"] for c in self.columns}
                self.status = _decode_scalar(f.attrs["status"])
                n = int(f.attrs["rows_committed"])
                a = self.n_rows
                data = pd.DataFrame({c: f["data"][c][a:n] for c in self.columns},
                                    columns=self.columns, index=pd.RangeIndex(a, max(a, n)))
                if self.spectra and "spectrum" in f["data"]:
                    self.new_spectra = f["data/spectrum"][a:n]
                m = int(f.attrs["events_committed"])
                ev, e = f["events"], self.n_events
                self.new_events = pd.DataFrame({
                    "time_s": ev["time_s"][e:m], "level": ev["level"].asstr()[e:m],
                    "message": ev["message"].asstr()[e:m]})
        self.n_rows, self.n_events = max(a, n), max(e, m)
        return data


# -------------------------------------------------------------------- export
def export_csv(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the 1-D columns as CSV with a PyMeasure-style commented header.

    The header (``#Procedure: <module.Class>``, ``#Parameters:``, ``#\\t<label>:
    <value> <units>``, ``#Metadata:``, ``#Data:``) lets PyMeasure's ``Results.load``
    read the file back. Spectra are not exported. Never overwrites ``out``
    (default: the run file with ``.csv``).
    """
    run = load_run(path, spectra=False)
    out = Path(out) if out is not None else Path(path).with_suffix(".csv")
    lines = [f"Procedure: <{run.procedure.replace(':', '.')}>", "Parameters:"]
    for name, p in run.parameters.items():
        value = p["value"]
        text = f"{value} {p['units']}".rstrip() if p["units"] not in ("", "1") else f"{value}"
        lines.append(f"\t{p['label']}: {text}")
    lines.append("Metadata:")
    for key in ("sample", "pixel", "operator", "status", "start_time", "end_time",
                "simulated", "software_version", "host"):
        lines.append(f"\t{key}: {run.attrs.get(key, '')}")
    for col, unit in run.units.items():
        lines.append(f"\tunits {col}: {unit}")
    lines.append("Data:")
    header = "".join(f"#{line}\n" for line in lines)
    with open(out, "x", encoding="utf-8", newline="") as fh:  # "x": never overwrite
        fh.write(header)
        # repr, not str: colour-science switches numpy to legacy printing (12 digits) on
        # import, and pandas formats floats with str() -- the CSV would lose digits
        run.data.to_csv(fh, index=False, lineterminator="\n", float_format=_repr_float)
    return out


def _repr_float(value: float) -> str:
    return repr(float(value))


def write_analysis(path: str | os.PathLike, name: str, results: Mapping[str, Any]) -> None:
    """Store ``results`` under ``/analysis/<name>`` of a run that is not running.

    Replaces an existing ``/analysis/<name>`` and leaves everything else alone. The
    change is made on a copy that atomically replaces the file, so a crash cannot
    damage the recorded run.
    """
    path = Path(path)
    name = _validate_key(name, "analysis")
    if not isinstance(results, Mapping):
        raise ValueError("results must be a mapping (JSON-like nested dict)")
    tmp = path.with_name(f".{path.name}.analysis.{os.getpid()}.tmp")
    with _locked(path, True, 10.0):
        with _open_h5(path, "r") as f:
            _check_schema(f, path)
            if f.attrs["status"] == "running":
                raise ValueError(f"{path.name} has status running: analysis is written "
                                 "to finished runs only (resume or finish it first)")
        shutil.copyfile(path, tmp)
        try:
            with _open_h5(tmp, "r+") as f:
                group = f.require_group("analysis")
                if name in group:
                    del group[name]
                _write_tree(group.create_group(name, track_order=True), results,
                            f"analysis/{name}")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    _fsync_dir(path.parent)
