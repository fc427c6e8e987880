"""One process per instrument (issue 18): a station locks every resource it opens.

Against a bench served in another process (``qled sim serve``, the real-hardware path): while
one process has the station open, a second is refused in one line naming the holder; the
lock goes with ``Station.close``; a lock left by a dead process is taken over (and said so);
an in-process simulated bench, whose ports are private to its process, takes none.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from instruments.resource_lock import (ResourceBusy, hold_resource, lock_dir,
                                       normalise_resource)
from instruments.station import load_config, open_station

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock semantics of Linux")


@pytest.fixture
def served(tmp_path):
    station = tmp_path / "bench.toml"
    proc = subprocess.Popen([sys.executable, "-m", "qled", "sim", "serve", "--json",
                             "--no-noise", "--station-out", str(station)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline(), proc.stderr.read()
        yield station
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def _open_in_child(station: Path, roles: str = "smu") -> subprocess.CompletedProcess:
    code = ("import sys\nfrom instruments.station import open_station\n"
            "try:\n"
            f"    open_station({str(station)!r}, roles={roles.split(',')!r}).close()\n"
            "except ValueError as exc:\n"
            "    print(exc); sys.exit(3)\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_second_process_cannot_drive_an_open_instrument(served):
    resource = load_config(served, roles=("smu",))["smu"]["resource"]
    with open_station(served, roles=("smu",)):
        r = _open_in_child(served)
        assert r.returncode == 3, r.stdout + r.stderr
        line = r.stdout.strip()
        assert "\n" not in line
        assert f"resource {resource} (smu) is in use by pid {os.getpid()}" in line
        assert "two processes cannot drive one instrument" in line
    r = _open_in_child(served)                     # closed: free again
    assert r.returncode == 0, r.stdout + r.stderr
    assert not list(lock_dir().glob("*.lock"))     # released locks leave no files


def test_qled_run_on_an_instrument_in_use_is_one_line_exit_2(served, tmp_path):
    with open_station(served, roles=("smu",)):
        r = subprocess.run([sys.executable, "-m", "qled", "run", "jvl", "--station", str(served),
                            "--out", str(tmp_path / "runs"), "--light-route", "none",
                            "--start-voltage-V", "2", "--stop-voltage-V", "2.5"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("qled: error: resource ") and r.stderr.count("\n") == 1
    assert f"in use by pid {os.getpid()}" in r.stderr and "Traceback" not in r.stderr
    assert not list((tmp_path / "runs").glob("*.h5"))   # nothing was recorded


def test_stale_resource_lock_is_taken_over_and_said(served):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    resource = load_config(served, roles=("smu",))["smu"]["resource"]
    lock = hold_resource(resource, "smu")
    path = lock.path
    lock._fd, fd = None, lock._fd
    os.close(fd)                                   # as a killed process leaves it
    path.write_text(json.dumps({"resource": resource, "pid": dead.pid, "since": "then"}))
    events = []
    with open_station(served, roles=("smu",), on_event=lambda lv, m: events.append(m)):
        assert any(f"took over the lock left by pid {dead.pid}" in m for m in events), events
    assert not path.exists()


def test_in_process_simulated_bench_takes_no_lock():
    before = set(lock_dir().glob("*.lock")) if lock_dir().exists() else set()
    with open_station("sim", roles=("smu",)) as st:
        assert st._resource_locks == {}
        now = set(lock_dir().glob("*.lock")) if lock_dir().exists() else set()
        assert now == before


def test_one_instrument_has_one_spelling():
    assert normalise_resource("tcpip::10.0.0.7::5025::socket") == \
        normalise_resource("TCPIP0::10.0.0.7::5025::SOCKET")
    assert normalise_resource("GPIB::24::INSTR") == "GPIB0::24::INSTR"
    a = hold_resource("gpib0::24::instr", "smu")
    with pytest.raises(ResourceBusy, match="GPIB::24::INSTR"):
        hold_resource("GPIB::24::INSTR", "photodiode")
    a.release()
    hold_resource("GPIB::24::INSTR", "photodiode").release()
