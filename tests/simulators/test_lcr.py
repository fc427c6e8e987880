import math

import pytest

from simulators.e4980a import KeysightE4980A, impedance_values
from simulators.hp4284a import Agilent4284A


class FixedRC:
    """A parallel Cp-G load with known values (independent of the device model)."""

    def __init__(self, cp_F=2e-9, g_S=1e-5):
        self.cp, self.g, self.calls = cp_F, g_S, []

    def capacitance(self, frequency_Hz, bias_V, level_Vrms):
        self.calls.append((frequency_Hz, bias_V, level_Vrms))
        return self.cp, self.g


def fetch(lcr, msg):
    return [float(x) for x in lcr.handle(msg).split(",")]


def test_cpd_cpg_csrs_against_closed_forms():
    load = FixedRC()
    lcr = KeysightE4980A(load)
    w = 2 * math.pi * 1e4
    cp, d, st = fetch(lcr, ":FUNC:IMP CPD;:FREQ 1e+04;:VOLT 0.05;:TRIG:SOUR BUS;:TRIG;:FETC?")
    assert cp == pytest.approx(2e-9, rel=1e-6) and d == pytest.approx(1e-5 / (w * 2e-9), rel=1e-6)
    assert st == 0 and load.calls[-1] == (1e4, 0.0, 0.05)      # level passed in V rms
    cs, rs, _ = fetch(lcr, "FUNCtion:IMPedance:TYPE CSRS;:TRIG;:FETCH?")
    z = 1 / complex(1e-5, w * 2e-9)
    assert rs == pytest.approx(z.real, rel=1e-6) and cs == pytest.approx(-1 / (w * z.imag), rel=1e-6)


def test_bias_without_and_with_option_001():
    std = KeysightE4980A(FixedRC(), option_001=False)
    std.handle(":BIAS:VOLT 1.5;:BIAS:STAT ON")
    assert std.handle(":SYST:ERR?") == '0,"No error"'
    std.handle(":BIAS:VOLT -1")
    assert std.handle(":SYST:ERR?") == '-222,"Data out of range"'
    std.handle(":VOLT 5")
    assert std.handle(":SYST:ERR?") == '-222,"Data out of range"'
    opt = KeysightE4980A(FixedRC(), option_001=True)
    load = opt.pixel
    opt.handle(":BIAS:VOLT -1.25;:BIAS:STAT ON;:TRIG;:FETC?")
    assert load.calls[-1][1] == -1.25 and opt.handle(":SYST:ERR?") == '0,"No error"'
    opt.handle(":BIAS:VOLT 41")
    assert opt.handle(":SYST:ERR?") == '-222,"Data out of range"'


def test_4284a_needs_high_power_mode():
    lcr = Agilent4284A(FixedRC(), option_001=True)
    lcr.handle("BIAS:VOLT -3")
    assert lcr.handle("SYST:ERR?") == '-222,"Data out of range"'
    lcr.handle("OUTP:HPOW 1;:BIAS:VOLT -3")
    assert lcr.handle("SYST:ERR?") == '0,"No error"'
    lcr.handle(":FREQ 2e6")
    assert lcr.handle("SYST:ERR?") == '-222,"Data out of range"'


def test_list_sweep_and_aperture_time():
    class Clock:
        t = 0.0
        def time(self): return self.t
        def sleep(self, s): self.t += s
    load, clock = FixedRC(), Clock()
    lcr = KeysightE4980A(load, clock=clock)
    lcr.handle(":APER LONG,4")
    assert lcr.handle(":APER?") == "LONG,4"
    for msg in ("TRIG:SOUR BUS", "DISP:PAGE LIST", "FORM ASC", "LIST:MODE SEQ",
                "LIST:FREQ 1.000000e+03,1.000000e+04,1.000000e+05"):   # as PyMeasure's freq_sweep
        lcr.handle(msg)
    assert lcr.handle("SYST:ERR?") == '0,"No error"'
    t0 = clock.t
    vals = fetch(lcr, ":TRIG:IMM;:FETCh:IMPedance:FORMatted?")
    assert len(vals) == 12 and [c[0] for c in load.calls[-3:]] == [1e3, 1e4, 1e5]
    assert clock.t - t0 == pytest.approx(3 * 4 * 0.220)


def test_impedance_function_table_consistency():
    a, b = impedance_values("ZTD", 1e3, 1e-9, 0.0)
    assert a == pytest.approx(1 / (2 * math.pi * 1e3 * 1e-9)) and b == pytest.approx(-90.0)


# -- bias tee: the meter measures at its own bias + the SMU's DC -----------------------------

class BiasedRC(FixedRC):
    """FixedRC behind a bias tee whose SMU holds ``dc_V`` across it."""

    def __init__(self, dc_V):
        super().__init__()
        self.dc_V = dc_V

    def dc_bias_V(self):
        return self.dc_V


