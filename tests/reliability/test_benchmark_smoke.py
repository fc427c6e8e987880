"""CI smoke run of the performance report: ``benchmarks/run.py --quick --json``.

Checks that every section runs and reports a figure beside its baseline (``qled demo`` is
left to the full report: it takes a minute and more). Targets are not asserted here —
speed is measured in benchmarks/, not in tests — but a section that crashes fails.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_quick_report_measures_every_section():
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                          "--json", "--only", "simulator,point_rate,store,live_plot,analysis"],
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         capture_output=True, text=True, timeout=600)
    assert res.returncode in (0, 1), res.stderr[-2000:]      # 1: a target missed
    report = json.loads(res.stdout)
    figures = {f["measure"]: f for f in report["figures"]}
    assert len(figures) == 9, list(figures)
    for name, f in figures.items():
        assert "error" not in f["details"], f"{name}: {f['details']['error']}"
        assert math.isfinite(f["ours"]) and f["ours"] > 0, name
        assert f["passed"] in (True, False, None)
    rate = figures["J-V-L point rate vs raw socket"]
    assert 0 < rate["ratio"] < 5 and rate["baseline"] > 0        # a ratio, not a unit slip
    store = next(f for n, f in figures.items() if n.startswith("store cost"))
    assert store["ratio"] == pytest.approx(
        store["details"]["qled_us_per_row"] / store["details"]["csv_us_per_row"], rel=0.5)
