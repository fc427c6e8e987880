"""`qled run <procedure>` then `qled analyze FILE --json` as a user types them, for DLCP, C-V,
SCLC and PL stability (J-V-L and lifetime have their own CLI tests): each run finishes, its
JSON figures match the simulated device's truth, and equal what was stored in /analysis."""
import json
import subprocess
import sys

import numpy as np
import pytest

from acquisition.store import load_run

CASES = {
    "dlcp": ["--station", "sim:uniform_junction", "--eps-r", "25",
             "--frequencies-Hz", "1000,100000", "--v-max-V=0", "--time-scale", "1000"],
    "cv": ["--station", "sim:uniform_junction", "--eps-r", "25", "--time-scale", "1000"],
    "sclc": ["--station", "sim:electron_only", "--device-type", "electron-only",
             "--thickness-nm", "50", "--eps-r", "25", "--time-scale", "1000"],
    "pl-stability": ["--station", "sim:pl_pristine", "--interval-s", "300",
                     "--duration-s", "14400", "--time-scale", "5000"],
}


def _qled(*args):
    return subprocess.run([sys.executable, "-m", "qled", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("procedure", sorted(CASES))
def test_run_then_analyze_json_against_truth(tmp_path, procedure):
    out = tmp_path / "runs"
    done = _qled("run", procedure, "--out", str(out), "--sample", "cli", *CASES[procedure])
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("*.h5")
    done = _qled("analyze", str(path), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    run = load_run(path)
    assert run.status == "finished"
    stored = next(iter(run.analysis.values()))
    if procedure == "dlcp":
        # Uniform junction: N_DL at every frequency equals the doping (the truth profile).
        n_true = np.median(result["truth"]["profile_n_true_cm3"])
        assert np.allclose(result["n_dl_cm3"], n_true, rtol=0.05)
        assert stored["n_dl_cm3"] == pytest.approx(result["n_dl_cm3"])
    elif procedure == "cv":
        f = result["per_frequency"][0]
        assert f["median_n_cv_reverse_cm3"] == pytest.approx(np.median(f["truth"]["n_true_cm3"]),
                                                             rel=0.05)
        assert stored["per_frequency"][0]["median_n_cv_reverse_cm3"] == \
            pytest.approx(f["median_n_cv_reverse_cm3"])
    elif procedure == "sclc":
        truth = result["truth"]
        assert result["up"]["trap_density_cm3"] == pytest.approx(truth["trap_density_cm3"],
                                                                 rel=0.05)
        assert result["up"]["mobility_cm2_Vs"] == pytest.approx(truth["mobility_cm2_Vs"],
                                                                rel=0.1)
        assert stored["up"]["trap_density_cm3"] == pytest.approx(result["up"]["trap_density_cm3"])
    else:
        assert result["t50_s"] == pytest.approx(result["truth"]["t50_s"], rel=0.02)
        assert result["t80_s"] == pytest.approx(result["truth"]["t80_s"], rel=0.02)
        assert stored["t50_s"] == pytest.approx(result["t50_s"])
