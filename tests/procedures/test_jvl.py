"""J-V-L end to end: procedure → simulated bench over real transports → HDF5 → analysis.

The truth is the simulated pixel's own (stored in the run's /truth), so a unit slip
anywhere in the chain (mA vs A, cm² vs m², rms vs peak) shows up as a failed tolerance.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from acquisition.runner import run_procedure
from acquisition.store import load_run
from reports.jvl import analyze_jvl_run
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure, sweep_voltages_V

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: shared helpers
from bench_runs import run_on_bench  # noqa: E402

FAST = {"time_scale": 200.0, "noise": False}


def run_jvl(tmp_path, overrides=FAST, **values):
    base = {"station": "sim", "sample": "t", "start_voltage_V": 2.0, "stop_voltage_V": 4.5,
            "step_voltage_V": 0.05, "dwell_s": 0.0, "nplc": 0.1, "directions": "forward"}
    base.update(values)
    proc = build_procedure(JVLProcedure, base)
    proc.sim_overrides = dict(overrides)
    return run_procedure(proc, tmp_path, flush_interval_s=0.2, handle_signals=False), proc


def device_truth(run):
    return run.truth["pixels"][0]["device"]


def test_sweep_voltages_inclusive_and_reversed():
    np.testing.assert_allclose(sweep_voltages_V(0, 1, 0.25), [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(sweep_voltages_V(1, 0, 0.4), [1.0, 0.6, 0.2, 0.0])


def test_truth_recovered_through_the_whole_chain(tmp_path):
    """Spectroradiometer route: turn-on, EL peak and CIE to the issue's tolerances.

    The CS-2000 needs ~1 s per bright point, and the simulated pixel ages while driven
    (stretched exponential, β = 0.6: the first per cent goes fast). By the EQE maximum
    (~600 cd/m²) the pixel has lost 1–3 % — a real effect of slow sweeps, which the
    fast photodiode-route test below avoids. Here EQE/CE may only be lower than the fresh
    truth, by less than 5 %.
    """
    result, _ = run_jvl(tmp_path)
    assert result.status == "finished"
    run = load_run(result.path)
    truth = device_truth(run)
    s = analyze_jvl_run(run)
    ratio = s["max_eqe_percent"] / truth["eqe_max_percent"]
    assert 0.95 < ratio <= 1.001
    assert s["max_current_efficiency_cd_A"] / truth["current_efficiency_max_cd_A"] == \
        pytest.approx(ratio, rel=2e-3)   # same spectrum: EQE/CE is a constant
    assert s["turn_on_voltage_V"] == pytest.approx(truth["turn_on_voltage_V"], rel=0.01)
    assert s["el_peak_nm"] == pytest.approx(truth["el_peak_nm"], rel=0.01)
    assert s["cie_x"] == pytest.approx(truth["cie_x"], abs=0.005)
    assert s["cie_y"] == pytest.approx(truth["cie_y"], abs=0.005)
    # what a reviewer asks for is in the record
    assert run.parameters["area_cm2"]["value"] == pytest.approx(0.04)
    sweep = json.loads(run.attrs["station"])["sweep"] if isinstance(run.attrs["station"], str) \
        else run.attrs["station"]["sweep"]
    assert sweep["directions"] == "forward" and sweep["detector"]
    assert run.spectra.shape == (len(run.data), 401)
    assert run.attrs["simulated"] in (True, 1, "true")


@pytest.mark.parametrize("noise", [False, True])
def test_fast_sweep_recovers_eqe_and_ce_within_one_percent(tmp_path, noise):
    """Photodiode route (a few ms per point: no ageing to speak of) on the default device,
    the reference line at the pixel's EL peak: EQE max, CE max, turn-on within 1 %."""
    probe, _ = run_jvl(tmp_path / "probe", light_route="none", stop_voltage_V=2.1,
                       step_voltage_V=0.1)
    truth = device_truth(load_run(probe.path))
    result, _ = run_jvl(tmp_path, overrides={"time_scale": 1.0, "noise": noise},
                        light_route="photodiode", nplc=0.1,
                        assumed_peak_nm=truth["el_peak_nm"], assumed_fwhm_nm=truth["el_fwhm_nm"])
    run = load_run(result.path)
    s = analyze_jvl_run(run)
    assert device_truth(run)["eqe_max_percent"] == truth["eqe_max_percent"]  # same pixel
    assert s["max_eqe_percent"] == pytest.approx(truth["eqe_max_percent"], rel=0.01)
    assert s["max_current_efficiency_cd_A"] == pytest.approx(
        truth["current_efficiency_max_cd_A"], rel=0.01)
    assert s["turn_on_voltage_V"] == pytest.approx(truth["turn_on_voltage_V"], rel=0.01)


