"""PL-stability procedure end to end: the simulated film under the simulated CS-2000."""
import numpy as np
import pytest

from acquisition.runner import run_procedure
from acquisition.store import load_run
from reports.pl_stability import analyze_run, write_run_report
from procedures.base import build_procedure
from procedures.pl_stability import PLStabilityProcedure


def test_t50_of_the_pristine_film_matches_its_truth(tmp_path):
    proc = build_procedure(PLStabilityProcedure, {
        "station": "sim:pl_pristine", "interval_s": 300.0, "duration_s": 20000.0,
        "stop_fraction": 0.45, "relative_humidity_percent": 40.0})
    proc.sim_overrides = {"time_scale": 3600.0, "noise": True}
    result = run_procedure(proc, tmp_path, handle_signals=False)
    assert result.status == "finished", result.message
    run = load_run(result.path)
    film = run.truth["pixels"][0]["device"]
    assert film["kind"] == "pl_film"
    a = analyze_run(run)
    assert a["t50_s"] == pytest.approx(film["t50_s"], rel=0.02)
    assert a["t80_s"] == pytest.approx(film["t80_s"], rel=0.02)
    assert a["t50_from_max_s"] == pytest.approx(film["t50_from_max_s"], rel=0.02)
    assert a["peak_shift_nm"] > 1.0 and a["fwhm_change_nm"] > 1.0      # red shift, broadening
    # stopped at the fraction, not the duration
    assert run.data["relative_intensity_ratio"].iloc[-1] <= 0.45
    assert run.data["time_s"].iloc[-1] < 20000.0
    assert any("stop" in m for m in run.events["message"])
    # excitation settings and spectra are recorded with the data
    assert run.parameters["relative_humidity_percent"]["value"] == 40.0
    assert run.attrs["station"]["excitation"]["wavelength_nm"] == 365.0
    assert run.spectra.shape == (len(run.data), run.wavelength_nm.size)
    integ = np.trapezoid(run.spectra, run.wavelength_nm, axis=1)
    np.testing.assert_allclose(integ, run.data["integrated_radiance_W_sr_m2"], rtol=1e-9)
    page = write_run_report(run, tmp_path / "report")
    assert "T50" in page.read_text()


def test_interval_longer_than_duration_is_refused():
    with pytest.raises(ValueError, match="interval_s"):
        build_procedure(PLStabilityProcedure, {"interval_s": 100.0, "duration_s": 50.0})


def test_unknown_sim_film_is_refused():
    proc = build_procedure(PLStabilityProcedure, {})
    with pytest.raises(ValueError, match="station"):
        proc.simulated_bench_options("sim:pl_unknown")
