"""DLCP and C-V end to end: procedures → simulated E4980A over TCP → HDF5 → analysis vs truth."""
import math

import numpy as np
import pytest

from acquisition.runner import run_procedure
from acquisition.store import load_run
from reports.dlcp import (analyze_cv_run, analyze_dlcp_run, write_cv_report,
                                  write_dlcp_report)
from procedures.base import build_procedure
from procedures.cv import CVProcedure
from procedures.dlcp import SQRT8, DLCPProcedure

FAST = {"time_scale": 1e4}


def _run(cls, tmp_path, **values):
    values.setdefault("eps_r", 25.0)
    proc = build_procedure(cls, values)
    proc.sim_overrides = dict(FAST)
    result = run_procedure(proc, tmp_path)
    assert result.status == "finished", result.message
    return load_run(result.path)


@pytest.fixture(scope="module")
def pristine_dlcp(tmp_path_factory):
    return _run(DLCPProcedure, tmp_path_factory.mktemp("dlcp"), station="sim:pristine",
                frequencies_Hz="100,300,1000,3000,10000,30000,100000", readings_per_point=4)


def test_record_holds_the_protocol(pristine_dlcp):
    run = pristine_dlcp
    d = run.data
    assert len(d) == 7 * 3 * 10
    # V_DC + δV_pp/2 = V_max on every row, δV_pp = 2√2·V_rms
    np.testing.assert_allclose(d.bias_V + d.delta_v_pp_V / 2, d.v_max_V, atol=1e-12)
    np.testing.assert_allclose(d.delta_v_pp_V, 2 * math.sqrt(2) * d.level_Vrms, rtol=1e-12)
    assert run.parameters["amplitude_convention"]["value"] == "rms"
    assert run.parameters["eps_r"]["value"] == 25.0
    assert run.units["level_Vrms"] == "V rms"
    # G and D consistent: D = G/(ωC)
    np.testing.assert_allclose(d.dissipation, d.conductance_S / (2 * np.pi * d.frequency_Hz
                                                                 * d.capacitance_F), rtol=1e-9)
    assert any("correction skipped" in m for m in run.events.message)
    # the last action is the bias going off (the environment end record follows it)
    msgs = run.events.message
    assert msgs[~msgs.str.startswith("environment ")].iloc[-1] == "bias off"


def test_dlcp_recovers_free_and_trap_densities(pristine_dlcp):
    a = analyze_dlcp_run(pristine_dlcp)
    junction = pristine_dlcp.truth["pixels"][0]["device"]["junction"]
    # every curve against N_free(x) + g(f)·N_trap(x) of the truth, within 5 %
    rel = np.array(a["truth"]["profile_relative_error"], float)
    assert np.all(np.abs(rel) < 0.05), rel
    f = np.array(a["profile_frequency_Hz"])
    n = np.array(a["profile_n_dl_cm3"])
    n_free = junction["free_carrier_density_cm3"][0]
    # high frequency: free carriers only
    np.testing.assert_allclose(n[f == 1e5], n_free, rtol=0.05)
    # low frequency minus high: the trap density at the low-frequency depths
    x = np.array(a["deep_state_x_nm"])
    n_trap = np.interp(x, junction["profile_depth_nm"], junction["trap_density_cm3"])
    np.testing.assert_allclose(a["deep_state_density_cm3"], n_trap, rtol=0.05)
    # the trap cutoff (truth ≈ 3.0 kHz) within 20 %
    fc_true = junction["trap_cutoff_frequency_Hz"]
    assert a["trap_cutoff_frequency_Hz"] == pytest.approx(fc_true, rel=0.2)
    assert a["trap_cutoff_frequency_std_Hz"] < 0.2 * fc_true
    # the JSON contract of `qled analyze --json`
    assert a["frequencies_Hz"] == [100.0, 300.0, 1000.0, 3000.0, 10000.0, 30000.0, 100000.0]
    assert len(a["n_dl_cm3"]) == 7 and len(a["profile_x_nm"]) == len(a["profile_n_dl_cm3"]) == 21


def test_rms_read_as_pp_would_be_caught(pristine_dlcp):
    """The analysis takes the convention from the record: claiming 'pp' shifts N_DL 2.83×
    and the stored δV_pp column then contradicts it."""
    run = pristine_dlcp
    run.parameters = {**run.parameters, "amplitude_convention": {"value": "pp"}}
    with pytest.raises(ValueError, match="delta_v_pp_V disagrees"):
        analyze_dlcp_run(run)
    run.data = run.data.drop(columns="delta_v_pp_V")
    wrong = analyze_dlcp_run(run)
    run.parameters = {**run.parameters, "amplitude_convention": {"value": "rms"}}
    right = analyze_dlcp_run(run)
    np.testing.assert_allclose(np.array(right["n_dl_cm3"]) / wrong["n_dl_cm3"], SQRT8,
                               rtol=1e-9)


