"""Exact bytes on the wire for the Keithley drivers and their SourceMeter adapters."""

import math

import pytest
from pymeasure.test import expected_protocol

from instruments import safety
from instruments.keithley import (Keithley2400, Keithley2400SourceMeter, Keithley2450,
                                  Keithley2450SourceMeter, Keithley6485)
from instruments.roles import ComplianceNotSetError, InstrumentError, SourceMeter

FORMAT = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)
IDN = ("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1,C32")
CONFIG_V = [(":SOURCE:FUNCTION VOLT", None), (":SENSE:CURRENT:PROTECTION 0.01", None),
            (":SENSE:CURRENT:NPLCYCLES 1", None), (":SENSE:CURRENT:RANGE:AUTO 1", None),
            ("SYST:ERR?", '0,"No error"')]


def test_2400_voltage_point_loop_is_one_message_per_point():
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V, ("OUTPUT 1", None), ("*OPC?", "1"),
                                          (":SOUR:VOLT 2.5;:READ?", "2.5,1e-3,9.91e37,1.5,0"),
                                          (":SOUR:VOLT 3;:READ?", "3,1e-2,9.91e37,1.6,8"),
                                          ("OUTPUT 0", None), ("*OPC?", "1")]) as driver:
        smu = Keithley2400SourceMeter(driver)
        assert isinstance(smu, SourceMeter)
        smu.configure_voltage_source(compliance_A=0.01)
        smu.output_on()
        first = smu.source_voltage_and_measure(2.5)
        second = smu.source_voltage_and_measure(3.0)
        smu.close()
    assert (first.voltage_V, first.current_A, first.in_compliance, first.time_s) == \
        (2.5, 1e-3, False, 1.5)
    assert second.in_compliance is True          # status bit 3
    assert smu not in safety.open_sources()


def test_2400_current_source_and_nan():
    with expected_protocol(Keithley2400, [
            FORMAT, IDN, (":SOURCE:FUNCTION CURR", None), (':SENS:FUNC "VOLT","CURR"', None),
            (":SENSE:VOLTAGE:PROTECTION 8", None), (":SENSE:VOLTAGE:NPLCYCLES 0.1", None),
            (":SENSE:VOLTAGE:RANGE:AUTO 1", None), ("SYST:ERR?", '0,"No error"'),
            (":SOURCE:CURRENT 0.0001", None), ("*OPC?", "1"), ("OUTPUT 1", None), ("*OPC?", "1"),
            (":SOUR:CURR 0.001;:READ?", "9.9e37,1e-3,9.91e37,2,0"),
            (":READ?", "3.1,1e-3,9.91e37,2.1,0"), ("OUTPUT 0", None), ("*OPC?", "1")]) as driver:
        smu = Keithley2400SourceMeter(driver)
        smu.configure_current_source(compliance_V=8, nplc=0.1)
        smu.set_current(1e-4)
        smu.output_on()
        overflow = smu.source_current_and_measure(1e-3)
        again = smu.measure()
        smu.close()
    assert math.isnan(overflow.voltage_V) and overflow.current_A == 1e-3
    assert again.voltage_V == 3.1


def test_2400_list_sweep_chunks_of_100_and_restores_level():
    volts = [0.01 * k for k in range(150)]
    chunk1 = ",".join(f"{v:.7g}" for v in volts[:100])
    chunk2 = ",".join(f"{v:.7g}" for v in volts[100:])
    reply1 = ",".join(f"{v:.7g},1e-6,9.91e37,{k},0" for k, v in enumerate(volts[:100]))
    reply2 = ",".join(f"{v:.7g},1e-6,9.91e37,{k},8" for k, v in enumerate(volts[100:]))
    with expected_protocol(Keithley2400, [
            FORMAT, IDN, *CONFIG_V, ("OUTPUT 1", None), ("*OPC?", "1"),
            (f":SOUR:VOLT:MODE LIST;:SOUR:LIST:VOLT {chunk1};:TRIG:COUN 100;:SOUR:DEL 0.002",
             None), (":READ?", reply1),
            (f":SOUR:VOLT:MODE LIST;:SOUR:LIST:VOLT {chunk2};:TRIG:COUN 50;:SOUR:DEL 0.002",
             None), (":READ?", reply2),
            (":SOUR:VOLT:MODE FIX;:TRIG:COUN 1;:SOUR:VOLT 0", None), ("*OPC?", "1")]) as driver:
        smu = Keithley2400SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.01)
        smu.output_on()
        sweep = smu.sweep_voltage(volts, delay_s=0.002)
        smu.output = False   # leave the protocol without an OUTPUT 0 exchange
        smu.compliance = None
        smu.close()
    assert len(sweep) == 150
    assert sweep.voltage_V[120] == pytest.approx(1.2)
    assert not sweep.in_compliance[:100].any() and sweep.in_compliance[100:].all()


def test_2400_error_queue_entry_raises_with_its_text():
    with expected_protocol(Keithley2400, [
            FORMAT, IDN, *CONFIG_V[:-1], ("SYST:ERR?", '-221,"Settings conflict"'),
            ("SYST:ERR?", '0,"No error"')]) as driver:
        smu = Keithley2400SourceMeter(driver)
        with pytest.raises(InstrumentError, match="-221, Settings conflict"):
            smu.configure_voltage_source(compliance_A=0.01)
        smu.compliance = None
        smu.close()


