"""SCLC procedure end to end: simulated single-carrier devices over the simulated 2400."""
import sys
from pathlib import Path

import numpy as np
import pytest

from acquisition.runner import run_procedure
from acquisition.store import load_run
from reports.sclc import analyze_run, run_branches, write_run_report
from procedures.base import build_procedure
from procedures.sclc import SCLCProcedure, sclc_voltages_V

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: shared helpers
from bench_runs import run_on_bench  # noqa: E402

BASE = {"thickness_nm": 50.0, "eps_r": 25.0, "area_cm2": 0.01, "dwell_s": 0.05,
        "points_per_decade": 15, "compliance_mA": 1000.0}


def run(tmp_path, values, overrides=None):
    proc = build_procedure(SCLCProcedure, {**BASE, **values})
    proc.sim_overrides = {"time_scale": 500.0, **(overrides or {})}
    result = run_procedure(proc, tmp_path, handle_signals=False)
    assert result.status == "finished", result.message
    return load_run(result.path)


@pytest.mark.parametrize("station, dtype, thickness, vmax", [
    ("sim:electron_only_pristine", "electron-only", 50.0, 12.0),
    ("sim:hole_only", "hole-only", 35.0, 9.0)])
def test_trap_density_and_mobility_match_the_stored_truth(tmp_path, station, dtype,
                                                          thickness, vmax):
    r = run(tmp_path, {"station": station, "device_type": dtype, "thickness_nm": thickness,
                       "max_voltage_V": vmax, "sweep": "up+down"}, {"noise": True})
    device = r.truth["pixels"][0]["device"]
    assert device["kind"] == "single_carrier" and device["thickness_nm"] == thickness
    a = analyze_run(r)
    # independent of the analysis's own truth bookkeeping: compare with /truth directly
    assert a["up"]["trap_density_cm3"] == pytest.approx(device["trap_density_cm3"], rel=0.05)
    assert a["up"]["mobility_cm2_Vs"] == pytest.approx(device["mobility_cm2_Vs"], rel=0.10)
    assert a["down"]["trap_density_cm3"] == pytest.approx(device["trap_density_cm3"], rel=0.05)
    assert a["hysteresis"]["warning"] is None
    # recorded: parameters with units, the sweep both ways, per-point direction
    assert r.parameters["thickness_nm"]["units"] == "nm"
    assert r.parameters["eps_r"]["value"] == 25.0
    assert r.attrs["station"]["sclc"]["device_type"] == dtype
    assert set(run_branches(r)) == {"up", "down"}
    assert np.all(np.isnan(r.data["pulse_on_time_s"]))
    j = r.data["current_density_mA_cm2"].to_numpy()
    np.testing.assert_allclose(j, r.data["current_A"].to_numpy() * 1e3 / 0.01, rtol=1e-12)
    page = write_run_report(r, tmp_path / "report")
    text = page.read_text()
    assert "Trap density" in text and "Mott-Gurney" in text and "Child" in text
    assert any(p.suffix == ".png" for p in page.parent.iterdir())


def test_dc_hysteresis_warns_and_pulsed_mode_suppresses_it(tmp_path):
    common = {"station": "sim:electron_only", "max_voltage_V": 6.0, "sweep": "up+down",
              "points_per_decade": 12}
    dc = analyze_run(run(tmp_path, {**common, "mode": "dc"},
                         {"ion_hysteresis_fraction": 0.2, "noise": False}))
    h = dc["hysteresis"]
    assert h["v_tfl_relative_difference"] == pytest.approx(0.2, abs=0.03)
    assert "disagree" in h["warning"]
    pulsed_run = run(tmp_path, {**common, "mode": "pulsed", "nplc": 0.05,
                                "pulse_width_s": 5e-3, "rest_time_s": 0.05},
                     {"ion_hysteresis_fraction": 0.2, "noise": False, "time_scale": 20.0})
    pulsed = analyze_run(pulsed_run)
    assert pulsed["hysteresis"]["v_tfl_relative_difference"] < 0.01
    assert pulsed["hysteresis"]["warning"] is None
    # the pulses rise from the rest bias: the simulated device reads its up-step V_TFL
    truth = pulsed_run.truth["pixels"][0]["device"]
    assert pulsed["down"]["v_tfl_V"] == pytest.approx(truth["v_tfl_up_V"], rel=0.03)
    on = pulsed_run.data["pulse_on_time_s"].to_numpy()
    assert np.all(on >= 5e-3) and np.all(np.isfinite(on))
    assert pulsed_run.attrs["station"]["sclc"]["duty_cycle"] == pytest.approx(5e-3 / 0.055)


