"""The simulated switches: the 7001's SCPI replies, the relay box's line protocol, and the
bench's routing (the SMU sees the pixel wired to its bus, an open circuit when none)."""
from __future__ import annotations

import numpy as np
import pytest
import serial

from instruments.simulated import build_device, pixel_device_spec, substrate_devices
from simulators.bench import Bench
from simulators.keithley7001 import Keithley7001
from simulators.relay_box import RelayBox
from simulators.switch_matrix import CrosspointMatrix, violations


def test_7001_replies_and_reset_state():
    k = Keithley7001(CrosspointMatrix(2, 4))
    assert k.handle(":CLOS:STAT?") == "(@)"                  # *RST / power-on: all open
    k.handle(":CLOS (@1!1!3)")
    assert k.handle(":CLOS:STAT?") == "(@1!1!3)"
    assert k.handle(":CLOS? (@1!1!1:1!1!4)") == "0,0,1,0"
    k.handle(":CLOS (@1!5!1)")                              # no row 5 on a 7012
    assert k.handle(":SYST:ERR?") == '-222,"Data out of range"'
    k.handle(":OPEN ALL")
    assert k.handle(":CLOS:STAT?") == "(@)"
    k.handle(":CLOS (@1!2!2)")
    k.handle("*RST")
    assert k.handle(":CLOS:STAT?") == "(@)"


def test_relay_box_protocol():
    box = RelayBox(CrosspointMatrix(2, 4))
    assert box.handle("*IDN?") == "QLED,RELAYBOX,2x4,1.0"
    assert box.handle("CONN 1 3") == "OK"
    assert box.handle("CONN?") == "1=3,2=0"
    assert box.handle("CONN 1 2").startswith("ERR 3 BUSY")     # the firmware never makes
    assert box.handle("CONN 2 3").startswith("ERR 3 BUSY")     # a second connection
    assert box.handle("CONN 3 1").startswith("ERR 2")
    assert box.handle("FOO").startswith("ERR 1")
    assert box.handle("OPEN ALL") == "OK" and box.handle("CONN?") == "1=0,2=0"


def test_relay_box_on_a_pty():
    with Bench(switch="relay_box", pixels=4, serial_meters=False, noise=False) as bench:
        with serial.Serial(bench.resources["switch"], 115200, timeout=2) as line:
            line.write(b"CONN 1 2\r\n")
            assert line.readline() == b"OK\n"
            line.write(b"CONN?\n")
            assert line.readline() == b"1=2\n"
        assert bench.matrix.closed() == [(1, 2)]


def _current_at(bench, pixel, voltage_V=3.0):
    smu = bench.instrument("smu")
    if pixel is None:
        bench.matrix.open_all()
    else:
        bench.matrix.open_all()
        bench.matrix.close(1, pixel)
    smu.handle(":SOUR:FUNC VOLT;:SOUR:VOLT %g;:SENS:CURR:PROT 0.1;:OUTP ON" % voltage_V)
    reply = smu.handle(":READ?")
    smu.handle(":OUTP OFF")
    return float(reply.split(",")[1])


@pytest.mark.parametrize("model", ["keithley7001", "relay_box"])
def test_routing_gives_the_connected_pixels_physics(model):
    """Pixel 2's current through bus 1 is pixel 2's truth, not pixel 3's; with no relay
    closed the SMU sees an open circuit (0 A)."""
    specs = substrate_devices("passivated", 4)
    truth = [build_device(s).current_A(3.0) for s in specs]
    assert abs(truth[1] / truth[2] - 1) > 0.02          # the pixels do differ
    with Bench(devices=[build_device(s) for s in specs], switch=model, serial_meters=False,
               noise=False) as bench:
        assert _current_at(bench, None) == 0.0
        for k in (2, 3):
            assert _current_at(bench, k) == pytest.approx(truth[k - 1], rel=1e-6)
        assert violations(bench.relay_log) == []


def test_relay_log_records_hot_switching_and_double_connections():
    m = CrosspointMatrix(2, 4, output_on=lambda bus: bus == 2)
    m.close(1, 1)
    m.close(1, 2)            # two pixels on bus 1
    m.close(2, 2)            # pixel 2 on two buses, and bus 2's output is on
    found = violations(m.log)
    assert any("bus 1 holds pixels" in f for f in found)
    assert any("pixel 2 is on buses" in f for f in found)
    assert any("with the output on" in f for f in found)


def test_one_device_per_pixel_number():
    """pixel_device_spec is the one seeding: pixel k is the same device in every run."""
    a, b = pixel_device_spec("passivated", 3), substrate_devices("passivated", 4)[2]
    assert a == b
    assert np.isclose(build_device(a).current_A(3.0), build_device(b).current_A(3.0))
    assert pixel_device_spec("pristine", 3) != a and pixel_device_spec("passivated", 2) != a


def test_a_served_substrate_holds_the_same_pixels():
    """Bench(switch=…) without devices (``qled sim serve --switch``) = pixel_device_spec."""
    with Bench(switch="keithley7001", pixels=4, serial_meters=False) as bench:
        served = [p["device"]["parameters"] for p in bench.truth()["pixels"]]
    built = [build_device(s).truth()["parameters"] for s in substrate_devices("passivated", 4)]
    assert served == built