def test_hysteresis_reverse_branch_and_output_off(tmp_path):
    result, proc = run_jvl(tmp_path, directions="forward+reverse", step_voltage_V=0.25,
                           light_route="photodiode")
    run = load_run(result.path)
    d = run.data
    assert set(d["direction"]) == {1.0, -1.0}
    fwd, rev = d[d.direction > 0], d[d.direction < 0]
    assert rev["voltage_V"].iloc[0] == pytest.approx(fwd["voltage_V"].iloc[-1], abs=1e-6)
    assert rev["voltage_V"].iloc[-1] == pytest.approx(2.0, abs=1e-6)
    assert proc._station is None  # closed by shutdown


def test_compliance_stops_the_sweep_with_an_event(tmp_path):
    result, _ = run_jvl(tmp_path, compliance_mA=0.5, stop_voltage_V=8.0,
                        directions="forward+reverse", light_route="photodiode")
    run = load_run(result.path)
    assert run.data["in_compliance"].iloc[-1] == 1.0
    assert (run.data["direction"] > 0).all()            # no reverse sweep after compliance
    assert any("compliance" in m for m in run.events["message"])
    assert run.data["current_A"].abs().max() <= 0.5e-3 * 1.001


def test_luminance_limit_then_reverse(tmp_path):
    result, _ = run_jvl(tmp_path, max_luminance_cd_m2=100.0, directions="forward+reverse",
                        light_route="photodiode")
    run = load_run(result.path)
    fwd = run.data[run.data.direction > 0]
    assert fwd["luminance_cd_m2"].iloc[-1] >= 100.0
    assert fwd["luminance_cd_m2"].iloc[:-1].max() < 100.0
    assert (run.data.direction < 0).any()
    assert any("luminance limit" in m for m in run.events["message"])


def test_photodiode_route_matches_truth(tmp_path):
    result, _ = run_jvl(tmp_path, light_route="photodiode", spectrum_every=0)
    run = load_run(result.path)
    truth = device_truth(run)
    d = run.data
    assert np.isnan(d["cie_x"]).all() and (d["photocurrent_A"] > 0).any()
    s = analyze_jvl_run(run)
    # the assumed Gaussian at the nominal peak is not the pixel's exact line: ±1 nm → ~2 %
    assert s["max_current_efficiency_cd_A"] == pytest.approx(
        truth["current_efficiency_max_cd_A"], rel=0.03)
    assert s["turn_on_voltage_V"] == pytest.approx(truth["turn_on_voltage_V"], rel=0.01)


def test_hardware_sweep_route(tmp_path):
    result, _ = run_jvl(tmp_path, light_route="none", directions="forward+reverse",
                        step_voltage_V=0.1)
    run = load_run(result.path)
    assert len(run.data) == 2 * 26 - 1
    from simulators.device import LEDDevice, LEDParameters  # noqa: F401 (truth via file)
    truth = device_truth(run)
    v = run.data["voltage_V"].to_numpy()
    i = run.data["current_A"].to_numpy()
    assert np.all(np.isfinite(i)) and i[v == v.max()][0] > 1e-4
    assert truth["area_cm2"] == pytest.approx(0.04)


