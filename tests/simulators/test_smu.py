import importlib.util
import math
import re
import pathlib

import numpy as np
import pytest
from scipy import constants

from simulators.bench import si_photodiode_responsivity_A_W

_spec = importlib.util.spec_from_file_location("sim_client", pathlib.Path(__file__).with_name("sim_client.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
RawClient = _mod.RawClient


#: The pixel ages while driven (T50 = 30 min at 1000 cd/m²), so between a reading and the
#: truth evaluated after it the I-V drifts by < 1 %; a unit error is ≥ 10×.
AGEING_REL = 1e-2


def floats(reply):
    return [float(x.rstrip("A")) for x in reply.split(",")]


def test_2400_reads_device_truth_and_compliance(bench):
    dev = bench.selected_pixel.device
    with RawClient(bench.resources["smu"]) as c:
        c.write(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS")
        v, i, r, t, st = floats(c.ask(":SOURCE:FUNCTION VOLT;:SENSE:CURRENT:PROTECTION 0.1;:OUTPUT 1;"
                                      ":SOURCE:VOLTAGE 3.5;:READ?"))
        assert v == 3.5 and i == pytest.approx(float(dev.current_A(3.5)), rel=AGEING_REL)
        assert r == 9.91e37 and not int(st) & 8
        # compliance: clamps the current, sets status bit 3, voltage = V(I_limit)
        v, i, r, t, st = floats(c.ask(":SENS:CURR:PROT 1e-4;:SOUR:VOLT 8;:READ?"))
        assert i == pytest.approx(1e-4) and int(st) & 8
        assert v == pytest.approx(float(dev.voltage_V(1e-4)), rel=AGEING_REL)
        c.write(":SOUR:VOLT 500")
        assert c.ask(":SYST:ERR?") == '-222,"Data out of range"'


def test_2400_current_source_and_output_off(bench):
    dev = bench.selected_pixel.device
    with RawClient(bench.resources["smu"], timeout=0.5) as c:
        v, i, *_ = floats(c.ask(':SOUR:FUNC CURR;:SENS:FUNC "VOLT";:SENS:VOLT:PROT 10;:OUTP ON;'
                              ':SOUR:CURR 1e-3;:READ?'))
        assert i == 1e-3 and v == pytest.approx(float(dev.voltage_V(1e-3)), rel=AGEING_REL)
        assert c.ask(":OUTP OFF;:OUTP?") == "0"
        assert bench.selected_pixel.current_A == 0.0
        c.write(":READ?")            # the 2400 refuses to measure with the output off
        with pytest.raises(OSError):
            c.file.readline()
    with RawClient(bench.resources["smu"]) as c:
        assert c.ask(":SYST:ERR?") == '803,"Not permitted with OUTPUT off"'


def test_2400_hardware_sweep_and_list(bench):
    with RawClient(bench.resources["smu"]) as c:
        c.write(":SENS:CURR:PROT 0.1;:OUTP ON;:SOUR:VOLT:STAR 0;:SOUR:VOLT:STOP 5;:SOUR:VOLT:STEP 0.5;"
                ":SOUR:VOLT:MODE SWE;:TRIG:COUN 11")
        a = np.array(floats(c.ask(":READ?"))).reshape(-1, 5)
        assert np.allclose(a[:, 0], np.linspace(0, 5, 11))
        assert np.all(np.diff(a[:, 3]) > 0)          # timestamps increase
        c.write(":SOUR:VOLT:MODE LIST;:SOUR:LIST:VOLT 1,2,3;:TRIG:COUN 3")
        assert np.allclose(np.array(floats(c.ask(":READ?"))).reshape(-1, 5)[:, 0], [1, 2, 3])


def test_2400_nplc_sets_reading_time(make_bench):
    bench = make_bench(time_scale=1.0)
    with RawClient(bench.resources["smu"]) as c:
        c.write(":SYST:LFR 50;:SOUR:DEL:AUTO OFF;:OUTP ON;:SENS:CURR:NPLC 1;:TRIG:COUN 5")
        t = np.array(floats(c.ask(":READ?"))).reshape(-1, 5)[:, 3]
        assert np.mean(np.diff(t)) == pytest.approx(1 / 50 + 1e-3, rel=0.25)


def test_photodiode_sees_geometric_fraction(bench):
    with RawClient(bench.resources["smu"]) as smu, RawClient(bench.resources["photodiode"]) as pd:
        smu.ask(":SENS:CURR:PROT 0.1;:OUTP ON;:SOUR:VOLT 4;:READ?")
        _, i_pd, *_ = floats(pd.ask(":OUTP ON;:SOUR:VOLT 0;:READ?"))
    pixel = bench.selected_pixel
    wl = np.arange(360.0, 831.0, 1.0)
    radiance = pixel.device.spectral_radiance_W_sr_m2_nm(wl, pixel.current_A)
    r, d = 5.0, 20.0
    sin2 = r * r / (d * d + r * r)
    expected = sin2 * math.pi * pixel.device.params.area_cm2 * 1e-4 * np.trapezoid(
        radiance * si_photodiode_responsivity_A_W(wl), wl)
    assert i_pd == pytest.approx(expected, rel=AGEING_REL)
    # Independent check of the responsivity model: R = eta * q * lambda / (h c)
    assert si_photodiode_responsivity_A_W(550.0) == pytest.approx(
        0.85 * (1 - math.exp(-250 / 60)) / (1 + math.exp(-480 / 25)) * constants.e * 550e-9
        / (constants.h * constants.c))


def test_6485_route(make_bench):
    bench = make_bench(photodiode="6485")
    with RawClient(bench.resources["smu"]) as smu, RawClient(bench.resources["photodiode"]) as pd:
        smu.ask(":SENS:CURR:PROT 0.1;:OUTP ON;:SOUR:VOLT 4;:READ?")
        assert floats(pd.ask(":READ?"))[0] == 0.0           # zero check on after reset
        i = floats(pd.ask(":SYST:ZCH OFF;:FORM:ELEM READ;:READ?"))
        assert len(i) == 1 and i[0] > 0
        assert pd.ask(":READ?").endswith("A")


def test_2450_read_and_sweep(bench):
    dev = bench.selected_pixel.device
    with RawClient(bench.resources["smu2450"]) as c:
        src, rd, rel = floats(c.ask(':SOUR:FUNC VOLT;:SOUR:VOLT:ILIM 0.1;:SENS:FUNC "CURR";:OUTP ON;'
                                    ':SOUR:VOLT 3;:READ? "defbuffer1", SOUR, READ, REL'))
        assert src == 3 and rd == pytest.approx(float(dev.current_A(3.0)), rel=AGEING_REL)
        c.write(':TRAC:CLE "defbuffer1";:SOUR:SWE:VOLT:LIN 0, 4, 5, 0.001')
        a = np.array(floats(c.ask(':INIT;*WAI;:TRAC:DATA? 1, 5, "defbuffer1", SOUR, READ, REL'))).reshape(-1, 3)
        assert np.allclose(a[:, 0], [0, 1, 2, 3, 4])
        assert a[-1, 1] == pytest.approx(float(dev.current_A(4.0)), rel=AGEING_REL)
        c.write(":SOUR:VOLT:ILIM 5")
        # A 2450 error is an event-log entry: <code>,"<message>;<type>,<s>,<ns>" (2450
        # Reference Manual Rev. B p.6-101), not the 2400's <code>,"<message>".
        assert re.fullmatch(r'-222,"Data out of range;1,\d+,\d+"', c.ask(":SYST:ERR?"))
