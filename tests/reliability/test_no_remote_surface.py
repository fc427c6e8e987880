"""Nothing listens beyond loopback; no input is unpickled or evaluated.

* Listening sockets of this process and its children (an in-process bench, ``qled sim
  serve`` in a subprocess, a GUI-less PyMeasure worker running a J-V-L procedure on its own
  simulated bench) are inspected with psutil: every one is bound to 127.0.0.1 or ::1.
* The package sources contain no unpickling, ``eval``/``exec``, unsafe YAML, pickled NumPy
  loads or ``__import__``; dynamic imports exist only where the module name is ours.
* A crafted run file (pickled payloads in attributes and a parameter, object arrays in the
  journal, a procedure path naming ``os:abort``) is loaded, recovered and resumed without
  anything being unpickled or called.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import psutil
import pytest

from acquisition.store import RunWriter, journal_path, load_run, recover
from simulators.bench import Bench

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "::1"}


def _listeners(root: psutil.Process) -> list[tuple[int, str, int, str]]:
    out = []
    for proc in [root, *root.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for c in conns:
            udp = c.type == socket.SOCK_DGRAM
            if c.status == psutil.CONN_LISTEN or (udp and c.laddr):
                out.append((proc.pid, c.laddr.ip, c.laddr.port, "udp" if udp else "tcp"))
    return out


@pytest.mark.timeout(180)
def test_every_listening_socket_is_on_loopback(tmp_path):
    from pymeasure.experiment import Results

    from acquisition.runner import HDF5Worker
    from procedures.base import build_procedure
    from procedures.jvl import JVLProcedure

    me = psutil.Process()
    seen: list = []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    serve = subprocess.Popen([sys.executable, "-m", "qled", "sim", "serve", "--json",
                              "--no-noise", "--time-scale", "1000"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        resources = json.loads(serve.stdout.readline())
        with Bench(noise=False, time_scale=1000.0) as bench:
            proc = build_procedure(JVLProcedure, {
                "station": "sim", "start_voltage_V": 2.0, "stop_voltage_V": 4.0,
                "step_voltage_V": 0.25, "dwell_s": 0.0, "nplc": 0.1, "light_route": "photodiode"})
            proc.sim_overrides = {"time_scale": 1000.0, "noise": False}
            results = Results(proc, str(tmp_path / "pymeasure.csv"))
            worker = HDF5Worker(results, tmp_path / "runs", flush_interval_s=0.2)
            worker.start()
            deadline = time.monotonic() + 120
            while threading.Thread.is_alive(worker) and time.monotonic() < deadline:
                seen += _listeners(me)
                time.sleep(0.05)
            threading.Thread.join(worker, 30)
            seen += _listeners(me)
            assert worker.run_result is not None and worker.run_result.status == "finished"
            ports = {int(r.split("::")[2]) for r in bench.resources.values() if "::" in r}
            assert ports <= {p for _, _, p, _ in seen}         # the bench's own servers
    finally:
        serve.terminate()
        serve.wait(30)
        serve.stdout.close()
    served = {int(r.split("::")[2]) for r in resources.values() if str(r).startswith("TCPIP")}
    assert served and served <= {p for _, _, p, _ in seen}, "qled sim serve was not inspected"
    outside = sorted({s for s in seen if s[1] not in LOOPBACK})
    assert not outside, f"listening beyond loopback: {outside}"


# -- sources: the static checks live in test_static_checks.py (unmarked, so they also run
# in the default fast run); imported here so that `pytest -m reliability` runs them too.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_static_checks import (test_sources_never_unpickle_or_evaluate,  # noqa: E402,F401
                                test_the_forbidden_patterns_do_catch_what_they_name)


# -- crafted files -------------------------------------------------------------------------
class _Trap:
    """Unpickling this creates a marker file: proof that something unpickled input."""

    marker: Path = Path("/nonexistent")

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _crafted_run(folder: Path, marker: Path) -> Path:
    _Trap.marker = marker
    payload = pickle.dumps(_Trap())
    w = RunWriter.create(folder, procedure="os:abort", sample="crafted",
                         columns=["time_s", "x_V"], background_flush=False,
                         parameters={"n": (1, "")}, truth={"a": 1.0})
    for i in range(20):
        w.append({"time_s": float(i), "x_V": float(i)})
    w.flush()
    w._journal_close(delete=False)           # an interrupted run: status running, journal,
    w.lock.release()                         # and its run lock freed with the dead process
    with h5py.File(w.path, "r+") as f:
        f.attrs["notes"] = np.void(payload)                     # opaque bytes attribute
        f["truth"].attrs["evil"] = np.void(payload)
        ds = f["parameters"].create_dataset("evil", data=np.void(payload))
        ds.attrs["python_type"] = "pickle"
        ds.attrs["units"] = ""
    return w.path


def test_crafted_run_file_is_never_unpickled_or_called(tmp_path):
    marker = tmp_path / "UNPICKLED"
    path = _crafted_run(tmp_path / "runs", marker)
    run = load_run(path)
    assert not marker.exists()
    assert isinstance(run.parameters["evil"]["value"], (bytes, np.void))
    # resuming it must refuse the procedure path instead of calling os.abort(): the program
    # only runs the procedures of its registered kinds, and imports nothing a file names
    res = subprocess.run([sys.executable, "-m", "qled", "resume", str(path)],
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        "qled: error: runs of kind 'abort' (procedure 'os:abort') belong to no installed "
        "kind: known kinds are jvl, lifetime, dlcp, cv, sclc, plstability"], res.stderr
    assert not marker.exists()


def test_object_arrays_in_a_journal_are_refused_not_unpickled(tmp_path):
    marker = tmp_path / "UNPICKLED"
    path = _crafted_run(tmp_path / "runs", marker)
    jpath = journal_path(path)
    data = jpath.read_bytes()
    buf = io.BytesIO()
    np.savez(buf, row0=np.asarray(20), **{"c:time_s": np.array([_Trap()], dtype=object),
                                          "c:x_V": np.array([1.0])})
    from acquisition.store.journal import _journal_record
    jpath.write_bytes(data + _journal_record(b"B", buf.getvalue()))
    with open(path, "r+b") as fh:            # force the rebuild from the journal
        fh.write(b"\0" * 64)
    with pytest.raises(ValueError, match="allow_pickle"):
        recover(path)
    assert not marker.exists()