def test_abort_turns_output_off(tmp_path):
    from instruments.station import open_station

    station = open_station("sim", roles=("smu", "light_meter"),
                           sim_options={"time_scale": 200.0, "noise": False})
    try:
        proc = build_procedure(JVLProcedure, {"start_voltage_V": 2.0, "stop_voltage_V": 6.0,
                                              "step_voltage_V": 0.01}, station_object=station)
        seen = []

        def on_emit(topic, record):
            if topic == "results":
                seen.append(record)
                if len(seen) == 5:
                    engine.stop()

        from acquisition.runner import RunEngine
        engine = RunEngine(proc, tmp_path, on_emit=on_emit, flush_interval_s=0.2)
        result = engine.run(handle_signals=False)
        assert result.status == "aborted"
        assert len(load_run(result.path).data) == 5
        pixel = station.bench.selected_pixel
        assert abs(pixel.current_A) < 1e-9          # the SMU's output is off
    finally:
        station.close()


# -- hardware-sweep route (light_route = none): lists of a few points, stop rules between them

def _record_lists(monkeypatch):
    """The voltage lists the procedure hands to the 2400 adapter, in order."""
    from instruments.keithley2400 import Keithley2400SourceMeter

    lists = []
    sweep = Keithley2400SourceMeter.sweep_voltage

    def recorded(self, voltages_V, delay_s):
        lists.append([float(v) for v in voltages_V])
        return sweep(self, voltages_V, delay_s)

    monkeypatch.setattr(Keithley2400SourceMeter, "sweep_voltage", recorded)
    return lists


def _stop_events(run):
    return [m for m in run.events["message"] if "reached at" in m]


def test_hardware_sweep_stops_at_the_current_density_limit_like_the_point_route(
        tmp_path, monkeypatch):
    """1 mA/cm² is crossed between 3.55 V (~0.90) and 3.6 V (~1.15) on this pixel (low
    enough that the two routes' different ageing does not move it)."""
    values = dict(stop_voltage_V=6.0, max_current_density_mA_cm2=1.0,
                  directions="forward+reverse")
    lists = _record_lists(monkeypatch)
    hw_result, _ = run_jvl(tmp_path / "hw", light_route="none", **values)
    pt_result, _ = run_jvl(tmp_path / "pt", light_route="photodiode", **values)
    assert hw_result.status == pt_result.status == "finished"
    hw, pt = load_run(hw_result.path), load_run(pt_result.path)
    # same stop reason, same event, at the same point
    assert _stop_events(hw) == _stop_events(pt) == [
        "current-density limit 1 mA/cm² reached at 3.6 V"]
    fwd = hw.data[hw.data.direction > 0]
    np.testing.assert_allclose(fwd["voltage_V"], pt.data[pt.data.direction > 0]["voltage_V"])
    j = fwd["current_density_mA_cm2"].to_numpy()
    assert j[-1] >= 1.0 and j[:-1].max() < 1.0            # recorded up to the tripping point
    # nothing past the tripping point was applied either: the lists shrink near the limit
    assert max(max(lst) for lst in lists) == pytest.approx(3.6)
    assert len(lists) > 3 and max(len(lst) for lst in lists) > 5
    # then the reverse branch, as the point route (which re-measures the turning point)
    rev = hw.data[hw.data.direction < 0]["voltage_V"].to_numpy()
    np.testing.assert_allclose(rev, fwd["voltage_V"].to_numpy()[:-1][::-1])
    assert pt.data[pt.data.direction < 0]["voltage_V"].iloc[0] == pytest.approx(3.6)
    assert not np.isnan(hw.data["time_s"]).any() and np.all(np.diff(hw.data["time_s"]) > 0)