def test_uniform_junction_n_dl_equals_n_cv(tmp_path):
    dl = _run(DLCPProcedure, tmp_path, station="sim:uniform_junction",
              frequencies_Hz="1000,100000", readings_per_point=4)
    cv = _run(CVProcedure, tmp_path, station="sim:uniform_junction", frequencies_Hz="100000",
              level_Vrms=0.01, readings_per_point=2, step_bias_V=0.1)
    a_dl = analyze_dlcp_run(dl)
    a_cv = analyze_cv_run(cv)
    n_dl = np.median(a_dl["profile_n_dl_cm3"])
    entry = a_cv["per_frequency"][0]
    n_cv = entry["median_n_cv_reverse_cm3"]
    assert n_dl == pytest.approx(n_cv, rel=0.05)
    assert n_cv == pytest.approx(5e17, rel=0.05)
    assert a_dl["trap_cutoff_frequency_Hz"] is None     # no traps, no step: not located
    # reports write pages and figures
    for write, run in ((write_dlcp_report, dl), (write_cv_report, cv)):
        md = write(run, tmp_path / "report", html_too=False)
        text = md.read_text()
        assert "![" in text and all((md.parent / name).exists() for name in
                                    [ln.split("(")[1].rstrip(")") for ln in text.splitlines()
                                     if ln.startswith("![")])


def test_bias_off_on_failure_mid_sweep(tmp_path):
    """An exception mid-sweep (bias on, level up) still ends with the meter's bias off —
    checked on the simulated E4980A itself, not on the driver's bookkeeping."""
    proc = build_procedure(DLCPProcedure, {"station": "sim", "eps_r": 25.0,
                                           "frequencies_Hz": "1000"})
    proc.sim_overrides = dict(FAST)
    seen = {}
    original = proc.read_point

    def failing_read_point():
        if len(seen) == 0:
            bench = proc.instruments.bench
            seen["meter"] = bench._channels[0].instruments["lcr"]
        seen["n"] = seen.get("n", 0) + 1
        if seen["n"] == 5:
            seen["bias_on_before"] = bool(seen["meter"].bias_on)
            raise RuntimeError("simulated fault in the middle of the sweep")
        return original()

    proc.read_point = failing_read_point
    result = run_procedure(proc, tmp_path)
    assert result.status == "failed" and "simulated fault" in result.message
    assert seen["bias_on_before"] is True
    assert bool(seen["meter"].bias_on) is False


@pytest.mark.parametrize("values, match", [
    ({}, "eps_r is required"),
    ({"eps_r": 0.5}, "eps_r"),
    ({"eps_r": 25.0, "frequencies_Hz": "10,1000"}, "frequencies_Hz"),
    ({"eps_r": 25.0, "levels_Vrms": "0.1,0.2,30"}, "levels_Vrms"),
    ({"eps_r": 25.0, "levels_Vrms": "0.1,0.2"}, "levels_Vrms"),
    ({"eps_r": 25.0, "v_max_V": "-39.9", "levels_Vrms": "1,5,10"}, "v_max_V"),
    ({"eps_r": 25.0, "v_max_V": "abc"}, "v_max_V"),
])
def test_bad_parameters_one_line(values, match):
    with pytest.raises(ValueError, match=match) as exc:
        build_procedure(DLCPProcedure, values)
    assert "\n" not in str(exc.value)


def test_standard_meter_rejects_bias_before_output(tmp_path):
    """Without option 001 the internal bias is 0/1.5/2 V only: refused before any output."""
    proc = build_procedure(DLCPProcedure, {"station": "sim", "eps_r": 25.0,
                                           "frequencies_Hz": "1000"})
    proc.sim_overrides = {**FAST, "lcr_option_001": False}
    result = run_procedure(proc, tmp_path)
    assert result.status == "failed"
    assert "bias_V" in result.message and "option 001" in result.message


class _FakeDriver:
    def __init__(self):
        self.sent = []

    def write(self, command):
        self.sent.append(command)

    def ask(self, command):
        self.sent.append(command)
        return "1"

    def check_errors(self):
        return []


def test_correction_commands_on_a_real_meter():
    proc = build_procedure(CVProcedure, {"station": "sim", "eps_r": 25.0,
                                         "correction": "stored"})
    driver = _FakeDriver()
    proc._station = type("S", (), {"simulated": False,
                                   "lcr": type("L", (), {"driver": driver})()})()
    proc.correction_record = {"mode": "measure"}
    proc.correction = "measure"
    prompts = []
    proc.confirm_fixture = prompts.append
    proc.emit = lambda topic, record: None
    proc.apply_correction()
    assert driver.sent == [":CORR:OPEN", "*OPC?", ":CORR:SHOR", "*OPC?",
                           ":CORR:OPEN:STAT ON;:CORR:SHOR:STAT ON"]
    assert len(prompts) == 3 and proc.correction_record["applied"] is True
