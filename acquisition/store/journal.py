"""The write-ahead journal beside a run file while it is written (``<file>.h5.journal``).

Each flush is first appended to the journal, so a kill or a full disk in the middle of
an HDF5 write cannot lose committed rows (:mod:`acquisition.store.recovery` rebuilds the
file from it). The format: checksummed records (:func:`_journal_record`, read back up to
the first torn one by :func:`_read_journal`); the first (``S``) holds the skeleton of the
file as JSON (:func:`_skeleton_json`, with :func:`_json_default` / :func:`_json_hook`
for arrays), each further (``B``) one batch of rows, spectra and events as ``.npz``
(:func:`_batch_record`), and a last (``F``) one the run's final status and end time
(:func:`_finish_record`), written before the HDF5 file is patched so that a full disk
cannot lose them. :class:`_JournalWriter` is the writer's side: open, write a record at
the end with room reserved for the finish record, snapshot the file on resume, close (and
delete when the run ended cleanly).
"""
from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .encoding import _decode_scalar, _read_parameter, _read_tree
from .locking import _fsync_dir, _locked, _open_h5
from .schema import _Batch


def journal_path(path: str | os.PathLike) -> Path:
    """Path of the write-ahead journal that accompanies a run file while it is written."""
    return Path(str(path) + ".journal")


# Record: magic(4) kind(1) length(u64) crc32(u32) payload. Payloads are .npz (rows,
# spectra, events) or JSON (skeleton, finish); a torn tail fails its checksum and
# is ignored on replay, as are the zeros of the reserve after the last record.
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
        t, lv, msg, stress = zip(*batch.events)
        payload["ev_t"] = np.asarray(t, float)
        payload["ev_level"] = np.asarray(lv, dtype=str)
        payload["ev_msg"] = np.asarray(msg, dtype=str)
        payload["ev_stress"] = np.asarray(stress, float)
    payload["row0"] = np.asarray(row0)
    if batch.clock_s is not None:
        payload["clock_s"] = np.asarray(float(batch.clock_s))
    return _npz_bytes(payload)


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


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


#: Bytes kept allocated after the last record of a journal: the finish record (status and
#: end time) always fits, even on a disk that filled up since the last commit.
_JOURNAL_RESERVE_B = 16 * 1024


def _finish_record(status: str, end_time: str, rows: int) -> bytes:
    """The run's end: status, end time and the rows the file held then (JSON)."""
    return _journal_record(b"F", json.dumps({"status": status, "end_time": end_time,
                                             "rows_committed": int(rows)}).encode())


def _journal_finish(records: list[tuple[bytes, bytes]]) -> dict | None:
    """The last finish (``F``) record of a journal as a dict, or None."""
    for kind, payload in reversed(records):
        if kind == b"F":
            try:
                return json.loads(payload)
            except ValueError:
                return None
    return None


def _reserve(fd: int, offset: int, length: int) -> None:
    """Allocate ``[offset, offset + length)`` of the file (ENOSPC if the disk cannot)."""
    try:
        os.posix_fallocate(fd, offset, length)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return           # the filesystem cannot reserve: records are appended as before
        raise


class _JournalWriter:
    """The journal side of :class:`~acquisition.store.writer.RunWriter` (a mixin).

    Uses the writer's ``path``, ``columns``, ``n_wavelengths``, ``_journal_path`` and
    ``_journal_fd``. Records are written at ``_journal_end`` (not appended): a record torn by
    a full disk is overwritten by the next one, and the :data:`_JOURNAL_RESERVE_B` allocated
    after the last record keep room for the finish record.
    """

    def _journal_open(self) -> None:
        self._journal_fd = os.open(self._journal_path,
                                   os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self._journal_end = 0

    def _journal_snapshot(self, block_rows: int = 100_000) -> None:
        """Start a journal holding everything already in the file (used on resume).

        Written under a temporary name and renamed, so the previous journal stays
        valid until the new one is complete (the run lock keeps other writers away).
        """
        tmp = self._journal_path.with_name(self._journal_path.name + ".tmp")
        try:
            with open(tmp, "wb") as fh, _locked(self.path, False, 30.0):
                fh.write(_journal_record(b"S", _skeleton_json(self.path).encode()))
                with _open_h5(self.path, "r") as f:
                    n, m = int(f.attrs["rows_committed"]), int(f.attrs["events_committed"])
                    ev = f["events"]
                    events = list(zip(ev["time_s"][:m].tolist(),
                                      ev["level"].asstr()[:m].tolist(),
                                      ev["message"].asstr()[:m].tolist(),
                                      _event_stress(ev, m)))
                    for a in range(0, max(n, 1), block_rows):
                        b = min(n, a + block_rows)
                        cols = {c: f["data"][c][a:b] for c in self.columns}
                        spec = f["data/spectrum"][a:b] if self.n_wavelengths else None
                        fh.write(_journal_record(b"B", _batch_record(
                            _Batch(cols, spec, events if a == 0 else []), a)))
                fh.flush()
                end = fh.tell()
                _reserve(fh.fileno(), end, _JOURNAL_RESERVE_B)
                os.fsync(fh.fileno())
            os.replace(tmp, self._journal_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)
        self._journal_fd = os.open(self._journal_path, os.O_WRONLY | os.O_CLOEXEC)
        self._journal_end = end

    def _journal_write(self, kind: bytes, payload: bytes) -> None:
        self._journal_put(_journal_record(kind, payload))

    def _journal_put(self, record: bytes, reserve: bool = True) -> None:
        """Write one record at the end of the journal and fsync it. With ``reserve`` the
        record and the reserve after it are allocated first (ENOSPC before any byte is
        written); without, the record goes into the reserve kept by the last one."""
        fd, end = self._journal_fd, self._journal_end
        if reserve:
            _reserve(fd, end, len(record) + _JOURNAL_RESERVE_B)
        written = os.pwrite(fd, record, end)
        if written != len(record):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)
        self._journal_end = end + len(record)

    def _journal_close(self, delete: bool) -> None:
        if self._journal_fd is not None:
            fd, self._journal_fd = self._journal_fd, None
            with contextlib.suppress(OSError):
                if not delete:       # give back the reserve: the journal ends at its last record
                    os.ftruncate(fd, self._journal_end)
            os.close(fd)
            if delete:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._journal_path)


def _event_stress(ev, m: int) -> list[float]:
    """``/events/stress_time_s`` of the first ``m`` events (NaN for files without it)."""
    if "stress_time_s" in ev:
        return ev["stress_time_s"][:m].tolist()
    return [float("nan")] * m
