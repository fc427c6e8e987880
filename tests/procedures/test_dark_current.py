"""Photodiode dark current end to end: read with the LED's source off (the simulator records
it), stored as events, subtracted live and interpolated by the analysis, drift reported;
J-V-L and lifetime on the simulated bench against the device's truth, and a resume."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from acquisition.runner import RunEngine, resume_run, run_procedure
from acquisition.store import load_run
from analysis import lifetime as lt
from instruments.simulated import build_device
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure
from procedures.lifetime import LifetimeProcedure
from reports.dark_current import dark_readings, dark_summary
from reports.jvl import analyze_jvl_run, run_curves, write_run_report
from reports.lifetime import analyze_run
from reports.lifetime import write_run_report as write_lifetime_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: shared helpers
from bench_runs import run_on_bench  # noqa: E402

#: A dark current far above the dim points' photocurrent (≈ 0.3 nA per cd/m² here), drifting
#: by 0.1 nA/s: a start-only subtraction would be off by ~1 nA at the end of the sweep.
BIG_DARK = {"photodiode_dark_current_A": 2e-9, "photodiode_dark_drift_A_per_h": 3.6e-7}
JVL = {"station": "sim", "sample": "d", "start_voltage_V": 2.0, "stop_voltage_V": 4.5,
       "step_voltage_V": 0.05, "dwell_s": 0.0, "nplc": 0.1, "directions": "forward",
       "light_route": "photodiode", "spectrum_every": 0}


def _jvl(tmp_path, overrides, **values):
    proc = build_procedure(JVLProcedure, {**JVL, **values})
    proc.sim_overrides = dict(overrides)
    result = run_procedure(proc, tmp_path, flush_interval_s=0.2, handle_signals=False)
    assert result.status == "finished", result.message
    return load_run(result.path), proc


def test_dark_reading_is_taken_with_the_led_source_off(tmp_path):
    loads = []

    def grab(bench, topic, record):
        if not loads:
            loads.append(bench._channels[0].photodiode_load)

    result, run, _ = run_on_bench(JVLProcedure, {**JVL, "dark_current_readings": 7}, tmp_path,
                                  overrides={"time_scale": 50.0, "noise": True}, arm=grab)
    assert result.status == "finished"
    # one apply per reading, and one as the reader's output came on at connect (0 V)
    connect, *history = list(loads[0].history)
    lit = int(np.isfinite(run.data["photocurrent_A"]).sum())
    assert len(history) == 7 + lit + 7 and not connect[1]
    # the simulator saw the pixel undriven during both dark readings, driven in between
    assert not any(driven for _, driven, _ in history[:7] + history[-7:])
    assert all(driven for _, driven, _ in history[7:-7])
    r = dark_readings(run)
    assert list(r["label"]) == ["start", "end"] and list(r["n"]) == [7, 7]
    # each reading is the true dark current (20 pA + 2 pA/h) within its noise (2 pA floor)
    true_start = np.mean([i for _, _, i in history[:7]])    # the simulator's, noise-free
    assert true_start == pytest.approx(20e-12, rel=1e-3)
    assert r["current_A"][0] == pytest.approx(true_start, abs=3e-12)   # 4 σ of 7 readings
    assert 0 < r["std_A"][0] < 5e-12
    # the live value subtracted is the start reading, in every lit row
    live = run.data["dark_current_A"].to_numpy(float)
    assert np.allclose(live[np.isfinite(run.data["photocurrent_A"])], r["current_A"][0])


def test_jvl_photodiode_route_recovers_the_truth_under_a_large_dark_current(tmp_path):
    overrides = {"time_scale": 1.0, "noise": False, **BIG_DARK}
    probe = build_procedure(JVLProcedure, JVL)
    spec = probe.simulated_bench_options("sim")["devices"][0]
    device = build_device(spec)
    truth = device.truth()
    shape = {"assumed_peak_nm": truth["el_peak_nm"], "assumed_fwhm_nm": truth["el_fwhm_nm"]}
    run, _ = _jvl(tmp_path / "on", overrides, **shape)
    raw, _ = _jvl(tmp_path / "off", overrides, dark_current_readings=0, **shape)
    assert not len(dark_readings(raw)["time_s"])             # switched off: nothing recorded

    def rows(r):
        d = r.data[np.isfinite(r.data["photocurrent_A"])]
        return d, np.asarray(device.luminance_cd_m2(d["current_A"].to_numpy(), aged=False))

    d, l_true = rows(run)
    curves = run_curves(run)
    lum = np.interp(d["voltage_V"], curves.voltage_V, curves.luminance_cd_m2)
    dim = (l_true > 0.3) & (l_true < 30.0)                   # photocurrent 0.1 … 10 nA
    assert dim.sum() >= 5
    np.testing.assert_allclose(lum[dim], l_true[dim], rtol=0.03)      # corrected: truth
    d_raw, l_raw_true = rows(raw)
    dim_raw = (l_raw_true > 0.3) & (l_raw_true < 3.0)
    assert np.all(d_raw["luminance_cd_m2"].to_numpy()[dim_raw] > 2 * l_raw_true[dim_raw])
    # the live values (start reading only) drift away by the end; the analysis does not
    live_err = d["luminance_cd_m2"].to_numpy()[dim] / l_true[dim] - 1
    assert np.max(np.abs(live_err)) > 0.05
    # EQE at low J recovers the truth (Lambertian, the pixel's own η(J))
    j = curves.current_density_mA_cm2
    low = (curves.luminance_cd_m2 > 0.3) & (curves.luminance_cd_m2 < 30.0)
    eqe_true = 100 * np.asarray(device.eqe_fraction(j[low], aged=False))
    np.testing.assert_allclose(curves.eqe_percent[low], eqe_true, rtol=0.03)
    # the drift is reported: 0.1 nA/s over the sweep, against the smallest photocurrent
    s = analyze_jvl_run(run)
    r = dark_readings(run)
    duration = r["time_s"][-1] - r["time_s"][0]
    assert s["dark_current_drift_A"] == pytest.approx(1e-10 * duration, rel=0.05)
    assert 2e-9 < s["dark_current_start_A"] < 2e-9 + 1e-10 * r["time_s"][0] + 1e-11
    assert s["dark_drift_fraction"] > 0.05 and "drifted" in s["dark_drift_warning"]
    page = write_run_report(run, tmp_path / "report").read_text()
    assert "**Warning:** photodiode dark current drifted" in page


LIFETIME = {"station": "sim", "sample": "dl", "l0_cd_m2": 1000.0, "log_interval_s": 2.0,
            "max_hours": 3.0}


def test_lifetime_rows_corrected_and_drift_reported(tmp_path):
    """0.1 µA of dark current (≈ 6 % of L0's photocurrent) drifting by 60 nA/h: the live
    L/L0 reads high by the end; the analysis recovers L0 and T50 of the truth."""
    proc = build_procedure(LifetimeProcedure, LIFETIME)
    proc.sim_overrides = {"time_scale": 1500.0, "photodiode_dark_current_A": 1e-7,
                          "photodiode_dark_drift_A_per_h": 6e-8}
    result = run_procedure(proc, tmp_path, flush_interval_s=0.2, handle_signals=False)
    assert result.status == "finished", result.message
    run = load_run(result.path)
    r = dark_readings(run)
    assert list(r["label"]) == ["start", "end"]
    assert r["time_s"][0] == 0.0 and r["time_s"][1] == pytest.approx(run.data["time_s"].iloc[-1])
    # 0.1 µA at bench time 0, plus the drift while the station came up (on the fast clock)
    assert 1e-7 < r["current_A"][0] < 1e-7 + 6e-8 * 0.5
    live = run.data["dark_current_A"].to_numpy(float)
    assert np.allclose(live, r["current_A"][0])
    a = analyze_run(run)
    assert a["l0_cd_m2"] == pytest.approx(a["truth_l0_cd_m2"], rel=0.03)
    assert a["t50_h"] == pytest.approx(a["truth_t50_h"], rel=0.03)
    # uncorrected for the drift (the live column), T50 comes out late
    t, lum = run.data["time_s"].to_numpy(float), run.data["luminance_cd_m2"].to_numpy(float)
    t50_live_h = lt.lifetime_summary(t, lum)["initial"]["t50_s"] / 3600
    assert t50_live_h > 1.1 * a["truth_t50_h"]          # measured: 1.38 × the truth
    hours = (r["time_s"][1] - r["time_s"][0]) / 3600
    assert a["dark_current_drift_A"] == pytest.approx(6e-8 * hours, rel=0.05)
    assert a["dark_drift_fraction"] > 0.05 and a["dark_drift_warning"]
    page = write_lifetime_report(run, tmp_path / "report").read_text()
    assert "dark current drifted" in page


def test_resumed_lifetime_takes_a_new_dark_reading(tmp_path):
    proc = build_procedure(LifetimeProcedure, {**LIFETIME, "dark_current_readings": 4})
    proc.sim_overrides = {"time_scale": 1500.0}
    engine = None

    def stop_after(topic, record):
        if topic == "results" and engine is not None and record["time_s"] >= 20.0:
            engine.stop()

    engine = RunEngine(proc, tmp_path, on_emit=stop_after, flush_interval_s=0.1)
    first = engine.run(handle_signals=False)
    assert first.status == "aborted"
    result = resume_run(first.path, LifetimeProcedure, flush_interval_s=0.2,
                        handle_signals=False)
    assert result.status == "finished", result.message
    run = load_run(first.path)
    r = dark_readings(run)
    assert list(r["label"]) == ["start", "end", "resume", "end"]
    assert list(r["n"]) == [4, 4, 4, 4]
    # the resume reading sits where stress time continues, before the next row
    stored_end = r["time_s"][1]
    assert stored_end <= r["time_s"][2] < run.data["time_s"][run.data["time_s"] > stored_end].iloc[0]
    # the rows after the resume subtract the resume reading live
    after = run.data["time_s"].to_numpy() > r["time_s"][2]
    assert np.allclose(run.data["dark_current_A"].to_numpy()[after], r["current_A"][2])
    assert dark_summary(run)["dark_readings"] == 4