def test_bias_tee_adds_the_smu_voltage_to_the_meters_own_bias():
    load = BiasedRC(-0.7)
    lcr = KeysightE4980A(load, option_001=True, bias_tee=True)
    fetch(lcr, ":TRIG:SOUR BUS;:TRIG;:FETC?")
    assert load.calls[-1][1] == pytest.approx(-0.7)            # meter bias off: the SMU's only
    fetch(lcr, ":BIAS:VOLT -1.25;:BIAS:STAT ON;:TRIG;:FETC?")
    assert load.calls[-1][1] == pytest.approx(-1.95)           # both sources in series
    load.dc_V = 0.0
    fetch(lcr, ":BIAS:STAT OFF;:TRIG;:FETC?")
    assert load.calls[-1][1] == 0.0
    # Wired without a tee the meter sees its own bias only, whatever the SMU does.
    direct = BiasedRC(-0.7)
    fetch(KeysightE4980A(direct, bias_tee=False), ":BIAS:VOLT 2;:BIAS:STAT ON;:TRIG;:FETC?")
    assert direct.calls[-1][1] == 2.0


class _Clock:
    t = 0.0

    def time(self):
        return self.t

    def sleep(self, s):
        self.t += s


def _pixel_smu_and_meter(bias_tee=True):
    from simulators.bench import Pixel, make_device
    from simulators.keithley2400 import Keithley2400

    clock = _Clock()
    pixel = Pixel(make_device("uniform_junction"), clock)
    smu = Keithley2400(pixel, clock)
    # a standard unit (internal bias 0/1.5/2 V only) behind a bias tee
    lcr = KeysightE4980A(pixel, clock=clock, option_001=False, bias_tee=bias_tee)
    return pixel, smu, lcr


@pytest.mark.parametrize("bias_V", [-1.5, -0.35, 0.4])
def test_bias_tee_on_a_pixel_measures_the_device_at_the_smu_bias(bias_V):
    """Cp and G against the device model evaluated at the SMU's voltage; the SMU meanwhile
    reads the device's DC current at that voltage (the AC rides on top)."""
    pixel, smu, lcr = _pixel_smu_and_meter()
    dev = pixel.device
    f, level = 1e5, 0.05
    smu.handle(f":SOUR:FUNC VOLT;:SENS:CURR:PROT 1e-3;:SOUR:VOLT {bias_V};:OUTP ON")
    cp, g, st = fetch(lcr, f":FUNC:IMP CPG;:FREQ {f:g};:VOLT {level};:TRIG:SOUR BUS;:TRIG;:FETC?")
    cp_true, g_true = dev.capacitance(f, bias_V, level)
    assert st == 0
    assert cp == pytest.approx(float(cp_true), rel=1e-6)
    assert g == pytest.approx(float(g_true), rel=1e-6)
    # not the zero-bias value: a 0.35 V shift moves Cp of this junction by > 5 %
    assert abs(cp / float(dev.capacitance(f, 0.0, level)[0]) - 1) > 0.05
    v, i, *_ = [float(x) for x in smu.handle(":FORM:ELEM VOLT,CURR;:READ?").split(",")]
    assert v == bias_V and i == pytest.approx(float(dev.current_A(bias_V)), rel=1e-9)
    # output off: the meter sees 0 V again
    smu.handle(":OUTP OFF")
    cp0, _, _ = fetch(lcr, ":TRIG;:FETC?")
    assert cp0 == pytest.approx(float(dev.capacitance(f, 0.0, level)[0]), rel=1e-6)


def test_bias_tee_in_compliance_biases_at_the_limited_voltage():
    """A voltage source in current compliance holds V(I_limit) across the device, not the
    programmed level; the meter measures there."""
    pixel, smu, lcr = _pixel_smu_and_meter()
    dev = pixel.device
    smu.handle(":SOUR:FUNC VOLT;:SENS:CURR:PROT 1e-7;:SOUR:VOLT 3;:OUTP ON")
    v_dev = float(dev.voltage_V(1e-7))
    assert v_dev < 2.9
    assert pixel.dc_bias_V() == pytest.approx(v_dev, rel=1e-9)
    cp, _, _ = fetch(lcr, ":FUNC:IMP CPG;:FREQ 1e5;:VOLT 0.02;:TRIG:SOUR BUS;:TRIG;:FETC?")
    assert cp == pytest.approx(float(dev.capacitance(1e5, v_dev, 0.02)[0]), rel=1e-6)


def test_without_a_bias_tee_the_smu_does_not_bias_the_meters_measurement():
    pixel, smu, lcr = _pixel_smu_and_meter(bias_tee=False)
    smu.handle(":SOUR:FUNC VOLT;:SENS:CURR:PROT 1e-3;:SOUR:VOLT -1.5;:OUTP ON")
    assert pixel.dc_bias_V() == -1.5
    cp, _, _ = fetch(lcr, ":FUNC:IMP CPG;:FREQ 1e5;:VOLT 0.05;:TRIG:SOUR BUS;:TRIG;:FETC?")
    assert cp == pytest.approx(float(pixel.device.capacitance(1e5, 0.0, 0.05)[0]), rel=1e-6)