def test_hardware_sweep_compliance_stops_it(tmp_path, monkeypatch):
    values = dict(compliance_mA=0.5, stop_voltage_V=8.0, directions="forward+reverse")
    lists = _record_lists(monkeypatch)
    hw_result, _ = run_jvl(tmp_path / "hw", light_route="none", **values)
    pt_result, _ = run_jvl(tmp_path / "pt", light_route="photodiode", **values)
    hw, pt = load_run(hw_result.path), load_run(pt_result.path)
    d = hw.data
    assert hw_result.status == "finished"
    assert d["in_compliance"].iloc[-1] == 1.0 and (d["in_compliance"].iloc[:-1] == 0).all()
    assert (d["direction"] > 0).all()                    # no reverse sweep after compliance
    assert d["current_A"].abs().max() <= 0.5e-3 * 1.001
    compliance = [m for m in hw.events["message"] if "compliance" in m]
    assert compliance == ["compliance 0.5 mA reached at 4.25 V: sweep stopped"]
    # the point route is slower (photodiode readings, dark current): its pixel has aged a
    # little more when it gets there, so it may reach the limit one 50 mV step later
    (pt_message,) = [m for m in pt.events["message"] if "compliance" in m]
    assert pt_message in ("compliance 0.5 mA reached at 4.25 V: sweep stopped",
                          "compliance 0.5 mA reached at 4.3 V: sweep stopped")
    assert abs(len(d) - len(pt.data)) <= 1
    assert max(max(lst) for lst in lists) == pytest.approx(4.25)   # nothing applied past it


def _watched_hardware_run(tmp_path, station, on_batch, **values):
    """Run the hardware route on ``station``; returns (result, rows per batch, SMU output
    state when execute() returned or raised)."""
    from acquisition.runner import RunEngine

    base = {"start_voltage_V": 2.0, "stop_voltage_V": 6.0, "step_voltage_V": 0.01,
            "dwell_s": 0.0, "nplc": 0.1, "light_route": "none", "directions": "forward+reverse"}
    base.update(values)
    proc = build_procedure(JVLProcedure, base, station_object=station)
    smu_sim = station.bench.instrument("smu")
    batches, output_at_exit = [], []
    execute = proc.execute

    def watched_execute():
        try:
            execute()
        finally:
            output_at_exit.append(bool(smu_sim.output))

    proc.execute = watched_execute

    def on_emit(topic, record):
        if topic == "batch results":
            batches.append(len(record["voltage_V"]))
            on_batch(engine, len(batches))

    engine = RunEngine(proc, tmp_path, on_emit=on_emit, flush_interval_s=0.2)
    return engine.run(handle_signals=False), batches, output_at_exit


def test_hardware_sweep_abort_after_the_first_list_turns_output_off(tmp_path):
    from instruments.station import open_station

    with open_station("sim", roles=("smu",),
                      sim_options={"time_scale": 200.0, "noise": False}) as station:
        def stop_after_first(engine, n):
            if n == 1:
                engine.stop()

        result, batches, output_at_exit = _watched_hardware_run(tmp_path, station,
                                                                stop_after_first)
        assert result.status == "aborted"
        run = load_run(result.path)
        assert len(batches) == 1 and 1 < batches[0] <= 25
        assert len(run.data) == batches[0] < 401                 # ended after that list
        assert "abort requested: stopping the sweep" in list(run.events["message"])
        assert output_at_exit == [False]                         # execute() switched it off
        assert abs(station.bench.selected_pixel.current_A) < 1e-9


def test_hardware_sweep_failure_mid_sweep_turns_output_off(tmp_path, monkeypatch):
    from instruments.station import open_station

    with open_station("sim", roles=("smu",),
                      sim_options={"time_scale": 200.0, "noise": False}) as station:
        sweep = station.smu.sweep_voltage
        calls = []

        def failing(voltages_V, delay_s):
            calls.append(1)
            if len(calls) == 3:
                raise OSError("link lost")
            return sweep(voltages_V, delay_s)

        monkeypatch.setattr(station.smu, "sweep_voltage", failing)
        result, batches, output_at_exit = _watched_hardware_run(tmp_path, station,
                                                                lambda engine, n: None)
        assert result.status == "failed" and "link lost" in result.message
        assert len(batches) == 2 and len(load_run(result.path).data) == sum(batches)
        assert output_at_exit == [False]


