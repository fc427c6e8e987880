"""The run-file loader on damaged files: truncated, bytes flipped, blocks zeroed.

A real J-V-L run file (spectra, events, truth, analysis) from the simulated bench is
damaged in many ways. ``load_run`` must return a run or raise a clear ``OSError``
(``StoreError``) / ``ValueError`` with a one-line message; with the journal of an
interrupted run beside it, ``recover`` rebuilds every journalled row. Never another
exception type, never a crash.

Loads run in a child process (``load_worker.py``) watched by a timer: libhdf5 itself can
loop forever on some damaged metadata (HDFGroup/hdf5#1707, h5py#2088; h5dump hangs too).
A load that hangs is accepted only if plain h5py hangs on the same file as well (the
library's loop, not ours); such files are counted and printed.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acquisition.store import RunWriter, StoreError, journal_path, load_run, recover

pytestmark = pytest.mark.reliability

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HANG_S = 20.0          # a normal load takes ~0.1 s; generous for a loaded 2-core machine
HANGS: list[str] = []

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    from qled.actions import run_one
    from procedures.jvl import JVLProcedure

    out = tmp_path_factory.mktemp("run")
    values = {"station": "sim", "sample": "fuzz", "start_voltage_V": 2.5, "stop_voltage_V": 4.0,
              "step_voltage_V": 0.5, "dwell_s": 0.0, "nplc": 0.1, "spectrum_every": 1}
    result, _ = run_one(JVLProcedure, values, out, overrides={"time_scale": 1000.0,
                                                              "noise": False})
    assert result.status == "finished" and result.rows >= 6
    run = load_run(result.path)
    assert run.spectra is not None and run.truth and run.analysis
    return Path(result.path)


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory) -> Path:
    """A run left as a kill leaves it: status running, journal beside it."""
    out = tmp_path_factory.mktemp("killed")
    w = RunWriter.create(out, procedure="tests:Killed", sample="k", columns=["time_s", "x_V"],
                         spectrum_axis_nm=np.linspace(380, 780, 5), background_flush=False,
                         truth={"a": 1.0})
    for i in range(300):
        w.append({"time_s": float(i), "x_V": 0.5 * i,
                  "spectrum": np.full(5, float(i)) if i % 3 == 0 else None})
        if i % 50 == 49:
            w.event("info", f"batch {i}")
            w.flush()
    w._journal_close(delete=False)   # the process dies here: no finish()
    w._stop.set()
    return w.path


class LoadWorker:
    """A child process that loads files on request; a hang or a crash is seen, not suffered."""

    def __init__(self):
        self.proc = None
        self.buf = b""

    def _start(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, str(HERE / "load_worker.py")], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buf = b""
        assert json.loads(self._line(120.0))["ready"]

    def _line(self, timeout_s: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            ready, _, _ = select.select([fd], [], [], timeout_s)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return b""
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def ask(self, mode: str, path: Path) -> dict:
        if self.proc is None:
            self._start()
        self.proc.stdin.write(f"{mode} {path}\n".encode())
        self.proc.stdin.flush()
        line = self._line(HANG_S)
        if line:
            return json.loads(line)
        if line is None:
            self.close()
            return {"outcome": "hang"}
        code = self.proc.wait(10)
        self.close()
        return {"outcome": "crash", "returncode": code}

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc.stdin.close()
            self.proc.stdout.close()
            self.proc = None


@pytest.fixture(scope="module")
def worker():
    w = LoadWorker()
    yield w
    w.close()
    if HANGS:
        print(f"\n{len(HANGS)} damaged files hang libhdf5 itself (plain h5py too): "
              + ", ".join(HANGS), file=sys.stderr)


def _outcome(worker: LoadWorker, mode: str, path: Path, damage) -> dict:
    """The worker's reply; a hang must be libhdf5's own (plain h5py hangs as well)."""
    r = worker.ask(mode, path)
    assert r["outcome"] != "crash", f"{damage}: the loader process died ({r['returncode']})"
    assert r["outcome"] != "unexpected", f"{damage}: {r['type']}: {r['message']}\n{r['trace']}"
    if r["outcome"] == "hang":
        plain = worker.ask("plain", path)
        assert plain["outcome"] == "hang", f"{damage}: load_run hangs but h5py alone does not"
        HANGS.append(f"{damage[0]}@{damage[1]:.3f}")
    if r["outcome"] == "error":
        assert r["message"] and "\n" not in r["message"], r
    return r


def _damage(src: Path, dst: Path, kind: str, position: float, blob: bytes) -> None:
    data = bytearray(src.read_bytes())
    at = int(position * (len(data) - 1))
    if kind == "truncate":
        data = data[:at]
    elif kind == "flip":
        for k, b in enumerate(blob):
            data[(at + 97 * k) % len(data)] ^= b or 0xFF
    elif kind == "zero":
        data[at:at + 64 * max(1, len(blob))] = bytes(len(data[at:at + 64 * max(1, len(blob))]))
    else:   # overwrite
        data[at:at + len(blob)] = blob
    dst.write_bytes(bytes(data))


damage = st.tuples(st.sampled_from(["truncate", "flip", "zero", "overwrite"]),
                   st.floats(0, 1), st.binary(min_size=1, max_size=16))


@FUZZ
@given(damage)
def test_damaged_finished_file_loads_or_fails_clearly(finished_run, worker, tmp_path_factory, d):
    path = tmp_path_factory.mktemp("dmg") / finished_run.name
    _damage(finished_run, path, *d)
    r = _outcome(worker, "load", path, d)
    if r["outcome"] == "ok":
        assert r["rows"] == r["rows_committed"]


@FUZZ
@given(damage)
def test_damaged_interrupted_file_is_rebuilt_from_its_journal(interrupted_run, worker,
                                                                tmp_path_factory, d):
    folder = tmp_path_factory.mktemp("dmgj")
    path = folder / interrupted_run.name
    _damage(interrupted_run, path, *d)
    shutil.copyfile(journal_path(interrupted_run), journal_path(path))
    r = _outcome(worker, "recover", path, d)
    if r["outcome"] == "hang":
        return
    assert r["outcome"] == "ok", f"{d}: with its journal the file must come back: {r}"
    with h5py.File(path, "r") as f:           # and plainly, as other tools open it
        assert int(f.attrs["rows_committed"]) == r["rows"]
    if r["rebuilt"] or r["recovered_event"]:  # every journalled row is back, exactly
        assert r["rows"] == 300 and r["recovered_event"]
        np.testing.assert_array_equal(r["x"], 0.5 * np.arange(300))


def test_damaged_file_without_journal_is_a_store_error(finished_run, tmp_path):
    path = tmp_path / finished_run.name
    _damage(finished_run, path, "zero", 0.0, b"x")    # the superblock
    with pytest.raises(StoreError, match="cannot be opened as HDF5"):
        load_run(path)
    with pytest.raises(StoreError, match="no journal"):
        recover(path)
