"""DLCP and C-V with the DC bias from the SMU through a bias tee (issue 7), end to end.

A standard E4980A (no option 001: internal bias 0/1.5/2 V only) on the simulated bench, the
station's 2400 sourcing the bias (``sim_options`` ``lcr_bias_source = "smu"``); the simulated
meter measures at the voltage the SMU holds across the pixel (``simulators.e4980a``). Checked on
the simulators themselves (not on the drivers' bookkeeping): the bias reaches the device,
the densities come back against the truth, and the SMU's output ends off.
"""
import numpy as np
import pytest

from acquisition.runner import RunEngine, run_procedure
from acquisition.store import load_run
from reports.dlcp import analyze_cv_run, analyze_dlcp_run
from instruments.station import StationConfigError, open_station
from procedures.base import build_procedure
from procedures.cv import CVProcedure
from procedures.dlcp import DLCPProcedure

FAST = {"time_scale": 1e4}
TEE = {**FAST, "lcr_option_001": False, "lcr_bias_source": "smu"}
INTERNAL = {**FAST, "lcr_option_001": True}
DLCP = {"frequencies_Hz": "1000,100000", "readings_per_point": 4}
CV = {"frequencies_Hz": "100000", "level_Vrms": 0.01, "readings_per_point": 2,
      "step_bias_V": 0.1}


class Watched:
    """A procedure run with the simulated SMU, meter and pixel looked at on every reading."""

    def __init__(self, cls, overrides, **values):
        values.setdefault("eps_r", 25.0)
        self.proc = build_procedure(cls, values)
        self.proc.sim_overrides = dict(overrides)
        self.points = []           # (SMU output on, meter bias on, DC bias at the pixel [V])
        self.stop_after = None
        self.engine = None
        startup, read_point = self.proc.startup, self.proc.read_point

        def watched_startup():
            startup()
            bench = self.proc.instruments.bench
            self.smu, self.meter = bench.instrument("smu"), bench.instrument("lcr")
            self.pixel = bench.selected_pixel

        def watched_read_point():
            self.points.append((bool(self.smu.output), bool(self.meter.bias_on),
                                self.pixel.dc_bias_V()))
            if self.stop_after is not None and len(self.points) == self.stop_after:
                self.engine.stop()            # what Ctrl-C and the GUI's abort button do
            return read_point()

        self.proc.startup, self.proc.read_point = watched_startup, watched_read_point

    def run(self, tmp_path):
        self.engine = RunEngine(self.proc, tmp_path)
        self.result = self.engine.run(handle_signals=False)
        return self.result


def _finished(cls, overrides, tmp_path, **values):
    watched = Watched(cls, overrides, **values)
    result = watched.run(tmp_path)
    assert result.status == "finished", result.message
    return watched, load_run(result.path)


@pytest.fixture(scope="module")
def uniform(tmp_path_factory):
    """DLCP and C-V of the uniformly doped junction, bias tee and internal bias."""
    tmp = tmp_path_factory.mktemp("tee")
    out = {}
    for route, overrides in (("tee", TEE), ("internal", INTERNAL)):
        out[route, "dlcp"] = _finished(DLCPProcedure, overrides, tmp,
                                       station="sim:uniform_junction", **DLCP)
        out[route, "cv"] = _finished(CVProcedure, overrides, tmp,
                                     station="sim:uniform_junction", **CV)
    return out


@pytest.mark.parametrize("kind", ["dlcp", "cv"])
def test_the_smu_biases_the_device_and_the_meter_bias_stays_off(uniform, kind):
    watched, run = uniform["tee", kind]
    assert run.attrs["station"]["lcr"]["bias_source"] == "smu"
    assert run.attrs["station"]["lcr"]["option_001"] is False
    assert run.attrs["station"]["measurement"]["bias_source"] == "external"
    smu_on, meter_bias_on, dc_V = map(np.array, zip(*watched.points))
    assert len(dc_V) == len(run.data)
    assert smu_on.all() and not meter_bias_on.any()
    # the voltage across the pixel at each point is the row's bias (the SMU is sent 6 digits)
    np.testing.assert_allclose(dc_V, run.data.bias_V, rtol=1e-5, atol=1e-6)
    # the end: the SMU's output is off, nothing across the device, meter bias never on
    assert not watched.smu.output and watched.pixel.dc_bias_V() == 0.0
    assert watched.pixel.current_A == 0.0 and not watched.meter.bias_on
    msgs = run.events.message
    assert msgs[~msgs.str.contains(": output |^environment ")].iloc[-1] == "bias off"
    assert msgs.iloc[-1] == "smu: output off (read back: off)"     # the tee's SMU, read back


