"""Stock PyMeasure 0.16 drivers and plain pyvisa (@py) against the simulators, unmodified.

pyvisa-py's write+query costs ~44 ms (Nagle + delayed ACK), so each test keeps to a
handful of exchanges.
"""
import warnings

import pytest
import pyvisa
from pymeasure.instruments.agilent import AgilentE4980
from pymeasure.instruments.keithley import Keithley2400


@pytest.fixture
def rm():
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


def test_plain_pyvisa(bench, rm):
    inst = rm.open_resource(bench.resources["smu"], read_termination="\n", write_termination="\n")
    try:
        assert inst.query("*IDN?").startswith("KEITHLEY INSTRUMENTS INC.,MODEL 2400")
    finally:
        inst.close()


def test_pymeasure_keithley2400(bench):
    smu = Keithley2400(bench.resources["smu"], visa_library="@py",
                       read_termination="\n", write_termination="\n")
    try:
        smu.source_mode = "voltage"
        smu.compliance_current = 0.1
        smu.source_voltage = 3.0
        smu.source_enabled = True
        current = smu.current
        assert current == pytest.approx(float(bench.selected_pixel.device.current_A(3.0)), rel=1e-2)
        assert smu.next_error[0] == 0
    finally:
        smu.adapter.close()


def test_pymeasure_agilent_e4980(bench):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        lcr = AgilentE4980(bench.resources["lcr"], visa_library="@py",
                           read_termination="\n", write_termination="\n")
    try:
        lcr.mode = "CPG"
        lcr.frequency = 1e4
        lcr.ac_voltage = 0.05
        cp, g = lcr.impedance
        truth_cp, truth_g = bench.selected_pixel.device.capacitance(1e4, 0.0, 0.05)
        assert cp == pytest.approx(truth_cp, rel=1e-6) and g == pytest.approx(truth_g, rel=1e-6)
    finally:
        lcr.adapter.close()
