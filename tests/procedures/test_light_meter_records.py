"""What a run records of its light meter: where it looks (measuring angle, working distance,
spot against the pixel) and readings the meter flagged (NaN plus an event, never a sentinel)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from acquisition.runner import RunEngine
from acquisition.store import load_run
from instruments.station import open_station
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure
from procedures.lifetime import LifetimeProcedure
from procedures.pl_stability import PLStabilityProcedure

JVL = {"start_voltage_V": 2.9, "stop_voltage_V": 3.3, "step_voltage_V": 0.2, "dwell_s": 0.0,
       "nplc": 0.1, "directions": "forward"}
CALC_ERROR = {"kind": "calc_error", "instrument": "spectroradiometer", "at_command": 1,
              "duration_s": 1e9}


def run(procedure_class, values, tmp_path, *, sim_options, working_distance_mm=None):
    probe = build_procedure(procedure_class, values)
    options = {**probe.simulated_bench_options(values.get("station", "sim")), **sim_options}
    procs = []                                   # the meter's events go to the run's /events
    with open_station("sim", roles=probe.required_roles(), sim_options=options,
                      on_event=lambda level, msg: procs[0].log_event(level, msg)) as station:
        if working_distance_mm is not None:
            station.config["light_meter"]["working_distance_mm"] = working_distance_mm
        proc = build_procedure(procedure_class, values, station_object=station)
        procs.append(proc)
        result = RunEngine(proc, tmp_path, flush_interval_s=0.2).run(handle_signals=False)
    assert result.status == "finished", result.message
    return load_run(result.path)


@pytest.mark.parametrize("distance_mm, fits", [(350.0, True), (2000.0, False)])
def test_jvl_records_the_spot_and_warns_when_it_is_larger_than_the_pixel(tmp_path, distance_mm,
                                                                         fits):
    """The simulated CS-2000 at 0.2° (STSR / MEDR,0 angle code 1): Ø 1.22 mm at 350 mm on the
    2 mm side of a 0.04 cm² pixel; Ø 6.98 mm at 2 m does not fit."""
    record = run(JVLProcedure, JVL, tmp_path, sim_options={"time_scale": 200.0, "noise": False},
                 working_distance_mm=distance_mm)
    optics = record.attrs["station"]["light_meter_optics"]
    assert optics["measuring_angle_deg"] == 0.2
    assert optics["working_distance_mm"] == distance_mm
    spot = 2 * distance_mm * math.tan(math.radians(0.1))
    assert optics["spot_diameter_mm"] == pytest.approx(spot)
    assert optics["pixel_side_mm"] == pytest.approx(2.0) and optics["spot_fits_pixel"] is fits
    warnings = [m for m in record.events["message"] if "larger than the pixel" in m]
    assert len(warnings) == (0 if fits else 1)


def test_jvl_without_a_working_distance_records_the_angle_only(tmp_path):
    record = run(JVLProcedure, JVL, tmp_path, sim_options={"time_scale": 200.0, "noise": False})
    optics = record.attrs["station"]["light_meter_optics"]
    assert optics["measuring_angle_deg"] == 0.2 and optics["spot_diameter_mm"] is None


def test_jvl_calculation_errors_are_nan_and_events_never_huge_negatives(tmp_path):
    """CS-2000 calculation-error numbers (Rev. 7.00 §5 pp.78-81) on every reading."""
    record = run(JVLProcedure, JVL, tmp_path,
                 sim_options={"time_scale": 200.0, "noise": False, "faults": [CALC_ERROR]})
    lum = record.data["luminance_cd_m2"].to_numpy(float)
    assert lum.size == 3 and np.isnan(lum).all()
    assert np.isnan(record.data["cie_x"].to_numpy(float)).all()
    flagged = [m for m in record.events["message"] if "calculation-error number" in m]
    assert len(flagged) == 3 and "recorded as NaN" in flagged[0]


def test_lifetime_takes_l0_from_the_first_reading_with_a_value(tmp_path):
    values = {"station": "sim", "light_route": "spectroradiometer", "l0_cd_m2": 0.0,
              "current_density_mA_cm2": 20.0, "log_interval_s": 60.0, "max_hours": 0.1,
              "spectrum_every_min": 0.0}
    # Command 7 is the first MEAS,1 (connect: RMTS,2 MSWE,0 SPMR SPMS STSR IDDR; the
    # simulated station asks for fast mode): that reading only.
    fault = dict(CALC_ERROR, duration_s=20.0, at_command=7)
    record = run(LifetimeProcedure, values, tmp_path,
                 sim_options={"time_scale": 300.0, "noise": False, "faults": [fault]})
    lum = record.data["luminance_cd_m2"].to_numpy(float)
    rel = record.data["relative_luminance_fraction"].to_numpy(float)
    assert math.isnan(lum[0]) and math.isnan(rel[0])
    assert np.isfinite(lum[1:]).all() and rel[1] == 1.0 and (rel[1:] <= 1.0 + 1e-9).all()
    assert any("no L0 at t = " in m for m in record.events["message"])
    assert record.attrs["station"]["light_meter_optics"]["measuring_angle_deg"] == 0.2


def test_pl_reference_is_the_first_reading_with_a_value(tmp_path):
    values = {"station": "sim:pl_pristine", "interval_s": 300.0, "duration_s": 1500.0,
              "stop_fraction": 0.0}
    fault = dict(CALC_ERROR, duration_s=100.0, at_command=7)   # the first MEAS,1, as above
    record = run(PLStabilityProcedure, values, tmp_path,
                 sim_options={"time_scale": 3600.0, "noise": False, "faults": [fault]})
    ratio = record.data["relative_intensity_ratio"].to_numpy(float)
    assert math.isnan(ratio[0]) and ratio[1] == 1.0 and np.isfinite(ratio[1:]).all()
