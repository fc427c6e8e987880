"""Reading runs: whole (:func:`load_run` → :class:`Run`), live (:class:`LiveReader`), as CSV.

:func:`load_run` returns the committed rows of a finished, interrupted or running file,
rebuilding a damaged one from its journal first. :class:`LiveReader` polls a file while
it is written, fetching only the rows added since the last poll. :func:`export_csv`
writes the columns with a PyMeasure-style header; :func:`write_analysis` stores analysis
results in a finished run (on a copy that atomically replaces it).
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .encoding import _decode_scalar, _read_parameter, _read_tree, _validate_key, _write_tree
from .journal import _journal_finish, _read_journal, journal_path
from .locking import StoreBusy, StoreError, _check_free, _fsync_dir, _locked, _open_h5, _reason
from .recovery import _DAMAGE_ERRORS, _opens_cleanly, recover
from .runlock import run_lock
from .schema import _check_schema, _clock_at_resume, _utc_now


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
        Columns ``time_s`` (seconds since the start on the run's clock), ``level``,
        ``message``, ``stress_time_s`` (NaN where there is no stress; all NaN for files
        written before the column existed).
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
                events = _read_events(f["events"], 0, int(attrs["events_committed"]))
                truth = _read_tree(f["truth"]) if "truth" in f else None
                analysis = {k: _read_tree(g) for k, g in f["analysis"].items()}
            except _DAMAGE_ERRORS as exc:
                raise StoreError(errno.EIO, f"{path} is damaged: {_first_line(exc)}") from None
    return Run(path, attrs, params, data, units, spec, wl, events, truth, analysis)


def _read_events(ev, a: int, b: int) -> pd.DataFrame:
    """Events ``[a:b]`` of an ``/events`` group (None: no events) as a DataFrame; a file
    without ``stress_time_s`` gets NaN there."""
    if ev is None or b <= a:
        return pd.DataFrame({"time_s": np.empty(0), "level": np.empty(0, object),
                             "message": np.empty(0, object), "stress_time_s": np.empty(0)})
    stress = ev["stress_time_s"][a:b] if "stress_time_s" in ev else np.full(b - a, np.nan)
    return pd.DataFrame({"time_s": ev["time_s"][a:b], "level": ev["level"].asstr()[a:b],
                         "message": ev["message"].asstr()[a:b], "stress_time_s": stress})


def journal_status(path: str | os.PathLike) -> str | None:
    """The final status a run file's journal records (a full disk kept it from the file),
    or None (no journal, or a run that has not ended)."""
    jpath = journal_path(path)
    if not jpath.exists():
        return None
    final = _journal_finish(_read_journal(jpath))
    return None if final is None else str(final.get("status"))


def resume_clock_s(path: str | os.PathLike) -> float:
    """The run's clock [s since its start] if it were resumed now: the stored clock at the
    last flush plus the wall-clock time since (what ``qled resume`` continues from)."""
    path = Path(path)
    with _locked(path, False, 5.0), _open_h5(path, "r") as f:
        m = int(f.attrs["events_committed"])
        return _clock_at_resume(f.attrs, f["events/time_s"][:m], _utc_now())


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
        self.new_events = _read_events(None, 0, 0)

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
                m, e = int(f.attrs["events_committed"]), self.n_events
                self.new_events = _read_events(f["events"], e, m)
        self.n_rows, self.n_events = max(a, n), max(e, m)
        return data


# -------------------------------------------------------------------------- export
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
    if out.exists():
        raise FileExistsError(f"{out} exists: export never overwrites; give --out")
    need = 32 * (len(run.data) + 1) * max(1, len(run.data.columns)) + len(header)
    _check_free(out.parent, need, f"export {Path(path).name}")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as fh:
            fh.write(header)
            # repr, not str: colour-science switches numpy to legacy printing (12 digits) on
            # import, and pandas formats floats with str() -- the CSV would lose digits
            run.data.to_csv(fh, index=False, lineterminator="\n", float_format=_repr_float)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, out)      # never overwrite, never seen half-written
    except FileExistsError:
        raise FileExistsError(f"{out} exists: export never overwrites; give --out") from None
    except OSError as exc:
        raise StoreError(exc.errno or errno.EIO, f"cannot export {Path(path).name} to {out}: "
                         f"{_reason(exc)} (no CSV written)") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(out.parent)
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
    with run_lock(path, "analysis"), _locked(path, True, 10.0):
        with _open_h5(path, "r") as f:
            _check_schema(f, path)
            if f.attrs["status"] == "running":
                raise ValueError(f"{path.name} has status running: analysis is written "
                                 "to finished runs only (resume or finish it first)")
        _check_free(path.parent, 2 * path.stat().st_size, f"store the analysis of {path.name}")
        try:
            shutil.copyfile(path, tmp)
            with _open_h5(tmp, "r+") as f:
                group = f.require_group("analysis")
                if name in group:
                    del group[name]
                _write_tree(group.create_group(name, track_order=True), results,
                            f"analysis/{name}")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except (OSError, RuntimeError) as exc:
            raise StoreError(getattr(exc, "errno", None) or errno.EIO,
                             f"cannot store the analysis of {path.name}: {_reason(exc)} (the "
                             "run file is unchanged)") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    _fsync_dir(path.parent)