def test_bias_tee_recovers_n_dl_and_n_cv_of_the_truth(uniform):
    _, dl = uniform["tee", "dlcp"]
    _, cv = uniform["tee", "cv"]
    n_true = dl.truth["pixels"][0]["device"]["junction"]["free_carrier_density_cm3"][0]
    a_dl, a_cv = analyze_dlcp_run(dl), analyze_cv_run(cv)
    rel = np.array(a_dl["truth"]["profile_relative_error"], float)
    assert rel.size == 6 and np.all(np.abs(rel) < 0.05), rel
    np.testing.assert_allclose(a_dl["n_dl_cm3"], n_true, rtol=0.05)
    n_cv = a_cv["per_frequency"][0]["median_n_cv_reverse_cm3"]
    assert n_cv == pytest.approx(n_true, rel=0.05)
    assert np.median(a_dl["profile_n_dl_cm3"]) == pytest.approx(n_cv, rel=0.05)


@pytest.mark.parametrize("kind", ["dlcp", "cv"])
def test_bias_tee_and_internal_bias_measure_the_same(uniform, kind):
    """Same bench seed, same readings: the route of the bias changes nothing the meter sees
    (to the 6 digits the bias is written with), so N_DL / N_CV agree closely."""
    (_, tee), (_, internal) = uniform["tee", kind], uniform["internal", kind]
    np.testing.assert_allclose(tee.data.bias_V, internal.data.bias_V, rtol=0, atol=0)
    np.testing.assert_allclose(tee.data.capacitance_F, internal.data.capacitance_F, rtol=1e-5)
    if kind == "dlcp":
        np.testing.assert_allclose(analyze_dlcp_run(tee)["n_dl_cm3"],
                                   analyze_dlcp_run(internal)["n_dl_cm3"], rtol=1e-3)
    else:
        n = [analyze_cv_run(r)["per_frequency"][0]["median_n_cv_reverse_cm3"]
             for r in (tee, internal)]
        assert n[0] == pytest.approx(n[1], rel=1e-3)


def test_bias_tee_recovers_free_carriers_of_a_trapped_device(tmp_path):
    """Pristine device (traps with a ≈3 kHz cutoff): every curve within 5 % of
    N_free + g(f)·N_trap, and free carriers alone at 100 kHz."""
    _, run = _finished(DLCPProcedure, TEE, tmp_path, station="sim:pristine", **DLCP)
    a = analyze_dlcp_run(run)
    rel = np.array(a["truth"]["profile_relative_error"], float)
    assert np.all(np.abs(rel) < 0.05), rel
    n_free = run.truth["pixels"][0]["device"]["junction"]["free_carrier_density_cm3"][0]
    f, n = np.array(a["profile_frequency_Hz"]), np.array(a["profile_n_dl_cm3"])
    np.testing.assert_allclose(n[f == 1e5], n_free, rtol=0.05)
    assert np.all(n[f == 1e3] > 1.1 * n_free)     # the traps respond at 1 kHz


@pytest.mark.parametrize("cls, values", [(DLCPProcedure, DLCP), (CVProcedure, CV)])
def test_abort_mid_sweep_leaves_the_smu_output_off(tmp_path, cls, values):
    watched = Watched(cls, TEE, station="sim:uniform_junction", **values)
    watched.stop_after = 6
    result = watched.run(tmp_path)
    assert result.status == "aborted", result.message
    smu_on, _, dc_V = zip(*watched.points)
    assert len(dc_V) == 6 and all(smu_on) and dc_V[-1] != 0.0   # biased when stopped
    assert not watched.smu.output and watched.pixel.dc_bias_V() == 0.0
    assert watched.pixel.current_A == 0.0 and not watched.meter.bias_on