def test_hardware_list_length_by_time_and_by_the_current_limit():
    proc = build_procedure(JVLProcedure, {"light_route": "none", "dwell_s": 0.0, "nplc": 1.0,
                                          "step_voltage_V": 0.05, "compliance_mA": 100.0,
                                          "max_current_density_mA_cm2": 2000.0})
    nan = float("nan")
    # e-fold per kT/q: ln(2000 / 1e-6) / (0.05 V / 25.85 mV) = 11.07 → the 12th point
    assert proc._list_points(400, +1, nan, 1e-6) == 12
    assert proc._list_points(400, -1, nan, 1e-6) == 25     # reverse: time and memory only
    assert proc._list_points(3, -1, nan, nan) == 3
    assert proc._list_points(400, +1, 100.0, 1000.0) == 1  # observed ×10 per step
    assert proc._list_points(400, +1, nan, 1999.0) == 1
    proc.compliance_mA = 1.0                               # 25 mA/cm² on 0.04 cm² is lower
    assert proc._list_points(400, +1, nan, 1.0) == 2
    proc.dwell_s = 0.3                                     # ~1 s per list
    assert proc._list_points(400, -1, nan, nan) == 3
    proc.dwell_s = 5.0                                     # an abort waits one point
    assert proc._list_points(400, -1, nan, nan) == 1


@pytest.mark.parametrize("light_route", ["none", "photodiode"])
def test_descending_sweep_reverse_returns_to_the_start(tmp_path, light_route):
    result, _ = run_jvl(tmp_path, light_route=light_route, start_voltage_V=4.0,
                        stop_voltage_V=2.0, step_voltage_V=0.25, directions="forward+reverse")
    d = load_run(result.path).data
    fwd, rev = d[d.direction > 0]["voltage_V"], d[d.direction < 0]["voltage_V"]
    np.testing.assert_allclose(fwd, sweep_voltages_V(4.0, 2.0, 0.25))
    assert rev.iloc[-1] == pytest.approx(4.0) and np.all(np.diff(rev) > 0)


# -- the light meter's spectral axis comes from its role

def test_light_meter_axis_from_the_role():
    from types import SimpleNamespace

    from procedures.jvl import _light_meter_axis

    assert _light_meter_axis(SimpleNamespace(wavelength_nm=None)) is None
    np.testing.assert_array_equal(_light_meter_axis(SimpleNamespace(wavelength_nm=[400, 404])),
                                  [400.0, 404.0])


def test_light_meter_without_spectral_axis_records_no_spectra(tmp_path):
    """A LightMeter whose wavelength_nm is None: luminance and colour, no spectrum axis."""
    from instruments.roles import LightMeter, LightReading
    from instruments.station import open_station

    class ColourOnly:
        def __init__(self, meter):
            self.meter, self.idn, self.wavelength_nm = meter, meter.idn, None

        def measure(self):
            r = self.meter.measure()
            return LightReading(r.luminance_cd_m2, r.x, r.y)

        def close(self):
            self.meter.close()

    with open_station("sim", roles=("smu", "light_meter"),
                      sim_options={"time_scale": 200.0, "noise": False}) as station:
        station.light_meter = ColourOnly(station.light_meter)
        assert isinstance(station.light_meter, LightMeter)
        proc = build_procedure(JVLProcedure, {"start_voltage_V": 3.0, "stop_voltage_V": 3.5,
                                              "step_voltage_V": 0.25, "dwell_s": 0.0,
                                              "directions": "forward"},
                               station_object=station)
        result = run_procedure(proc, tmp_path, flush_interval_s=0.2, handle_signals=False)
    assert result.status == "finished"
    run = load_run(result.path)
    assert len(run.data) == 3 and (run.data["luminance_cd_m2"] > 0).all()
    assert run.wavelength_nm is None


