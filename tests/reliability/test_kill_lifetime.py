"""20 SIGKILLs at random moments of a lifetime log, each followed by ``qled resume``.

Each kill hits ``qled run lifetime`` (simulated bench, clock ×300, a row every 2 s of stress,
flush interval 0.2 s) at a random moment: during start-up and file creation (every fifth
kill) or while it logs. Then:

* every run file opens with plain ``h5py.File(path, "r")``; if a kill tore an HDF5 write, the
  documented step ``acquisition.store.recover(path)`` (also run by ``load_run`` and
  ``qled resume``) rebuilds it from its journal first — the test counts how often;
* nothing the writer had committed is lost, and every lost row was handed to the store less
  than one flush interval (+ the commit time the writer itself measured, + 0.25 s of
  scheduling on a loaded machine) before the kill — both on the wall clock of the machine;
* ``qled resume FILE`` continues the same file to the end of the test (status finished,
  more rows, a ``resume: gap`` event, stress time strictly increasing); a file killed
  before its first row has nothing to continue and is refused with one clear line.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from acquisition.store import journal_path, load_run, recover

pytestmark = [pytest.mark.reliability,
              pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL on Linux")]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from lifetime_child import HEADER, MAX_ROWS  # noqa: E402

FLUSH_S = 0.2
SLACK_S = 0.25
KILLS = 20


def _run_args(out: Path, k: int) -> list[str]:
    return ["run", "lifetime", "--station", "sim", "--out", str(out), "--sample", f"kill{k}",
            "--current-density-mA-cm2", "2", "--log-interval-s", "2",
            "--time-scale", "300", "--max-hours", "0.25", "--flush-interval", str(FLUSH_S)]


def _kill_one(tmp: Path, k: int, rng: random.Random) -> dict:
    out = tmp / f"k{k}"
    report = tmp / f"k{k}.report"
    report.write_bytes(bytes(8 * (HEADER + MAX_ROWS)))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(HERE / "lifetime_child.py"), str(report), "--",
                             *_run_args(out, k)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if k % 5 == 0:      # start-up: imports, bench, skeleton creation
            time.sleep(rng.uniform(0.5, 3.0))
        else:               # while logging (the whole stress lasts ~3 s of wall time)
            deadline = time.monotonic() + 60
            while not list(out.glob("*.h5")) and time.monotonic() < deadline \
                    and proc.poll() is None:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 2.8))
        t_kill = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        stderr = proc.stderr.read().decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, f"kill {k}: the run ended before the kill:\n{stderr}"
    shared = np.frombuffer(report.read_bytes(), dtype=np.float64)
    return {"out": out, "t_kill": t_kill, "appended": int(shared[0]),
            "committed": int(shared[1]), "max_commit_s": float(shared[2]),
            "append_t": shared[HEADER:HEADER + int(shared[0])].copy()}


def _opens_plainly(path: Path) -> bool:
    try:
        with h5py.File(path, "r") as f:   # default locking, as pandas / HDFView open it
            int(f.attrs["rows_committed"])
            return True
    except (OSError, KeyError):
        return False


@pytest.mark.timeout(900)
def test_twenty_sigkills_lose_at_most_one_flush_interval_and_resume(tmp_path):
    rng = random.Random(20261122)
    summary = {"files": 0, "needed_recover": 0, "no_file_yet": 0, "max_loss_window_s": 0.0,
               "max_rows_lost": 0, "resumed": 0, "empty_refused": 0}
    for k in range(KILLS):
        r = _kill_one(tmp_path, k, rng)
        files = sorted(r["out"].glob("*.h5"))
        if not files:
            # killed before the skeleton was linked into place: no run file, no half file
            assert r["appended"] == 0, f"kill {k}: rows were appended but no run file exists"
            summary["no_file_yet"] += 1
            continue
        (path,) = files
        summary["files"] += 1
        if not _opens_plainly(path):
            assert journal_path(path).exists(), f"kill {k}: damaged and no journal"
            assert recover(path) is True
            summary["needed_recover"] += 1
        assert _opens_plainly(path), f"kill {k}: not readable after recover"
        run = load_run(path)
        n = len(run.data)
        assert run.status == "running"                      # killed: never finalised
        assert r["committed"] <= n <= r["appended"], (k, r["committed"], n, r["appended"])
        t = run.data["time_s"].to_numpy()
        assert np.all(np.diff(t) > 0)
        if n < r["appended"]:                               # rows lost: how old were they?
            window = r["t_kill"] - r["append_t"][n]         # the oldest lost row
            bound = FLUSH_S + 2 * r["max_commit_s"] + SLACK_S
            assert window <= bound, (f"kill {k}: a row handed to the store {window:.3f} s "
                                     f"before the kill was lost (bound {bound:.3f} s)")
            summary["max_loss_window_s"] = max(summary["max_loss_window_s"], window)
            summary["max_rows_lost"] = max(summary["max_rows_lost"], r["appended"] - n)

        res = subprocess.run([sys.executable, "-m", "qled", "resume", str(path),
                              "--flush-interval", str(FLUSH_S)], cwd=ROOT,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)),
                             capture_output=True, text=True, timeout=300)
        if n == 0:
            # killed before its first row: nothing to continue; a clear one-line refusal
            assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
            assert "cannot continue" in res.stderr and _opens_plainly(path)
            summary["empty_refused"] += 1
            continue
        assert res.returncode == 0, f"kill {k}: qled resume failed: {res.stderr[-500:]}"
        after = load_run(path)
        assert after.status == "finished" and len(after.data) > n
        t2 = after.data["time_s"].to_numpy()
        assert np.all(np.diff(t2) > 0) and t2[-1] >= 0.25 * 3600 * 0.99
        np.testing.assert_array_equal(t2[:n], t)            # the stored rows are untouched
        assert after.events["message"].str.startswith("resume: gap").any()
        summary["resumed"] += 1
    print(f"\nSIGKILL summary: {summary}", file=sys.stderr)
    assert summary["files"] >= KILLS // 2
    assert summary["resumed"] + summary["empty_refused"] == summary["files"]