def test_failure_mid_sweep_leaves_the_smu_output_off(tmp_path):
    watched = Watched(DLCPProcedure, TEE, station="sim", frequencies_Hz="1000")
    read_point = watched.proc.read_point

    def failing():
        if len(watched.points) == 4:
            raise RuntimeError("simulated fault in the middle of the sweep")
        return read_point()

    watched.proc.read_point = failing
    result = watched.run(tmp_path)
    assert result.status == "failed" and "simulated fault" in result.message
    assert watched.points[-1][0] is True
    assert not watched.smu.output and watched.pixel.dc_bias_V() == 0.0


@pytest.fixture
def wire_log(monkeypatch):
    """Every message the simulated E4980A and 2400 receive, in order."""
    from simulators.e4980a import KeysightE4980A
    from simulators.keithley2400 import Keithley2400

    log = []
    for cls in (KeysightE4980A, Keithley2400):
        original = cls.handle

        def handle(self, message, _original=original, _name=cls.__name__):
            log.append((_name, message))
            return _original(self, message)

        monkeypatch.setattr(cls, "handle", handle)
    return log


def _sourcing(log):
    """Messages that would put a voltage on the device (bias, level, trigger, output)."""
    words = ("BIAS", "VOLT", "TRIG", "OUTP", "INIT", "SOUR")
    return [(who, m) for who, m in log if any(w in m.upper() for w in words)
            and not m.strip().upper().startswith("FORM")]


@pytest.mark.parametrize("cls, values", [
    (DLCPProcedure, {"frequencies_Hz": "1000"}),    # V_DC = V_max − δV_pp/2: −0.057 V …
    (CVProcedure, {"frequencies_Hz": "100000"}),    # −2 … 0.5 V
])
def test_standard_unit_refuses_internal_bias_before_anything_is_sourced(tmp_path, wire_log,
                                                                        cls, values):
    proc = build_procedure(cls, {"station": "sim", "eps_r": 25.0, **values})
    proc.sim_overrides = {**FAST, "lcr_option_001": False}          # internal bias (default)
    result = run_procedure(proc, tmp_path, handle_signals=False)
    assert result.status == "failed"
    assert "\n" not in result.message
    assert "bias_V = " in result.message and "one of 0, 1.5, 2 V" in result.message
    assert "option 001 or an external bias tee" in result.message
    assert wire_log, "the meter was never reached: the check was not made against it"
    sent = _sourcing(wire_log)
    # shutdown's bias off is the only bias command; nothing was set, triggered or switched on
    assert all(m.strip().upper() in (":BIAS:STAT 0",) for _, m in sent), sent


def test_station_sim_option_selects_the_bias_route():
    with open_station("sim", roles=("lcr",), sim_options={
            **FAST, "lcr_bias_source": "smu", "lcr_option_001": False}) as st:
        assert st.lcr.bias_source == "external" and st.lcr.bias_smu is st.smu
        assert st.lcr.driver.option_001 is False and st.config["lcr"]["bias_source"] == "smu"
        assert st.bench.lcr_bias_tee is True         # the bench is wired as the station says
        # the tee route through the role: the pixel sees it, the SMU reads its DC current
        st.lcr.set_bias(-1.2)
        assert st.bench.selected_pixel.dc_bias_V() == pytest.approx(-1.2)
        device = st.bench.selected_pixel.device
        reading = st.smu.measure()
        assert reading.voltage_V == pytest.approx(-1.2, abs=1e-3)
        assert reading.current_A == pytest.approx(float(device.current_A(-1.2)), rel=0.02)
        st.lcr.bias_off()
        assert not st.bench.instrument("smu").output
    with open_station("sim", roles=("lcr",), sim_options=FAST) as st:
        assert st.lcr.bias_source == "internal" and st.smu is None
        assert st.lcr.driver.option_001 is True and st.bench.lcr_bias_tee is False


def test_station_sim_option_bad_bias_source_is_one_line_per_problem():
    with pytest.raises(StationConfigError) as exc:
        open_station("sim", roles=("lcr",), sim_options={**FAST, "lcr_bias_source": "tee"})
    assert str(exc.value) == ("sim: [lcr] bias_source = 'tee' is not allowed: use one of "
                              "'internal', 'smu'")
