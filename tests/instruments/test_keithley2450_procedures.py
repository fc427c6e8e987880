"""J-V-L, SCLC and lifetime on a simulated Keithley 2450 with front terminals, end to end:
procedure → our driver → the real TCP transport → the simulated 2450 → the device.

A 2450 on its front terminals marks every reading with STATus 8 (Model 2450 Reference
Manual Rev. B p.8-33); compliance is SOURSTATus bit 5 (p.8-29). So a sweep that reaches the
limit must flag and stop at the point where the device current first exceeds it, and one
that does not must never flag.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from acquisition.store import load_run
from procedures.jvl import JVLProcedure, sweep_voltages_V
from procedures.lifetime_channels import run_channels
from procedures.sclc import SCLCProcedure

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: shared helpers
from bench_runs import run_on_bench  # noqa: E402

ON_2450 = {"smu_model": "2450", "noise": False}


def _jvl(tmp_path, **values):
    base = {"station": "sim", "sample": "k2450", "start_voltage_V": 2.0, "stop_voltage_V": 8.0,
            "step_voltage_V": 0.05, "dwell_s": 0.0, "nplc": 0.1, "directions": "forward+reverse",
            "light_route": "photodiode"}
    base.update(values)
    result, run, bench = run_on_bench(JVLProcedure, base, tmp_path,
                                      overrides={"time_scale": 200.0, **ON_2450})
    assert result.status == "finished", result.message
    return run, bench


def _first_over(device, voltages, limit_A):
    """The first set voltage at which the device's own current exceeds ``limit_A``."""
    current = np.asarray(device.current_A(np.asarray(voltages, float)))
    return float(voltages[int(np.argmax(np.abs(current) > limit_A))])


@pytest.mark.parametrize("route", ["photodiode", "none"])     # point by point, hardware lists
def test_jvl_compliance_flags_and_stops_where_it_happens(tmp_path, route):
    run, bench = _jvl(tmp_path, compliance_mA=0.5, light_route=route)
    d = run.data
    assert bench.config()["smu_model"] == "2450"
    # The sweep ages the pixel (its I(V) falls at fixed V), so the point of compliance lies
    # between the fresh device's first point over the limit and the aged device's.
    from instruments.simulated import build_device, pixel_device_spec

    grid = sweep_voltages_V(2.0, 8.0, 0.05)
    fresh_V = _first_over(build_device(pixel_device_spec("passivated", 1, 0.04)), grid, 5e-4)
    aged_V = _first_over(bench.selected_pixel.device, grid, 5e-4)
    assert d["in_compliance"].iloc[-1] == 1.0 and (d["in_compliance"].iloc[:-1] == 0).all()
    assert (d["direction"] > 0).all()                  # no reverse branch after compliance
    assert d["current_A"].iloc[-1] == pytest.approx(5e-4, rel=1e-6)
    reached_V = float(d["voltage_V"].iloc[-2]) + 0.05   # the set level of the flagged point
    assert fresh_V - 1e-9 <= reached_V <= aged_V + 1e-9
    assert f"compliance 0.5 mA reached at {reached_V:g} V: sweep stopped" in \
        list(run.events["message"])
    assert abs(bench.selected_pixel.current_A) < 1e-9      # output off at the end


@pytest.mark.parametrize("route", ["photodiode", "none"])
def test_jvl_below_compliance_never_flags(tmp_path, route):
    run, _ = _jvl(tmp_path, stop_voltage_V=4.0, light_route=route)
    d = run.data
    assert (d["in_compliance"] == 0).all()
    n = len(sweep_voltages_V(2.0, 4.0, 0.05))
    assert len(d) == (2 * n - 1 if route == "none" else 2 * n)   # both branches, to the end
    assert not any("compliance" in m for m in run.events["message"])


def test_sclc_on_a_2450(tmp_path):
    values = {"station": "sim:electron_only", "sample": "k2450", "thickness_nm": 50.0,
              "eps_r": 25.0, "area_cm2": 0.01, "dwell_s": 0.05, "points_per_decade": 8,
              "max_voltage_V": 8.0, "sweep": "up+down"}
    free, _, _ = run_on_bench(SCLCProcedure, {**values, "compliance_mA": 1000.0},
                              tmp_path / "free", overrides={"time_scale": 500.0, **ON_2450})
    assert free.status == "finished", free.message
    free_run = load_run(free.path)
    assert (free_run.data["in_compliance"] == 0).all()
    assert np.nanmax(free_run.data["set_voltage_V"]) == pytest.approx(8.0)
    limited, run, bench = run_on_bench(SCLCProcedure, {**values, "compliance_mA": 20.0},
                                       tmp_path / "limited",
                                       overrides={"time_scale": 500.0, **ON_2450})
    assert limited.status == "finished", limited.message
    up = run.data[run.data["direction"] > 0] if "direction" in run.data else run.data
    flagged = up[up["in_compliance"] == 1.0]
    assert len(flagged) >= 1
    v_hit = float(flagged["set_voltage_V"].iloc[0])
    before = up[up["set_voltage_V"] < v_hit]
    assert (before["in_compliance"] == 0).all() and (before["current_A"].abs() < 0.02).all()
    assert abs(float(flagged["current_A"].iloc[0])) == pytest.approx(0.02, rel=1e-6)
    assert any("compliance" in m for m in run.events["message"])


def test_lifetime_on_a_2450(tmp_path):
    common = {"station": "sim", "sample": "k2450", "pixel": 1, "current_density_mA_cm2": 5.0,
              "log_interval_s": 5.0, "max_hours": 0.05}
    (healthy,) = run_channels([dict(common)], tmp_path / "healthy",
                              overrides={"time_scale": 600.0, **ON_2450},
                              handle_signals=False)
    assert healthy.status == "finished", healthy.message
    run = load_run(healthy.path)
    assert len(run.data) >= 20
    assert not run.events["message"].str.contains("compliance").any()
    # A compliance below the pixel's voltage at the stress current: the first reading.
    (limited,) = run_channels([dict(common, compliance_V=1.0)], tmp_path / "limited",
                              overrides={"time_scale": 600.0, **ON_2450},
                              handle_signals=False)
    events = list(load_run(limited.path).events["message"])
    assert any("voltage compliance 1 V reached" in m for m in events), events


def test_a_2450_left_in_tsp_mode_is_refused_with_one_line():
    from instruments.roles import InstrumentError
    from instruments.station import open_station

    with pytest.raises(InstrumentError) as info:
        open_station("sim", roles=("smu",),
                     sim_options={"smu_model": "2450", "smu2450_language": "TSP",
                                  "serial_meters": False})
    message = str(info.value)
    assert "\n" not in message and message.startswith("smu: the Keithley 2450 uses the TSP ")
    assert "Command Set to SCPI" in message and "power-cycle" in message
