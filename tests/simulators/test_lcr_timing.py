"""Measurement time of the simulated LCR meters: aperture × averages at the test frequency
(simulators.lcr_model.E4980A_MEASUREMENT_TIME), longer at low frequency, on the bench's scaled
clock; and the level / bias monitors."""
import time

import pytest

from simulators.e4980a import KeysightE4980A
from simulators.lcr_model import E4980A_MEASUREMENT_TIME
from simulators.transports import TcpServer

from .sim_client import RawClient
from .test_lcr_trigger_status import RC, Clock


@pytest.fixture
def meter():
    clock = Clock()
    inst = KeysightE4980A(RC(cp_F=1e-9, g_S=1e-6, bias_current_A=2e-3), clock=clock)
    server = TcpServer(inst, name="lcr-timing").start()
    client = RawClient(server.resource)
    yield client, clock
    client.close()
    server.close()


def _trigger_time(client, clock, setup):
    client.ask(setup + ";*OPC?")
    t0 = clock.t
    client.ask(":TRIG;:FETC?")
    return clock.t - t0


@pytest.mark.parametrize("aperture, t_1k", [("SHOR", 5.6e-3), ("MED", 88e-3),
                                            ("LONG", 220e-3)])
def test_time_per_measurement_at_1_khz_and_above_is_the_data_sheets(meter, aperture, t_1k):
    client, clock = meter
    client.write("*RST;:TRIG:SOUR BUS;:INIT:CONT ON")
    for f in (1e3, 1e5, 2e6):
        dt = _trigger_time(client, clock, f":FREQ {f:g};:APER {aperture},1")
        assert dt == pytest.approx(t_1k, rel=1e-9)
    assert _trigger_time(client, clock, f":FREQ 1e4;:APER {aperture},8") == \
        pytest.approx(8 * t_1k, rel=1e-9)                         # averaging repeats it
    client.write(":TRIG:DEL 0.5")
    assert _trigger_time(client, clock, ":APER MED,1") == pytest.approx(0.588, rel=1e-9)


def test_time_grows_below_1_khz(meter):
    client, clock = meter
    client.write("*RST;:TRIG:SOUR BUS;:INIT:CONT ON")
    times = {ap: [_trigger_time(client, clock, f":FREQ {f:g};:APER {ap},1")
                  for f in (20, 50, 100, 300, 1000)] for ap in ("SHOR", "MED", "LONG")}
    for ap, t in times.items():
        assert all(a > b for a, b in zip(t, t[1:])), (ap, t)      # strictly longer below
        assert t[0] == pytest.approx(E4980A_MEASUREMENT_TIME.time_s(ap, 1, 20.0), rel=1e-9)
        assert t[0] > 10 * t[-1] if ap == "SHOR" else t[0] > 2 * t[-1]
    assert times["SHOR"][0] < times["MED"][0] < times["LONG"][0]


def test_measurement_takes_its_time_on_the_benchs_scaled_clock(make_bench):
    """20 Hz, LONG ×4 at time_scale 100: the reply comes after the simulated time has passed
    on the bench clock (≈ 49 ms of wall time), not at once."""
    bench = make_bench(time_scale=100.0)
    expected = E4980A_MEASUREMENT_TIME.time_s("LONG", 4, 20.0)
    with RawClient(bench.resources["lcr"]) as c:
        c.ask("*RST;:TRIG:SOUR BUS;:INIT:CONT ON;:FREQ 20;:APER LONG,4;*OPC?")
        t0, w0 = bench.clock.time(), time.monotonic()
        c.ask(":TRIG;:FETC?")
        assert bench.clock.time() - t0 >= expected
        assert time.monotonic() - w0 >= expected / 100.0 * 0.9


def test_level_and_bias_monitors(meter):
    client, _ = meter
    client.write("*RST;:TRIG:SOUR BUS;:INIT:CONT ON;:FREQ 1e4;:VOLT 0.1;:BIAS:VOLT 1.5;"
                 ":BIAS:STAT ON")
    client.ask(":TRIG;*OPC?")
    assert float(client.ask(":FETC:SMON:VAC?")) == 9.9e37            # monitor off
    client.write(":FUNC:SMON:VAC ON;:FUNC:SMON:IAC ON;:FUNC:SMON:VDC ON;:FUNC:SMON:IDC ON")
    client.ask(":TRIG;*OPC?")
    assert float(client.ask(":FETC:SMON:VAC?")) == pytest.approx(0.1, rel=1e-5)
    z = abs(1 / complex(1e-6, 2 * 3.141592653589793 * 1e4 * 1e-9))
    assert float(client.ask(":FETC:SMON:IAC?")) == pytest.approx(0.1 / z, rel=1e-5)
    assert float(client.ask(":FETC:SMON:VDC?")) == pytest.approx(1.5, rel=1e-6)
    assert float(client.ask(":FETC:SMON:IDC?")) == pytest.approx(2e-3, rel=1e-6)


def test_4284a_measurement_time_is_its_data_sheets():
    """4284A/4285A data sheet p. 14: 100 Hz 270/400/1040 ms, 1 kHz 40/190/830 ms,
    10 kHz and 1 MHz 30/180/820 ms (SHORT/MED/LONG)."""
    from simulators.hp4284a import Agilent4284A

    clock = Clock()
    inst = Agilent4284A(RC(), clock=clock)
    expected = {100: (0.270, 0.400, 1.040), 1e3: (0.040, 0.190, 0.830),
                1e4: (0.030, 0.180, 0.820), 1e6: (0.030, 0.180, 0.820)}
    inst.handle("*RST;TRIG:SOUR BUS;:INIT:CONT ON")
    for f, times in expected.items():
        for aperture, t in zip(("SHOR", "MED", "LONG"), times):
            inst.handle(f"FREQ {f:g};:APER {aperture},2")
            t0 = clock.t
            inst.handle("TRIG")
            assert clock.t - t0 == pytest.approx(2 * t, rel=1e-9), (f, aperture)