@pytest.mark.parametrize("values, fragment", [
    ({"area_cm2": 20}, "area_cm2 = 20 is not accepted: allowed 0.0001 … 10 cm^2"),
    ({"step_voltage_V": 3.0, "stop_voltage_V": 2.0, "start_voltage_V": 0.0},
     "step_voltage_V = 3 is out of range"),
    ({"light_route": "eye"}, "light_route = 'eye' is not accepted"),
    ({"no_such": 1}, "unknown parameter 'no_such'"),
])
def test_bad_input_one_clear_line(values, fragment):
    with pytest.raises(ValueError) as info:
        build_procedure(JVLProcedure, values)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_run_analyze_report(tmp_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "qled", "run", "jvl", "--station", "sim",
           "--out", str(out), "--sample", "cli", "--start-voltage-V", "2.4",
           "--stop-voltage-V", "4", "--step-voltage-V", "0.2", "--dwell-s", "0",
           "--time-scale", "200", "--directions", "forward"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = list(out.glob("*_cli_jvl.h5"))
    assert len(files) == 1
    done = subprocess.run([sys.executable, "-m", "qled", "analyze", str(files[0]),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    for key in ("turn_on_voltage_V", "max_luminance_cd_m2", "max_current_efficiency_cd_A",
                "max_power_efficiency_lm_W", "max_eqe_percent", "el_peak_nm", "el_fwhm_nm",
                "cie_x", "cie_y"):
        assert key in summary
    assert load_run(files[0]).analysis["jvl"]["max_eqe_percent"] == summary["max_eqe_percent"]


def test_cli_bad_value_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "runs"
    done = subprocess.run([sys.executable, "-m", "qled", "run", "jvl", "--station",
                           "sim", "--out", str(out), "--compliance-mA", "5000"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "compliance_mA" in lines[0] and "1050" in lines[0]
    assert not out.exists() or not list(out.glob("*.h5"))


# -- SMU error queue and open pixels: faults armed in the bench's own fault plans once the
# station is connected (as tests/reliability/test_fault_matrix.py does), here from the rows
# the procedure emits, so they land at a known point of the sweep.

OPEN_WORDS = "open circuit / lost contact?"


def _faulted_jvl(tmp_path, arm=None, *, overrides=FAST, **values):
    """Run J-V-L on an in-process bench; ``arm(bench, topic, record)`` is called with every
    record the procedure emits (it may arm a fault). Returns (result, run, bench)."""
    base = {"station": "sim", "start_voltage_V": 2.0, "stop_voltage_V": 4.5,
            "step_voltage_V": 0.1, "dwell_s": 0.0, "nplc": 0.1, "light_route": "photodiode",
            "directions": "forward+reverse", **values}
    return run_on_bench(JVLProcedure, base, tmp_path, overrides=overrides, arm=arm)


def _open_events(run):
    ev = run.events
    return ev[ev["message"].str.contains(OPEN_WORDS, regex=False)]


def _forward_currents(topic, record):
    if topic == "results" and record["direction"] > 0:
        return np.array([record["current_A"]])
    if topic == "batch results" and record["direction"][0] > 0:
        return np.asarray(record["current_A"])
    return None


@pytest.mark.parametrize("light_route", ["photodiode", "none"])
@pytest.mark.parametrize("start, step", [(0.0, 0.05), (-3.0, 1.0)])
def test_healthy_sweep_records_no_open_circuit_and_no_instrument_error(tmp_path, light_route,
                                                                       start, step):
    """Noise on, from 0 V (|I| in the pA–nA noise) or from −3 V: |I| falls from tens of nA
    (shunt) to 0 at 0 V, where |V| falls too, so it is not a collapse."""
    result, run, _ = _faulted_jvl(tmp_path, light_route=light_route, start_voltage_V=start,
                                  step_voltage_V=step, overrides={**FAST, "noise": True})
    assert result.status == "finished", result.message
    assert run.data["current_A"].abs().max() > 1e-4
    messages = list(run.events["message"])
    assert not [m for m in messages if OPEN_WORDS in m or "instrument error" in m], messages
    assert not [m for m in messages if "error queue" in m], messages


@pytest.mark.parametrize("light_route", ["photodiode", "none"])
def test_open_pixel_mid_sweep_is_one_warning_and_the_sweep_goes_on(tmp_path, light_route):
    from simulators.faults import Fault

    armed = []

    def arm(bench, topic, record):
        i = _forward_currents(topic, record)
        if i is not None and not armed and abs(i[-1]) > 1e-6:
            pixel = bench.selected_pixel
            pixel.faults.faults = (Fault("open", pixel=pixel.index,
                                         at_time_s=bench.clock.time()),)
            armed.append(float(i[-1]))

    result, run, _ = _faulted_jvl(tmp_path, arm, light_route=light_route)
    assert result.status == "finished", result.message
    assert armed
    hits = _open_events(run)
    assert len(hits) == 1 and set(hits["level"]) == {"warning"}
    message = hits["message"].iloc[0]
    assert message.startswith(f"current collapsed from {armed[0]:.3g} A to ")
    assert "on the forward sweep" in message
    # the sweep went on: whole forward branch, then the reverse one, all after the collapse
    d = run.data
    fwd, rev = d[d.direction > 0], d[d.direction < 0]
    assert len(fwd) == 26 and len(rev) == (26 if light_route == "photodiode" else 25)
    after = fwd["current_A"].abs().to_numpy()
    k = int(np.argmax(after < 1e-9))
    assert k > 0 and after[k - 1] == pytest.approx(armed[0]) and (after[k:] < 1e-9).all()
    assert f"at V = {fwd['voltage_V'].iloc[k]:g} V" in message


@pytest.mark.parametrize("light_route", ["photodiode", "none"])
def test_pixel_open_from_the_start_is_one_no_current_warning(tmp_path, light_route):
    from simulators.faults import Fault

    def arm(bench, topic, record):
        pixel = bench.selected_pixel
        if not pixel.faults.faults:
            pixel.faults.faults = (Fault("open", pixel=pixel.index, at_time_s=0.0),)

    result, run, _ = _faulted_jvl(tmp_path, arm, light_route=light_route)
    assert result.status == "finished", result.message
    assert (run.data["current_A"].abs() < 1e-9).all()
    hits = _open_events(run)
    assert len(hits) == 1 and set(hits["level"]) == {"warning"}
    assert hits["message"].iloc[0].startswith("no device current: |I| < 1e-09 A on the whole "
                                              "forward sweep up to 4.5 V (expected turn-on")


def test_no_current_warning_needs_the_sweep_past_the_expected_turn_on(tmp_path):
    """Open from the start but the sweep ends at 3 V < 2.4 V + 1 V: no conclusion drawn."""
    from simulators.faults import Fault

    def arm(bench, topic, record):
        pixel = bench.selected_pixel
        if not pixel.faults.faults:
            pixel.faults.faults = (Fault("open", pixel=pixel.index, at_time_s=0.0),)

    result, run, _ = _faulted_jvl(tmp_path, arm, stop_voltage_V=3.0)
    assert result.status == "finished", result.message
    assert len(_open_events(run)) == 0


@pytest.mark.parametrize("light_route", ["photodiode", "none"])
def test_queued_smu_error_is_a_warning_and_the_sweep_goes_on(tmp_path, light_route):
    from simulators.faults import Fault

    armed = []

    def arm(bench, topic, record):
        if topic in ("results", "batch results") and not armed:
            plan = bench.instrument("smu").faults      # the plan the transport consults
            plan.faults = (Fault("error", instrument="smu", at_command=plan.commands_seen + 1,
                                 code=-222, message="Data out of range"),)
            armed.append(plan)

    result, run, _ = _faulted_jvl(tmp_path, arm, light_route=light_route)
    assert result.status == "finished", result.message
    ev = run.events
    hits = ev[ev["message"].str.contains("instrument error", regex=False)]
    assert list(hits["message"]) == [
        "smu: instrument error -222, Data out of range (error queue read after the forward "
        "sweep); measurement continues"]
    assert set(hits["level"]) == {"warning"}
    assert len(run.data) == (52 if light_route == "photodiode" else 51)
    assert len(_open_events(run)) == 0


def test_first_current_collapse_vector_form():
    from procedures.base import first_current_collapse

    assert first_current_collapse(0.0, [1e-12, 1e-9, 1e-6, 1e-3]) == -1
    assert first_current_collapse(1e-6, [0.0, 0.0]) == 0            # from the previous list
    assert first_current_collapse(0.0, [1e-7, 1e-5, 2e-12, 0.0]) == 2
    assert first_current_collapse(0.0, [1e-7, 1e-5, 2e-12], watch_from=3) == -1
    assert first_current_collapse(0.0, [5e-9, 1e-12]) == -1         # never clearly conducted
    assert first_current_collapse(0.0, [2e-8, 5e-10]) == -1         # < 1e3× fall
    assert first_current_collapse(0.0, [np.nan, 1e-3, np.nan]) == -1
