"""The write-ahead journal beside a run file while it is written (``<file>.h5.journal``).

Each flush is first appended to the journal, so a kill or a full disk in the middle of
an HDF5 write cannot lose committed rows (:mod:`acquisition.store.recovery` rebuilds the
file from it). The format: checksummed records (:func:`_journal_record`, read back up to
the first torn one by :func:`_read_journal`); the first (``S``) holds the skeleton of the
file as JSON (:func:`_skeleton_json`, with :func:`_json_default` / :func:`_json_hook`
for arrays), each further (``B``) one batch of rows, spectra and events as ``.npz``
(:func:`_batch_record`). :class:`_JournalWriter` is the writer's side: open, append,
snapshot the file on resume, close (and delete when the run ended cleanly).
"""
from __future__ import annotations

import contextlib
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


class _JournalWriter:
    """The journal side of :class:`~acquisition.store.writer.RunWriter` (a mixin).

    Uses the writer's ``path``, ``columns``, ``n_wavelengths``, ``_journal_path`` and
    ``_journal_fh``.
    """

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
