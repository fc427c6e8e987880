"""The LCR drivers and the LCRMeter role with the :FETCh? status: exact bytes on the wire
(expected_protocol), then the role against the simulated meters from their power-on and
*RST states (no simulator convenience: the trigger system is what the meter has)."""
import math

import pytest
from pymeasure.test import expected_protocol

from instruments import safety
from instruments.hp import HP4284A, HP4284ALCRMeter
from instruments.keysight import KeysightE4980A, KeysightE4980ALCRMeter
from instruments.roles import InstrumentError
from instruments.transport import open_adapter

E4980_OPEN = [("FORM ASC", None), ("*IDN?", "Keysight Technologies,E4980A,MY1,A.02")]
HP_OPEN = [("*IDN?", "HEWLETT-PACKARD,4284A,0,01")]


def _forget(lcr):
    lcr._closed = True
    safety.unregister_source(lcr)


@pytest.mark.parametrize("reply, status, text, valid_values", [
    ("+1.23457E-09,+4.50000E-06,+0", 0, "normal", True),
    ("+9.90000E+37,+9.90000E+37,+1", 1, "overload", False),
    ("+1.10000E-09,+4.00000E-06,+3", 3, "signal source overloaded", True),
    ("+1.10000E-09,+4.00000E-06,+4", 4, "ALC unable to regulate", True),
])
def test_e4980a_reading_carries_the_status(reply, status, text, valid_values):
    with expected_protocol(KeysightE4980A, [*E4980_OPEN, (":TRIG:IMM;:FETC?", reply)]) as d:
        lcr = KeysightE4980ALCRMeter(d)
        reading = lcr.measure()
        _forget(lcr)
    assert reading.status == status and reading.status_text == text
    assert reading.valid is (status == 0)
    # 9.9E37 ("no data" on an overload, User's Guide p. 261) never becomes a capacitance
    assert math.isfinite(reading.capacitance_F) is valid_values
    assert math.isfinite(reading.second) is valid_values


def test_e4980a_no_data_is_an_error_not_a_reading():
    with expected_protocol(KeysightE4980A, [*E4980_OPEN, (":TRIG:IMM;:FETC?",
                                                          "+9.90000E+37,+9.90000E+37,-1"),
                                            ("SYST:ERR?", '-211,"Trigger ignored"'),
                                            ("SYST:ERR?", '+0,"No error"')]) as d:
        lcr = KeysightE4980ALCRMeter(d)
        with pytest.raises(InstrumentError, match="status -1 \\(no data\\).*-211, Trigger "
                                                  "ignored"):
            lcr.measure()
        _forget(lcr)


@pytest.mark.parametrize("reply, status, text, finite", [
    ("+9.90000E+37,+9.90000E+37,+1", 1, "analog bridge unbalanced", False),
    ("+9.90000E+37,+9.90000E+37,+2", 2, "A/D converter not working", False),
    ("+2.00000E-09,+1.00000E-02,+4", 4, "ALC unable to regulate", True),
])
def test_4284a_codes_are_its_own(reply, status, text, finite):
    with expected_protocol(HP4284A, [*HP_OPEN, ("TRIG:IMM;:FETC?", reply)]) as d:
        lcr = HP4284ALCRMeter(d)
        reading = lcr.measure()
        _forget(lcr)
    assert (reading.status, reading.status_text) == (status, text)
    assert math.isfinite(reading.capacitance_F) is finite and not reading.valid


# -- against the simulated meters, from the states a real meter is in ----------------------

@pytest.mark.parametrize("role, cls", [("lcr", KeysightE4980ALCRMeter),
                                       ("lcr4284", HP4284ALCRMeter)])
def test_role_works_from_power_on_and_from_rst(make_bench, role, cls):
    bench = make_bench(time_scale=100.0)
    pixel = bench.pixels[0]
    lcr = cls.open(bench.resources[role], option_001=True)
    try:
        lcr.configure(function="CPG", frequency_Hz=1e4, level_Vrms=0.03)
        c_F, _ = lcr.measure()                           # from the power-on state
        assert c_F == pytest.approx(float(pixel.device.capacitance(1e4, 0.0, 0.03)[0]),
                                    rel=1e-5)
        lcr.driver.write("*RST")                         # trigger system Idle, buffer empty
        assert lcr.driver.ask("INIT:CONT?").strip() == "0"
        with pytest.raises(InstrumentError, match="no data"):
            lcr.measure()                                # not configured since: no trigger
        lcr.configure(function="CPG", frequency_Hz=1e4, level_Vrms=0.03)
        reading = lcr.measure()
        assert reading.valid and reading.capacitance_F == pytest.approx(c_F, rel=1e-5)
    finally:
        lcr.close()


def test_role_reports_an_overload_from_a_held_range(make_bench):
    """|Z| of the pixel (≈ 9 nF: 1.8 kΩ at 10 kHz) is far below what the 100 kΩ range
    measures: status +1, NaN values, a reading flagged invalid."""
    bench = make_bench(time_scale=100.0)
    with KeysightE4980ALCRMeter.open(bench.resources["lcr"], option_001=True) as lcr:
        lcr.configure(function="CPG", frequency_Hz=1e4, level_Vrms=0.03)
        lcr.driver.write(":FUNC:IMP:RANG 100000")
        reading = lcr.measure()
        assert (reading.status, reading.status_text) == (1, "overload")
        assert math.isnan(reading.capacitance_F) and not reading.valid


def test_stock_adapter_opening_leaves_the_meters_power_on_trigger_alone(make_bench):
    """Opening the driver writes only FORM ASC (stock) and reads *IDN?: the trigger system
    stays as the meter had it (free-running at power-on)."""
    bench = make_bench()
    lcr = KeysightE4980ALCRMeter(KeysightE4980A(open_adapter(bench.resources["lcr"])))
    try:
        assert lcr.driver.ask(":TRIG:SOUR?").strip() == "INT"
        assert lcr.driver.ask(":INIT:CONT?").strip() == "1"
    finally:
        lcr.close()
