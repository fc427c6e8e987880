"""A measurement kind from a separate package (tests/plugins/qled_fixed_voltage), installed with
pip into a folder of its own, appears in every part of the program: ``qled run --help``, a run
on the simulated bench, ``qled analyze``, ``qled report``, ``qled gui`` and ``qled sim devices``
— with no change to qled-bench."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "tests" / "plugins" / "qled_fixed_voltage"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-build-isolation", "--no-index", "--target", str(target),
                           str(PLUGIN)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(target.glob("qled_fixed_voltage-*.dist-info/entry_points.txt"))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), str(ROOT)]),
                QT_QPA_PLATFORM="offscreen")


def qled(env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "qled", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_without_the_plugin_the_kind_is_not_there():
    done = qled(dict(os.environ, PYTHONPATH=str(ROOT)), "run", "--help")
    assert done.returncode == 0 and "fixed-voltage" not in done.stdout


def test_the_plugin_kind_appears_everywhere(plugin_env, tmp_path):
    helps = {cmd: qled(plugin_env, cmd, "--help") for cmd in ("run", "gui")}
    for cmd, done in helps.items():
        assert done.returncode == 0, done.stderr
        assert "fixed-voltage" in done.stdout, cmd
    options = qled(plugin_env, "run", "fixed-voltage", "--help").stdout
    assert "--voltage-V" in options and "stress:" in options and "limits and safety:" in options
    assert "fixed-voltage" in qled(plugin_env, "sim", "devices").stdout

    out = tmp_path / "runs"
    run = qled(plugin_env, "run", "fixed-voltage", "--station", "sim", "--out", out,
               "--voltage-V", 3.2, "--duration-s", 20, "--interval-s", 1, "--json")
    assert run.returncode == 0, run.stderr
    (path,) = out.glob("*.h5")
    printed = json.loads(run.stdout.splitlines()[-1])

    analysed = qled(plugin_env, "analyze", path, "--json")
    assert analysed.returncode == 0, analysed.stderr
    result = json.loads(analysed.stdout)
    assert result == printed
    from acquisition.store import load_run

    stored = load_run(path)
    assert stored.analysis["fixedvoltage"]["n_points"] == result["n_points"] >= 15
    lum = stored.data["luminance_cd_m2"].to_numpy()
    t = stored.data["time_s"].to_numpy()
    assert result["l_start_cd_m2"] == pytest.approx(lum[0], rel=1e-12) and lum[0] > 10
    slope = np.polyfit(t / 3600, 100 * lum / lum[0], 1)[0]     # independent of the plug-in
    assert result["drift_percent_per_h"] == pytest.approx(slope, rel=1e-9)

    report = qled(plugin_env, "report", out)
    assert report.returncode == 0, report.stderr
    index = Path(report.stdout.strip()).read_text()
    assert "fixedvoltage: " in index and "no report" not in index
    page = next((out / "report" / "fixedvoltage").glob("*.md"))
    assert "Luminance at fixed voltage" in page.read_text()

    gui = subprocess.run([sys.executable, "-c", (
        "from pymeasure.display.Qt import QtWidgets\n"
        "from qled.kinds import kinds\n"
        "from qled.gui import main_window\n"
        "app = QtWidgets.QApplication([])\n"
        "w = main_window(kinds()['fixed-voltage'], out_dir=r'%s')\n"
        "print(sorted(w.inputs.__dict__) and 'voltage_V' in w.procedure_class().parameter_objects())\n"
        "w.close()\n") % (tmp_path / "gui")], env=plugin_env, capture_output=True, text=True,
        timeout=120)
    assert gui.returncode == 0 and gui.stdout.strip().endswith("True"), gui.stderr
