"""The environment beside the data: lifetime rows carry it, every other run records it at its
start and end, and the lifetime report warns when the device heated beyond the threshold."""
from __future__ import annotations

import math

import numpy as np
import pytest

from acquisition.runner import run_procedure
from acquisition.store import load_run
from analysis.environment import lifetime_environment, parse_environment_events
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure
from procedures.lifetime_channels import run_channels
from reports.lifetime import analyze_run, write_run_report

AMBIENT = {"temperature_C": 24.0, "rh_percent": 45.0, "drift_K_per_h": 0.0,
           "drift_rh_percent_per_h": 0.0}


def _lifetime(tmp_path, **values):
    base = {"station": "sim", "sample": "env", "pixel": 1, "log_interval_s": 5.0,
            "max_hours": 0.25}
    base.update(values)
    [result] = run_channels([base], tmp_path, overrides={"time_scale": 600.0, "noise": False,
                                                          "ambient": AMBIENT},
                            handle_signals=False)
    assert result.status == "finished", result.message
    return load_run(result.path)


def test_lifetime_rows_carry_the_environment_and_a_gentle_stress_gives_no_warning(tmp_path):
    run = _lifetime(tmp_path, l0_cd_m2=1000.0)
    d = run.data
    for col in ("device_temperature_C", "ambient_temperature_C", "ambient_rh_percent"):
        assert np.isfinite(d[col]).all(), col
    assert run.units["device_temperature_C"] == "degC"
    assert (d["ambient_temperature_C"] == 24.0).all() and (d["ambient_rh_percent"] == 45.0).all()
    # truth: at the stress's steady state ΔT = R_th·I·V (80 K/W default), within 1 %
    late = d["time_s"] > 300.0               # ≥ 10 τ after the stress started
    power = (d["current_A"] * d["voltage_V"])[late]
    rise = (d["device_temperature_C"] - 24.0)[late]
    assert np.allclose(rise, 80.0 * power, rtol=0.01, atol=2e-4)
    a = analyze_run(run)["environment"]
    assert a["warning"] is None and a["device"]["change_K"] < 1.0
    assert set(a["records"]) == {"start", "end"}


def test_report_warns_when_the_device_heats_beyond_the_threshold(tmp_path):
    # 400 mA/cm² on 0.04 cm² (16 mA at ~5 V ≈ 80 mW): ≈ 6 K over ambient (R_th 80 K/W)
    run = _lifetime(tmp_path, current_density_mA_cm2=400.0, max_temperature_change_K=2.0,
                    max_hours=0.1)
    env = analyze_run(run)["environment"]
    truth = run.truth["environment"]["pixels"][0]
    assert truth["r_th_K_W"] == 80.0 and truth["tau_s"] == 30.0
    assert env["device"]["change_K"] > 2.0 and env["max_temperature_change_K"] == 2.0
    assert "moved by" in env["warning"] and "max_temperature_change_K = 2 K" in env["warning"]
    page = write_run_report(run, tmp_path / "report", html_too=False)
    text = page.read_text(encoding="utf-8")
    assert "Warning: device temperature moved by" in text
    assert "temperature" in text and (page.parent / f"{page.stem}_temperature.png").exists() \
        or any("temperature" in p.name for p in page.parent.iterdir())


def test_jvl_records_the_environment_at_start_and_end(tmp_path):
    proc = build_procedure(JVLProcedure, {"station": "sim", "sample": "t",
                                          "start_voltage_V": 2.0, "stop_voltage_V": 4.5,
                                          "step_voltage_V": 0.1, "dwell_s": 0.0, "nplc": 0.1,
                                          "directions": "forward"})
    proc.sim_overrides = {"time_scale": 200.0, "noise": False, "ambient": AMBIENT}
    result = run_procedure(proc, tmp_path, flush_interval_s=0.2, handle_signals=False)
    assert result.status == "finished"
    run = load_run(result.path)
    records = parse_environment_events(run.events["message"], run.events["time_s"])
    assert set(records) == {"start", "end"}
    assert records["start"]["ambient_temperature_C"] == 24.0
    assert records["end"]["ambient_rh_percent"] == 45.0
    assert records["start"]["device_temperature_C"] == pytest.approx(24.0, abs=0.01)
    assert records["end"]["time_s"] >= records["start"]["time_s"]


def test_a_station_without_environment_sensors_records_nan_and_says_so_once():
    class Bare:                     # a station with neither thermometer nor ambient
        channels = []
        clock = None

    proc = build_procedure(JVLProcedure, {"station": "sim"})
    proc._station = Bare()
    first, second = proc.record_environment("start"), proc.record_environment("end")
    assert all(math.isnan(v) for v in first.values()) and all(math.isnan(v) for v in second.values())
    notes = [e for e in proc._events if e["message"].startswith("environment: no ")]
    assert len(notes) == 1 and "no thermometer and no ambient" in notes[0]["message"]


def test_excursion_analysis_against_an_independent_computation():
    t = np.linspace(0, 7200, 721)
    dev = 25.0 + 3.0 * t / 7200 + 0.5 * np.sin(t / 300)
    env = lifetime_environment(t, dev, np.full_like(t, 22.0), np.full_like(t, 40.0),
                               max_temperature_change_K=5.0)
    assert env["device"]["excursion_K"] == pytest.approx(dev.max() - dev.min())
    assert env["device"]["drift_K_per_h"] == pytest.approx(np.polyfit(t / 3600, dev, 1)[0])
    assert env["warning"] is None
    assert lifetime_environment(t, dev, max_temperature_change_K=2.0)["warning"]
    with pytest.raises(ValueError, match="max_temperature_change_K"):
        lifetime_environment(t, dev, max_temperature_change_K=0.0)


def test_a_resumed_file_that_predates_the_environment_columns_gets_none_of_them():
    from procedures.lifetime import LifetimeProcedure

    class Bare:
        channels = []

    proc = build_procedure(LifetimeProcedure, {"station": "sim", "l0_cd_m2": 1000.0})
    proc._station = Bare()
    assert set(proc.environment_row()) == {"device_temperature_C", "ambient_temperature_C",
                                           "ambient_rh_percent"}
    proc._stored_columns = {"time_s", "voltage_V", "luminance_cd_m2"}   # as resume_from sets
    assert proc.environment_row() == {}