def test_negative_branch_and_compliance_turn_back(tmp_path):
    r = run(tmp_path, {"station": "sim:electron_only", "max_voltage_V": 8.0,
                       "sweep": "up+down+negative", "compliance_mA": 20.0,
                       "points_per_decade": 8}, {"noise": False})
    branches = run_branches(r)
    assert set(branches) == {"up", "down", "negative_up", "negative_down"}
    assert np.all(branches["negative_up"][0] < 0)
    # compliance 20 mA turned each branch back before 8 V
    assert np.nanmax(np.abs(r.data["set_voltage_V"])) < 8.0
    assert any("compliance" in m for m in r.events["message"])


def test_voltages_are_log_spaced_inclusive():
    v = sclc_voltages_V(0.01, 10.0, 20)
    assert v[0] == pytest.approx(0.01) and v[-1] == pytest.approx(10.0)
    assert len(v) == 61
    np.testing.assert_allclose(np.diff(np.log10(v)), 0.05)


@pytest.mark.parametrize("values, word", [
    ({"eps_r": 0.0}, "eps_r"), ({"thickness_nm": 0.0}, "thickness_nm"),
    ({"mode": "pulsed", "nplc": 1.0, "pulse_width_s": 5e-3}, "nplc"),
    ({"start_voltage_V": 20.0, "max_voltage_V": 10.0}, "start_voltage_V"),
    ({"mode": "pulsed", "rest_bias_V": 1.0, "nplc": 0.01}, "rest_bias_V")])
def test_validation_names_the_parameter(values, word):
    with pytest.raises(ValueError, match=word) as exc:
        build_procedure(SCLCProcedure, {**BASE, **values})
    assert "\n" not in str(exc.value) and "allowed" in str(exc.value)


def test_sim_station_must_match_device_type(tmp_path):
    proc = build_procedure(SCLCProcedure, {**BASE, "station": "sim:hole_only"})
    with pytest.raises(ValueError, match="device_type"):
        proc.simulated_bench_options("sim:hole_only")
    with pytest.raises(ValueError, match="station"):
        proc.simulated_bench_options("sim:nonsense")


# -- SMU error queue and open devices: faults armed in the bench's own fault plans once the
# station is connected (as tests/reliability/test_fault_matrix.py does), here from the rows
# the procedure emits, so they land at a known point of the sweep.

OPEN_WORDS = "open circuit / lost contact?"
FAULT_VALUES = {"station": "sim:electron_only", "thickness_nm": 300.0, "eps_r": 25.0,
                "area_cm2": 0.01, "max_voltage_V": 5.0, "points_per_decade": 8,
                "dwell_s": 0.0, "nplc": 0.1, "compliance_mA": 1000.0,
                "sweep": "up+down+negative"}


def _faulted_sclc(tmp_path, arm=None, overrides=None, **values):
    """Run SCLC on an in-process bench; ``arm(bench, topic, record)`` sees every record the
    procedure emits (it may arm a fault). Returns (result, run)."""
    result, run, _ = run_on_bench(
        SCLCProcedure, {**FAULT_VALUES, **values}, tmp_path,
        overrides={"time_scale": 1000.0, "noise": False, **(overrides or {})}, arm=arm)
    return result, run


