import math

import pytest

from simulators.lcr import Agilent4284A, KeysightE4980A, impedance_values


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