@pytest.mark.parametrize("call, message", [
    (lambda s: s.output_on(), "refusing to switch the output on: no compliance set"),
    (lambda s: s.set_voltage(1.0), "set_voltage needs configure_voltage_source"),
    (lambda s: s.configure_voltage_source(compliance_A=2), "compliance_A = 2 is out of range: "
                                                            "allowed 1e-09 … 1.05 A"),
    (lambda s: s.configure_current_source(compliance_V=300), "compliance_V = 300 is out of range"),
    (lambda s: s.configure_voltage_source(compliance_A=1e-3, nplc=50), "nplc = 50 is out of range"),
])
def test_2400_refuses_before_anything_is_sent(call, message):
    # Only the connect exchanges are allowed: anything else on the wire fails the protocol.
    with expected_protocol(Keithley2400, [FORMAT, IDN]) as driver:
        smu = Keithley2400SourceMeter(driver)
        with pytest.raises((ValueError, ComplianceNotSetError), match=message) as info:
            call(smu)
        assert "\n" not in str(info.value)
        smu._closed = True   # nothing to switch off: close would send OUTPUT 0
        safety.unregister_source(smu)


def test_2400_level_out_of_range_and_output_required():
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V]) as driver:
        smu = Keithley2400SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.01)
        with pytest.raises(ValueError, match=r"voltage_V = 250 is out of range: allowed -210 … 210 V"):
            smu.source_voltage_and_measure(250)
        with pytest.raises(RuntimeError, match="needs the output on"):
            smu.source_voltage_and_measure(1.0)
        with pytest.raises(ValueError, match="voltages_V contains 300"):
            smu.sweep_voltage([0, 300], 0.0)
        smu._closed = True
        safety.unregister_source(smu)


def test_2400_driver_validators_at_real_limits():
    with expected_protocol(Keithley2400, [FORMAT, (":SENSE:CURRENT:PROTECTION 1.05", None)]) as d:
        d.compliance_current = 1.05
        with pytest.raises(ValueError):
            d.compliance_current = 1.2
        with pytest.raises(ValueError):
            d.compliance_current = -0.1        # stock allows negative; a limit is a magnitude
        with pytest.raises(ValueError):
            d.source_and_read("VOLT", 211)


def test_2400_output_off_on_exception_in_with_block():
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V, ("OUTPUT 1", None), ("*OPC?", "1"),
                                          ("OUTPUT 0", None), ("*OPC?", "1")]) as driver:
        with pytest.raises(ZeroDivisionError):
            with Keithley2400SourceMeter(driver) as smu:
                smu.configure_voltage_source(compliance_A=0.01)
                smu.output_on()
                1 / 0
    assert smu.output is False


def test_safety_registry_switches_open_sources_off():
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V, ("OUTPUT 1", None), ("*OPC?", "1"),
                                          ("OUTPUT 0", None), ("*OPC?", "1")]) as driver:
        smu = Keithley2400SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.01)
        smu.output_on()
        assert smu in safety.open_sources()
        assert safety.all_outputs_off() >= 1      # what atexit runs
        assert smu.output is False
        smu._closed = True
        safety.unregister_source(smu)


def test_2450_point_and_sweep():
    idn = ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,1,1.7")
    elements = '"defbuffer1", SOUR, READ, REL, STAT'
    with expected_protocol(Keithley2450, [
            idn, (":SOUR:FUNC VOLT", None), (':SENS:FUNC "CURR"', None),
            (":SOUR:VOLT:ILIM 0.005", None), (":SENS:CURR:NPLC 1", None),
            (":SENS:CURR:RANG:AUTO ON", None), ("SYST:ERR?", '0,"No error"'),
            (":OUTP ON", None), ("*OPC?", "1"),
            (f":SOUR:VOLT 2;:READ? {elements}", "2,0.005,0.01,8"),
            (':TRAC:CLE "defbuffer1";:SOUR:LIST:VOLT 0,1;:SOUR:SWE:VOLT:LIST 1, 0.01', None),
            (f':INIT;*WAI;:TRAC:DATA? 1, 2, {elements}', "0,1e-12,0,0,1,1e-6,0.05,0"),
            (":SOUR:VOLT:LEV 2", None), ("*OPC?", "1"), (":OUTP OFF", None), ("*OPC?", "1")]) as driver:
        smu = Keithley2450SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.005)
        smu.output_on()
        point = smu.source_voltage_and_measure(2.0)
        sweep = smu.sweep_voltage([0.0, 1.0], delay_s=0.01)
        smu.close()
    assert point.in_compliance and point.current_A == 0.005
    assert list(sweep.current_A) == [1e-12, 1e-6] and not sweep.in_compliance.any()


def test_2450_compliance_is_strict_not_truncated():
    with expected_protocol(Keithley2450, []) as d:
        with pytest.raises(ValueError):
            d.compliance_current = 2.0   # the stock driver silently truncates to 1.05


def test_6485_configure_and_read():
    with expected_protocol(Keithley6485, [(":FORM:ELEM READ", None), (":SYST:ZCH OFF", None),
                                          (":SENS:CURR:RANG:AUTO ON", None),
                                          (":SENS:CURR:NPLC 1", None),
                                          (":READ?", "-1.234E-09A")]) as d:
        d.configure(1.0)
        assert d.read_current_A() == pytest.approx(-1.234e-9, rel=1e-12)