def _open_events(r):
    ev = r.events
    return ev[ev["message"].str.contains(OPEN_WORDS, regex=False)]


@pytest.mark.parametrize("mode", ["dc", "pulsed"])
def test_healthy_sweep_records_no_open_circuit_and_no_instrument_error(tmp_path, mode):
    extra = {"nplc": 0.05, "pulse_width_s": 5e-3, "rest_time_s": 0.01} if mode == "pulsed" \
        else {}
    result, r = _faulted_sclc(tmp_path, overrides={"noise": True}, mode=mode, **extra)
    assert result.status == "finished", result.message
    assert len(r.data) == 4 * 23
    messages = list(r.events["message"])
    assert not [m for m in messages if OPEN_WORDS in m or "error queue" in m], messages


def test_open_device_mid_sweep_is_one_warning_and_the_sweep_goes_on(tmp_path):
    """Open on the up branch: one collapse warning; the negative up branch, all ~0 A, adds
    no "no device current" warning (the same fault)."""
    from simulators.faults import Fault

    armed = []

    def arm(bench, topic, record):
        if topic == "results" and not armed and record["direction"] > 0 \
                and record["current_A"] > 1e-7:
            pixel = bench.selected_pixel
            pixel.faults.faults = (Fault("open", pixel=pixel.index,
                                         at_time_s=bench.clock.time()),)
            armed.append(record["current_A"])

    result, r = _faulted_sclc(tmp_path, arm)
    assert result.status == "finished", result.message
    assert armed and len(r.data) == 4 * 23
    hits = _open_events(r)
    assert len(hits) == 1 and set(hits["level"]) == {"warning"}
    message = hits["message"].iloc[0]
    assert message.startswith(f"current collapsed from {armed[0]:.3g} A to ")
    assert "on the up sweep" in message
    i = r.data["current_A"].abs().to_numpy()
    k = int(np.argmax(i < 1e-9))
    assert i[k - 1] == pytest.approx(armed[0]) and (i[k:] < 1e-9).all()
    assert f"at V = {r.data['set_voltage_V'].iloc[k]:g} V" in message


def test_device_open_from_the_start_is_one_no_current_warning(tmp_path):
    from simulators.faults import Fault

    def arm(bench, topic, record):
        pixel = bench.selected_pixel
        if not pixel.faults.faults:
            pixel.faults.faults = (Fault("open", pixel=pixel.index, at_time_s=0.0),)

    result, r = _faulted_sclc(tmp_path, arm)
    assert result.status == "finished", result.message
    hits = _open_events(r)
    assert list(hits["message"]) == [
        "no device current: |I| < 1e-09 A on the whole up sweep up to 5 V (a contacted film "
        "conducts ≥ 1e-09 A by 1 V): open circuit / lost contact?"]
    assert set(hits["level"]) == {"warning"}


def test_queued_smu_error_is_a_warning_and_the_sweep_goes_on(tmp_path):
    from simulators.faults import Fault

    armed = []

    def arm(bench, topic, record):
        if topic == "results" and record["direction"] < 0 and not armed:
            plan = bench.instrument("smu").faults      # the plan the transport consults
            plan.faults = (Fault("error", instrument="smu", at_command=plan.commands_seen + 1,
                                 code=-222, message="Data out of range", count=2),)
            armed.append(plan)

    result, r = _faulted_sclc(tmp_path, arm)
    assert result.status == "finished", result.message
    ev = r.events
    hits = ev[ev["message"].str.contains("instrument error", regex=False)]
    assert list(hits["message"]) == 2 * [
        "smu: instrument error -222, Data out of range (error queue read after the down "
        "sweep); measurement continues"]
    assert set(hits["level"]) == {"warning"}
    assert len(r.data) == 4 * 23 and len(_open_events(r)) == 0
