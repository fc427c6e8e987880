"""DLCP and C-V with readings the LCR meter flags (:FETCh? status ≠ 0), end to end: the
simulated E4980A gives the status through its fault plan, the procedures store it per point
(``lcr_status``) and say so once in /events, the analysis fits the good points only and
gets the device's truth, which the same points with the flagged ones included do not; the
report page says how many points were left out and why."""
import copy

import numpy as np
import pytest

from acquisition.runner import run_procedure
from acquisition.store import load_run
from procedures.base import build_procedure
from procedures.cv import CVProcedure
from procedures.dlcp import DLCPProcedure
from reports.dlcp import analyze_cv_run, analyze_dlcp_run, write_cv_report, write_dlcp_report
from simulators.faults import FaultPlan

FAST = {"time_scale": 1e4}


def _flagging_run(cls, tmp_path, flag, code, **values):
    """Run ``cls`` on the simulated bench; points whose index (0-based) ``flag(i, row)``
    selects are measured while a ``measure_status`` fault with ``code`` is active on the
    E4980A (its fault plan is swapped in for that point only)."""
    values.setdefault("eps_r", 25.0)
    proc = build_procedure(cls, values)
    proc.sim_overrides = dict(FAST)
    original = proc.measure_point
    seen = {"i": 0}

    def measure_point(frequency_Hz):
        meter = proc.instruments.bench.instrument("lcr")
        plain = meter.faults
        if flag(seen["i"]):
            meter.faults = FaultPlan([{"kind": "measure_status", "instrument": "lcr",
                                       "at_time_s": 0.0, "code": code}]).for_instrument("lcr")
        try:
            return original(frequency_Hz)
        finally:
            meter.faults = plain
            seen["i"] += 1

    proc.measure_point = measure_point
    result = run_procedure(proc, tmp_path)
    assert result.status == "finished", result.message
    return load_run(result.path)


@pytest.fixture(scope="module")
def flagged_dlcp(tmp_path_factory):
    """Pristine device at 1 MHz (free carriers only), ALC on; the four largest levels of the
    V_max = 0 curve (points 26–29) taken while the ALC loop cannot regulate (+4): the level
    across the junction is then the source's behind its 100 Ω, far below the recorded one."""
    return _flagging_run(DLCPProcedure, tmp_path_factory.mktemp("flagged"),
                         lambda i: i >= 26, 4, station="sim:pristine",
                         frequencies_Hz="1000000", alc=True, readings_per_point=2)


def test_status_stored_per_point_and_one_warning(flagged_dlcp):
    run = flagged_dlcp
    status = run.data.lcr_status.to_numpy()
    assert list(np.nonzero(status)[0]) == [26, 27, 28, 29] and set(status[26:]) == {4.0}
    assert run.units["lcr_status"].startswith("1 (:FETCh? status")
    warnings = [m for lv, m in zip(run.events.level, run.events.message)
                if "flagged by the meter" in m]
    assert warnings == ["lcr: 4 of 30 points flagged by the meter (4 × +4 ALC unable to "
                        "regulate); stored with lcr_status, excluded from the fits"]
    assert run.attrs["station"]["measurement"]["lcr_status_codes"]["+4"] == \
        "ALC unable to regulate"
    # +4 carries the meter's data (User's Guide p. 261): stored, not NaN
    assert np.isfinite(run.data.capacitance_F).all()


def test_good_points_give_the_truth_and_the_flagged_ones_would_not(flagged_dlcp):
    run = flagged_dlcp
    junction = run.truth["pixels"][0]["device"]["junction"]
    a = analyze_dlcp_run(run)
    assert a["excluded_points"] == 4 and a["profile_n_excluded"] == [0, 0, 4]
    assert a["excluded_by_status"] == {"+4 ALC unable to regulate": 4}
    rel = np.array(a["truth"]["profile_relative_error"], float)
    assert np.all(np.abs(rel) < 0.02), rel                 # every curve, good points only
    # the same record read as if nothing were flagged (no lcr_status column)
    naive_run = copy.copy(run)
    naive_run.data = run.data.drop(columns="lcr_status")
    naive = analyze_dlcp_run(naive_run)
    rel_naive = np.array(naive["truth"]["profile_relative_error"], float)
    assert abs(rel_naive[2]) > 0.05, rel_naive              # the V_max = 0 curve is off
    np.testing.assert_allclose(rel_naive[:2], rel[:2], rtol=0, atol=1e-12)
    print(f"N_DL vs truth, V_max = 0 V at 1 MHz: good points {rel[2]:+.2%}, all points "
          f"{rel_naive[2]:+.2%}")


def test_report_says_how_many_points_were_left_out(flagged_dlcp, tmp_path):
    md = write_dlcp_report(flagged_dlcp, tmp_path, html_too=False)
    text = md.read_text()
    assert ("4 of 30 points were flagged by the LCR meter (:FETCh? status ≠ 0: 4 × +4 ALC "
            "unable to regulate) and left out of the fits") in text


def test_cv_overloads_left_out_of_n_cv(tmp_path):
    """Uniform junction (N = 5e17 cm⁻³): three bias points overloaded (+1, data 9.9E37 →
    NaN) and two with a signal-source overload (+3, data sent): N_CV from the rest."""
    flags = {5: 1, 6: 1, 7: 1, 12: 3, 13: 3}
    runs = {}
    for code in (1, 3):
        runs[code] = _flagging_run(
            CVProcedure, tmp_path, lambda i, c=code: flags.get(i) == c, code,
            station="sim:uniform_junction", frequencies_Hz="100000", level_Vrms=0.01,
            step_bias_V=0.1)
    over, source = runs[1], runs[3]
    assert np.isnan(over.data.capacitance_F[over.data.lcr_status == 1]).all()
    a = analyze_cv_run(over)
    assert a["excluded_points"] == 3 and a["per_frequency"][0]["n_excluded"] == 3
    assert a["per_frequency"][0]["median_n_cv_reverse_cm3"] == pytest.approx(5e17, rel=0.05)
    b = analyze_cv_run(source)
    assert b["excluded_by_status"] == {"+3 signal source overloaded": 2}
    text = write_cv_report(source, tmp_path / "r", html_too=False).read_text()
    assert "2 of 26 points were flagged by the LCR meter" in text
