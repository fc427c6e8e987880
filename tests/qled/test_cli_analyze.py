"""``qled analyze FILE`` on an interrupted run (status ``running``): the analysis is printed,
one line says it was not stored (and how to continue), exit 0, no traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from acquisition.store import load_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: shared helpers
from bench_runs import sigkill_once_logged  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL on Linux")


def qled(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "qled", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=ENV)


@pytest.fixture(scope="module")
def killed_lifetime_run(tmp_path_factory):
    """A lifetime run SIGKILLed once it has logged a dozen rows: status stays ``running``."""
    out = tmp_path_factory.mktemp("killed")
    cmd = [sys.executable, "-m", "qled", "run", "lifetime", "--station", "sim",
           "--out", str(out), "--sample", "killed", "--l0-cd-m2", "2000",
           "--log-interval-s", "5", "--time-scale", "100", "--flush-interval", "0.1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    rows = sigkill_once_logged(proc, out, 12, timeout_s=90)
    assert rows >= 12, "the lifetime run never logged"
    (path,) = out.glob("*.h5")
    run = load_run(path)
    assert run.status == "running" and run.analysis == {}
    return path


def _one_interrupted_line(stderr: str, path: Path) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert path.name in line and "interrupted" in line and "not stored" in line
    assert line.endswith(f"qled resume {path}")
    return line


def test_interrupted_run_json_is_printed_not_stored(killed_lifetime_run):
    path = killed_lifetime_run
    done = qled("analyze", path, "--json")
    assert done.returncode == 0, done.stderr
    line = _one_interrupted_line(done.stderr, path)
    n_rows = len(load_run(path).data)
    assert f"status running, {n_rows} rows" in line
    result = json.loads(done.stdout)             # stdout is the JSON object alone
    assert result["n_points"] == n_rows
    assert result["l0_cd_m2"] == pytest.approx(2000, rel=0.05)
    assert result["t95_h"] > 0
    run = load_run(path)
    assert run.status == "running" and run.analysis == {}   # nothing written to the file


def test_interrupted_run_text_is_printed_not_stored(killed_lifetime_run):
    path = killed_lifetime_run
    done = qled("analyze", path)
    assert done.returncode == 0, done.stderr
    _one_interrupted_line(done.stderr, path)
    keys = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    assert {"l0_cd_m2", "n_points", "t95_h", "t50_note", "stop_reason"} <= keys
    assert load_run(path).analysis == {}


def test_finished_run_is_still_stored(tmp_path):
    # the usual path is unchanged: a finished run's analysis lands in its /analysis
    from acquisition.runner import run_procedure
    from procedures.base import build_procedure
    from procedures.sclc import SCLCProcedure

    proc = build_procedure(SCLCProcedure, {"station": "sim:electron_only", "sample": "fin",
                                           "thickness_nm": 50.0, "eps_r": 25.0,
                                           "area_cm2": 0.01, "dwell_s": 0.05,
                                           "points_per_decade": 8, "max_voltage_V": 8.0})
    proc.sim_overrides = {"time_scale": 500.0, "noise": False}
    result = run_procedure(proc, tmp_path, handle_signals=False)
    assert result.status == "finished", result.message
    done = qled("analyze", result.path, "--json")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    printed, stored = json.loads(done.stdout), load_run(result.path).analysis["sclc"]
    assert set(stored) == set(printed)
    numbers = [k for k, v in printed.items() if isinstance(v, float)]
    assert numbers and all(stored[k] == pytest.approx(printed[k], nan_ok=True) for k in numbers)


@pytest.mark.parametrize("content", [b"not an HDF5 file\n", b""])
def test_not_a_run_file_is_one_line(tmp_path, content):
    path = tmp_path / "junk.h5"
    path.write_bytes(content)
    done = qled("analyze", path)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a readable run file" in lines[0] and "junk.h5" in lines[0]
