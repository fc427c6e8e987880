"""The run engine: statuses, shutdown, signals, resume through the CLI, flat memory."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pymeasure.experiment import Procedure

from qled.cli import main as qled
from acquisition.runner import RunEngine, restore_procedure, resume_run, run_procedure
from acquisition.store import RunWriter, load_run

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import demo_procedures as dp  # noqa: E402


@pytest.fixture(autouse=True)
def _calls():
    dp.CALLS.clear()


def test_finished_run_records_everything(tmp_path):
    progress = []
    result = run_procedure(dp.RampProcedure(n_points=12), tmp_path, progress=progress.append,
                           handle_signals=False)
    assert result.status == "finished" and result.rows == 12
    assert dp.CALLS == ["startup", "execute", "shutdown"]
    assert progress[-1] == pytest.approx(100.0)
    run = load_run(result.path)
    assert result.path.name.endswith("_demo_QD_1_ramp.h5")
    np.testing.assert_allclose(run.data["current_A"], 1e-3 * 0.01 * np.arange(12), rtol=1e-12)
    assert run.attrs["procedure"] == "demo_procedures:RampProcedure"
    assert run.parameters["slope_A_V"] == {"value": 1e-3, "units": "A/V", "label": "Slope"}
    assert run.truth == {"slope_A_V": 1e-3} and run.attrs["instruments"]["smu"].startswith("SIM")
    assert np.isfinite(run.spectra[::5]).all() and np.isnan(run.spectra[1::5]).all()
    assert "startup done" in list(run.events["message"])  # emitted before the file existed


def test_abort_via_stop_flag(tmp_path):
    proc = dp.RampProcedure(n_points=10**6)
    engine = RunEngine(proc, tmp_path)
    engine.on_emit = lambda t, r: t == "results" and r["voltage_V"] >= 0.2 and engine.stop()
    result = engine.run(handle_signals=False)
    assert result.status == "aborted" and proc.status == Procedure.ABORTED
    assert dp.CALLS[-1] == "shutdown"
    run = load_run(result.path)
    assert run.status == "aborted" and 21 <= len(run.data) < 100
    assert run.events["message"].str.startswith("abort:").any()


def test_exception_fails_with_traceback_and_shutdown(tmp_path):
    result = run_procedure(dp.RampProcedure(n_points=50, fail_at=7), tmp_path,
                           handle_signals=False)
    assert result.status == "failed" and "instrument fault at point 7" in result.message
    assert dp.CALLS == ["startup", "execute", "shutdown"]
    run = load_run(result.path)
    assert len(run.data) == 7 and run.status == "failed"
    tb = run.events[run.events["level"] == "error"]["message"].iloc[0]
    assert "Traceback" in tb and "RuntimeError" in tb


def test_signal_handlers_restored(tmp_path):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    run_procedure(dp.RampProcedure(n_points=3), tmp_path)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def _start_demo(tmp_path, n, dwell):
    env = dict(os.environ, PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, str(HERE / "demo_procedures.py"), str(tmp_path),
                             str(marker), str(n), str(dwell)], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout.readline().strip() == "STARTED"
    return proc, marker


def test_sigterm_aborts_and_runs_shutdown(tmp_path):
    proc, marker = _start_demo(tmp_path, 10**6, 0.001)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out.startswith("RESULT aborted")
    assert marker.read_text() == "shutdown ran"
    run = load_run(out.split()[-1])
    assert run.status == "aborted" and len(run.data) > 10
    assert "SIGTERM" in run.events["message"].iloc[-1]


def test_resume_after_sigkill_continues_same_file(tmp_path, capsys):
    proc, marker = _start_demo(tmp_path, 10**6, 0.001)
    time.sleep(0.2)
    proc.kill()
    proc.communicate(timeout=30)
    assert not marker.exists()  # SIGKILL: no shutdown, no finalisation
    (path,) = tmp_path.glob("*.h5")
    n0 = len(load_run(path).data)
    assert n0 > 0 and load_run(path).status == "running"
    assert resume_run(path, dp.RampProcedure, handle_signals=False).status == "finished"
    run = load_run(path)
    assert run.status == "finished" and len(run.data) == n0 + 10
    np.testing.assert_allclose(run.data["voltage_V"], 0.01 * np.arange(n0 + 10), rtol=1e-12)
    assert run.events["message"].str.startswith("resume: gap").sum() == 1
    assert qled(["resume", str(path)]) == 2  # finished: one clear line, no traceback
    assert "status finished: nothing to resume" in capsys.readouterr().err


def test_cli_export(tmp_path, capsys):
    result = run_procedure(dp.RampProcedure(n_points=4), tmp_path, handle_signals=False)
    assert qled(["export", str(result.path), "--csv"]) == 0
    out = Path(capsys.readouterr().out.strip())
    assert out.read_text().startswith("#Procedure: <demo_procedures.RampProcedure>")
    assert qled(["export", str(result.path), "--csv", "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


def test_restore_procedure_round_trip():
    p = restore_procedure(dp.RampProcedure, {"n_points": 7, "slope_A_V": 2e-3, "other": 1})
    assert p.n_points == 7 and p.slope_A_V == 2e-3
    with pytest.raises(ValueError, match="not a PyMeasure Procedure class"):
        restore_procedure(dict, {})


def test_memory_flat_over_long_synthetic_run(tmp_path):
    psutil = pytest.importorskip("psutil")
    me = psutil.Process()
    w = RunWriter.create(tmp_path, procedure="m:P", sample="long",
                         columns=["time_s", "voltage_V", "current_A", "luminance_cd_m2",
                                  "cie_x", "cie_y"], flush_interval_s=0.2,
                         max_buffer_rows=5000)
    row = dict.fromkeys(w.columns, 1.0)
    for i in range(50_000):
        row["time_s"] = i
        w.append(row)
    base = me.memory_info().rss
    for i in range(50_000, 250_000):
        row["time_s"] = i
        w.append(row)
    growth_mb = (me.memory_info().rss - base) / 1e6
    w.finish()
    assert len(load_run(w.path).data) == 250_000
    assert growth_mb < 15, growth_mb  # 200k buffered rows would need > 40 MB
