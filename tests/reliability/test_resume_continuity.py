"""Resume checks continuity (issue 18): before stress resumes, the pixel is measured once and
compared with the last stored rows. Seen: after the instrument side was restarted, `qled
resume` continued with L/L0 jumping 0.592 → 1.005 and V 4.20 → 3.95 V without a word, and T50
was computed across the splice.

A lifetime run against a served bench (``qled sim serve``) is stopped; (a) resumed against the
same server it continues (continuity checked, recorded); (b) after the server is restarted (a
fresh pixel, as a swapped or mis-wired one on hardware) `qled resume` refuses in one line with
the figures and leaves the file as it was; `--accept-discontinuity` continues, records a
``discontinuity`` event, and the analysis computes T_x on the segment before it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from acquisition.runner import RunEngine
from acquisition.store import load_run
from procedures.base import build_procedure
from procedures.lifetime import LifetimeProcedure
from reports.lifetime import analyze_run

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
SCALE = 300.0


def serve(station: Path):
    for p in (station, station.with_suffix(".truth.json")):
        p.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "qled", "sim", "serve", "--json",
                             "--no-noise", "--time-scale", str(SCALE), "--station-out",
                             str(station)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=ENV)
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    json.loads(line)
    return proc


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)


def stopped_run(station: Path, out: Path, rows: int = 30) -> Path:
    values = {"station": str(station), "sample": "cont", "current_density_mA_cm2": 5.0,
              "log_interval_s": 5.0, "max_hours": 2.0}
    proc = build_procedure(LifetimeProcedure, values)
    seen = threading.Event()
    count = []

    def on_emit(topic, record):
        if topic == "results":
            count.append(1)
            if len(count) >= rows:
                seen.set()

    engine = RunEngine(proc, out, flush_interval_s=0.2, on_emit=on_emit)
    timer = threading.Thread(target=lambda: (seen.wait(120), engine.stop()))
    timer.start()
    try:
        result = engine.run(handle_signals=False)
    finally:
        seen.set()
        timer.join()
    assert result.status == "aborted", result.message
    return Path(result.path)


def qled(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "qled", *map(str, args)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(300)
def test_resume_on_the_same_pixel_checks_continuity_and_goes_on(tmp_path):
    station = tmp_path / "bench.toml"
    server = serve(station)
    try:
        path = stopped_run(station, tmp_path / "runs")
        n0 = len(load_run(path).data)
        done = qled("resume", path, "--flush-interval", "0.2")
    finally:
        stop_server(server)
    assert done.returncode == 0, done.stderr
    run = load_run(path)
    assert run.status == "finished" and len(run.data) > n0
    messages = " | ".join(run.events["message"])
    assert "resume: continuity checked" in messages and "discontinuity" not in messages


@pytest.mark.timeout(300)
def test_a_different_pixel_is_refused_unless_accepted_and_then_the_analysis_splits(tmp_path):
    station = tmp_path / "bench.toml"
    server = serve(station)
    try:
        path = stopped_run(station, tmp_path / "runs", rows=40)
    finally:
        stop_server(server)
    before = load_run(path)
    server = serve(station)                    # restarted: a fresh pixel behind the address
    try:
        refused = qled("resume", path)
        after = load_run(path)
        accepted = qled("resume", path, "--accept-discontinuity", "--flush-interval", "0.2")
    finally:
        stop_server(server)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()[-1:]
    assert line.startswith("qled: error: resume refused: the pixel does not continue")
    assert "cd/m² against" in line and "V against" in line and "--accept-discontinuity" in line
    assert len(after.data) == len(before.data) and after.status == before.status
    assert list(after.events["message"]) == list(before.events["message"])

    assert accepted.returncode == 0, accepted.stderr
    run = load_run(path)
    assert run.status == "finished" and len(run.data) > len(before.data)
    (event,) = [m for m in run.events["message"] if m.startswith("discontinuity at t = ")]
    cut = float(event.split()[4])
    assert cut == pytest.approx(before.data["time_s"].iloc[-1], rel=1e-8)   # printed to 9 digits
    a = analyze_run(run)
    assert a["discontinuity_at_h"] == pytest.approx(cut / 3600)
    assert a["segment_note"].startswith("T_x and the fit use the data up to")
    b = analyze_run(before)                    # the same data up to the cut
    for key in ("l0_cd_m2", "t95_h", "t90_h", "t80_h", "t50_h", "tau_h", "beta", "n_points"):
        assert a[key] == pytest.approx(b[key], rel=1e-9, nan_ok=True), key
