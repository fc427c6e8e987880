"""One writer per run file, one process per instrument (issue 18), through the program.

Seen before: ``qled resume FILE`` twice 1.5 s apart both succeeded and appended 566 rows of
two interleaved histories; started at the same instant the second died on a rename race of
the journal (``….journal.tmp -> ….journal``: FileNotFoundError). Now:

* two resumes 1.5 s apart, and two started at the same instant: one continues the file, the
  other is refused with one line naming the holder (host, pid, since), exit code 2; the file
  holds one continued history (one resume, stress time strictly increasing);
* two ``qled run`` on one served bench: the second is refused naming who holds the SMU;
* a ``qled resume`` killed with SIGKILL leaves a stale lock: the next resume takes it over
  and records that in ``/events``;
* a lock file naming another host is never broken: refused in one line naming that host.

Only processes and plain h5py are used, so the same file runs against older code.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

pytestmark = [pytest.mark.reliability,
              pytest.mark.skipif(sys.platform != "linux", reason="flock, SIGKILL of Linux")]

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def qled(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qled", *map(str, args)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows_of(path: Path) -> int:
    try:
        with h5py.File(path, "r", locking=False) as f:
            return int(f.attrs["rows_committed"])
    except (OSError, KeyError):
        return -1


def killed_lifetime(folder: Path, rows: int = 30, hours: float = 0.5) -> Path:
    """A lifetime run killed (SIGKILL) once its file holds ``rows`` rows."""
    proc = qled("run", "lifetime", "--station", "sim", "--out", folder, "--sample", "lock",
                "--current-density-mA-cm2", "2", "--log-interval-s", "2",
                "--time-scale", "300", "--max-hours", hours, "--flush-interval", "0.2")
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            files = list(folder.glob("*.h5"))
            if files and rows_of(files[0]) >= rows:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    (path,) = folder.glob("*.h5")
    return path


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def assert_refused(code: int, err: str, holder_pid: int) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("qled: error: ")
    host = socket.gethostname()
    assert re.search(rf"pid {holder_pid} on host {re.escape(host)} since \d{{4}}-\d\d-\d\dT", err), err


def assert_one_history(path: Path, resumes: int = 1) -> None:
    with h5py.File(path, "r") as f:
        n = int(f.attrs["rows_committed"])
        t = f["data/time_s"][:n]
        assert int(f.attrs["resume_count"]) == resumes
        m = int(f.attrs["events_committed"])
        msgs = list(f["events/message"].asstr()[:m])
    assert np.all(np.diff(t) > 0), "two interleaved histories"
    assert sum(m.startswith("resume: gap") for m in msgs) == resumes


@pytest.mark.timeout(600)
def test_two_resumes_one_and_a_half_seconds_apart(tmp_path):
    path = killed_lifetime(tmp_path)
    first = qled("resume", path, "--flush-interval", "0.2")
    time.sleep(1.5)
    code, out, err = finish(qled("resume", path))
    assert_refused(code, err, first.pid)
    code1, out1, err1 = finish(first)
    assert code1 == 0, err1
    assert_one_history(path)


@pytest.mark.timeout(600)
def test_two_resumes_at_the_same_instant(tmp_path):
    path = killed_lifetime(tmp_path)
    procs = [qled("resume", path, "--flush-interval", "0.2") for _ in range(2)]
    results = [finish(p) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    for p, (code, out, err) in zip(procs, results):
        assert "Traceback" not in err and "FileNotFoundError" not in err
        if code == 2:
            other = next(q for q in procs if q is not p)
            assert_refused(code, err, other.pid)
    assert_one_history(path)


@pytest.mark.timeout(600)
def test_stale_lock_of_a_killed_resume_is_taken_over(tmp_path):
    path = killed_lifetime(tmp_path)
    victim = qled("resume", path, "--flush-interval", "0.2")
    lock = Path(str(path) + ".lock")

    def held_by_victim() -> bool:
        # the killed lifetime left its own lock: wait for the resume's, not for any lock
        try:
            return json.loads(lock.read_text())["pid"] == victim.pid
        except (OSError, ValueError, KeyError):
            return False
    deadline = time.monotonic() + 60
    while not held_by_victim() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    finish(victim)
    assert json.loads(lock.read_text())["pid"] == victim.pid      # left behind, stale
    code, out, err = finish(qled("resume", path))
    assert code == 0, err
    with h5py.File(path, "r") as f:
        m = int(f.attrs["events_committed"])
        msgs = list(f["events/message"].asstr()[:m])
    taken = [m for m in msgs if m.startswith("lock: took over a stale lock")]
    assert len(taken) == 1 and f"pid {victim.pid}" in taken[0]
    assert not lock.exists()


@pytest.mark.timeout(300)
def test_lock_of_another_host_is_refused_naming_it(tmp_path):
    path = killed_lifetime(tmp_path)
    before = path.read_bytes()
    lock = Path(str(path) + ".lock")
    lock.write_text(json.dumps({"host": "glovebox-pc", "pid": 777,
                                "since": "2026-12-06T23:00:00Z", "command": "qled resume"}))
    code, out, err = finish(qled("resume", path))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "pid 777 on host glovebox-pc since 2026-12-06T23:00:00Z" in err
    assert path.read_bytes() == before and lock.exists()


@pytest.fixture
def served(tmp_path):
    station = tmp_path / "bench.toml"
    proc = subprocess.Popen([sys.executable, "-m", "qled", "sim", "serve", "--json",
                             "--no-noise", "--time-scale", "300", "--channels", "2",
                             "--station-out", str(station)],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline(), proc.stderr.read()
        yield station
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


@pytest.mark.timeout(600)
def test_two_runs_on_one_resource(served, tmp_path):
    args = ["run", "lifetime", "--station", served, "--current-density-mA-cm2", "2",
            "--log-interval-s", "2", "--max-hours", "0.1", "--flush-interval", "0.2"]
    # the first one runs long enough (2 h at 300×: 24 s) to still hold its SMU however slowly
    # the second one starts on a loaded machine; it is stopped below
    first = qled(*args, "--max-hours", "2", "--out", tmp_path / "a", "--sample", "first")
    deadline = time.monotonic() + 120
    while not list((tmp_path / "a").glob("*.h5")) and time.monotonic() < deadline:
        time.sleep(0.05)
    code, out, err = finish(qled(*args, "--out", tmp_path / "b", "--sample", "second"))
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "is in use by pid" in err and f"pid {first.pid} on host" in err
    assert "(channel1.smu" in err
    assert not list((tmp_path / "b").glob("*.h5"))           # nothing was recorded
    first.send_signal(signal.SIGTERM)
    code1, out1, err1 = finish(first)
    assert "Traceback" not in err1
