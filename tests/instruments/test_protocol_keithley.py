"""Exact bytes on the wire for the Keithley drivers and their SourceMeter adapters."""

import math

import pytest
from pymeasure.test import expected_protocol

from instruments import safety
from instruments.keithley2400 import Keithley2400, Keithley2400SourceMeter
from instruments.keithley2450 import Keithley2450, Keithley2450SourceMeter
from instruments.keithley6485 import Keithley6485
from instruments.resilience import InstrumentConnectionError
from instruments.roles import ComplianceNotSetError, InstrumentError, SourceMeter

FORMAT = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)
IDN = ("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1,C32")
CONFIG_V = [(":SOURCE:FUNCTION VOLT", None), (":SENSE:CURRENT:PROTECTION 0.01", None),
            (":SENSE:CURRENT:NPLCYCLES 1", None), (":SENSE:CURRENT:RANGE:AUTO 1", None),
            ("SYST:ERR?", '0,"No error"')]


def test_2400_voltage_point_loop_is_one_message_per_point():
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V, ("OUTPUT 1", None), ("OUTPUT?", "1"),
                                          (":SOUR:VOLT 2.5;:READ?", "2.5,1e-3,9.91e37,1.5,0"),
                                          (":SOUR:VOLT 3;:READ?", "3,1e-2,9.91e37,1.6,8"),
                                          ("OUTPUT 0", None), ("OUTPUT?", "0")]) as driver:
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
            (":SOURCE:CURRENT 0.0001", None), ("*OPC?", "1"), ("OUTPUT 1", None), ("OUTPUT?", "1"),
            (":SOUR:CURR 0.001;:READ?", "9.9e37,1e-3,9.91e37,2,0"),
            (":READ?", "3.1,1e-3,9.91e37,2.1,0"), ("OUTPUT 0", None), ("OUTPUT?", "0")]) as driver:
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
            FORMAT, IDN, *CONFIG_V, ("OUTPUT 1", None), ("OUTPUT?", "1"),
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
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V, ("OUTPUT 1", None), ("OUTPUT?", "1"),
                                          ("OUTPUT 0", None), ("OUTPUT?", "0")]) as driver:
        with pytest.raises(ZeroDivisionError):
            with Keithley2400SourceMeter(driver) as smu:
                smu.configure_voltage_source(compliance_A=0.01)
                smu.output_on()
                1 / 0
    assert smu.output is False


def test_safety_registry_switches_open_sources_off():
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V, ("OUTPUT 1", None), ("OUTPUT?", "1"),
                                          ("OUTPUT 0", None), ("OUTPUT?", "0")]) as driver:
        smu = Keithley2400SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.01)
        smu.output_on()
        assert smu in safety.open_sources()
        assert safety.all_outputs_off() >= 1      # what atexit runs
        assert smu.output is False
        smu._closed = True
        safety.unregister_source(smu)


def test_2450_point_and_sweep():
    # Compliance is bit 5 (32) of SOURSTATus: 168 = limited + readback + output on, 136 =
    # readback + output on (2450 Reference Manual Rev. B p.8-29). The test used to read STAT,
    # whose bit 3 (8) is the front-terminal flag (p.8-33), and called 8 "in compliance".
    lang = ("*LANG?", "SCPI")
    idn = ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,1,1.7")
    elements = '"defbuffer1", SOUR, READ, REL, SOURSTAT'
    with expected_protocol(Keithley2450, [
            lang, idn, (":SOUR:FUNC VOLT", None), (':SENS:FUNC "CURR"', None),
            (":SOUR:VOLT:ILIM 0.005", None), (":SENS:CURR:NPLC 1", None),
            (":SENS:CURR:RANG:AUTO ON", None), ("SYST:ERR?", '0,"No error;0,0,0"'),
            (":OUTP ON", None), (":OUTP?", "1"),
            (f":SOUR:VOLT 2;:READ? {elements}", "1.9,0.005,0.01,168"),
            (':TRAC:CLE "defbuffer1";:SOUR:LIST:VOLT 0,1;:SOUR:SWE:VOLT:LIST 1, 0.01', None),
            (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "2"),
            (f':TRAC:DATA? 1, 2, {elements}', "0,1e-12,0,136,1,1e-6,0.05,136"),
            (":SOUR:VOLT:LEV 2", None), ("*OPC?", "1"), (":OUTP OFF", None), (":OUTP?", "0")]) as driver:
        smu = Keithley2450SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.005)
        smu.output_on()
        point = smu.source_voltage_and_measure(2.0)
        sweep = smu.sweep_voltage([0.0, 1.0], delay_s=0.01)
        smu.close()
    assert point.in_compliance and point.current_A == 0.005 and point.voltage_V == 1.9
    assert list(sweep.current_A) == [1e-12, 1e-6] and not sweep.in_compliance.any()


def test_2450_front_terminal_readings_are_not_in_compliance():
    # STATus 8 on every front-terminal reading must not read as compliance: the driver
    # asks for SOURSTATus (136: readback + output on) and never for STATus.
    elements = '"defbuffer1", SOUR, READ, REL, SOURSTAT'
    with expected_protocol(Keithley2450, [
            ("*LANG?", "SCPI"), IDN_2450, *CONFIG_V_2450, (":OUTP ON", None), (":OUTP?", "1"),
            (f":SOUR:VOLT 1;:READ? {elements}", "1.000000E+00,2.000000E-06,0.000000E+00,136"),
            (f":SOUR:VOLT 4;:READ? {elements}", "3.100000E+00,5.000000E-03,1.000000E-02,168"),
            (":OUTP OFF", None), (":OUTP?", "0")]) as driver:
        smu = Keithley2450SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.005)
        smu.output_on()
        free = smu.source_voltage_and_measure(1.0)
        limited = smu.source_voltage_and_measure(4.0)
        smu.close()
    assert free.in_compliance is False and (free.voltage_V, free.current_A) == (1.0, 2e-6)
    assert limited.in_compliance is True and limited.voltage_V == 3.1


def test_2450_sweep_stopped_at_the_limit_returns_the_points_made():
    # failAbort (on by default) ends the list at the first limited point (Rev. B p.6-85):
    # the driver reads how many readings the buffer holds and fetches those.
    elements = '"defbuffer1", SOUR, READ, REL, SOURSTAT'
    volts = [k * 0.5 for k in range(120)]            # > 100: :SOUR:LIST:VOLT:APPend
    first = ",".join(f"{v:.7g}" for v in volts[:100])
    rest = ",".join(f"{v:.7g}" for v in volts[100:])
    with expected_protocol(Keithley2450, [
            ("*LANG?", "SCPI"), IDN_2450, *CONFIG_V_2450, (":OUTP ON", None), (":OUTP?", "1"),
            (f':TRAC:CLE "defbuffer1";:SOUR:LIST:VOLT {first};:SOUR:LIST:VOLT:APP {rest};'
             ':SOUR:SWE:VOLT:LIST 1, 0', None),
            (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "3"),
            (f':TRAC:DATA? 1, 3, {elements}', "0,1e-9,0,136,0.5,1e-4,0.1,136,0.97,5e-3,0.2,168"),
            (":SOUR:VOLT:LEV 0", None), ("*OPC?", "1"), (":OUTP OFF", None), (":OUTP?", "0")]) as driver:
        smu = Keithley2450SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.005)
        smu.output_on()
        sweep = smu.sweep_voltage(volts, delay_s=0.0)
        smu.close()
    assert len(sweep) == 3 and list(sweep.in_compliance) == [False, False, True]
    assert sweep.voltage_V[-1] == 0.97


@pytest.mark.parametrize("language", ["TSP", "SCPI2400"])
def test_2450_left_in_another_command_set_is_refused_at_connect(language):
    # *LANG? is answered in every command set (Rev. B p.B-6); nothing else is sent.
    with expected_protocol(Keithley2450, [("*LANG?", language)]) as driver:
        with pytest.raises(InstrumentError) as info:
            Keithley2450SourceMeter(driver)
    message = str(info.value)
    assert "\n" not in message and f"uses the {language} command set" in message
    assert "MENU" in message and "Command Set to SCPI" in message
    assert "users report" in message          # the reboot is users' word, not the manual's


def test_2450_event_log_errors_read_as_their_message():
    # A 2450's :SYST:ERR? is an event-log entry (Rev. B p.6-101; later firmware: ;1;date).
    with expected_protocol(Keithley2450, [
            ("*LANG?", "SCPI"), ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,04451117,1.6.7c"),
            ("SYST:ERR?", '-113,"Undefined header;1,1367794863,384492889"'),
            ("SYST:ERR?", '-222,"Data out of range;1;2018/05/26 14:00:14.871"'),
            ("SYST:ERR?", '0,"No error;0,0,0"')]) as driver:
        smu = Keithley2450SourceMeter(driver)
        assert smu.idn == "KEITHLEY INSTRUMENTS,MODEL 2450,04451117,1.6.7c"   # no "INC."
        assert smu.read_errors() == [(-113, "Undefined header"), (-222, "Data out of range")]
        _forget(smu)


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


# ------------------------------------------------------------------ paths not covered above
LANG_2450 = ("*LANG?", "SCPI")
IDN_2450 = ("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,1,1.7")
ELEMENTS_2450 = '"defbuffer1", SOUR, READ, REL, SOURSTAT'
CONFIG_I_2450 = [(":SOUR:FUNC CURR", None), (':SENS:FUNC "VOLT"', None),
                 (":SOUR:CURR:VLIM 8", None), (":SENS:VOLT:NPLC 0.1", None),
                 (":SENS:VOLT:RANG:AUTO ON", None), ("SYST:ERR?", '0,"No error;0,0,0"')]
CONFIG_V_2450 = [(":SOUR:FUNC VOLT", None), (':SENS:FUNC "CURR"', None),
                 (":SOUR:VOLT:ILIM 0.005", None), (":SENS:CURR:NPLC 1", None),
                 (":SENS:CURR:RANG:AUTO ON", None), ("SYST:ERR?", '0,"No error;0,0,0"')]


def _forget(smu):
    """Leave the protocol without the closing OUTPUT OFF exchange."""
    smu._closed = True
    safety.unregister_source(smu)


def test_2400_set_voltage_writes_the_level_then_waits_for_opc():
    # J-V-L / SCLC park the pixel with set_voltage; the *OPC? makes the level applied before
    # anything else (a light reading) is taken.
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V,
                                          (":SOURCE:VOLTAGE 2.5", None), ("*OPC?", "1"),
                                          (":SOURCE:VOLTAGE -0.125", None), ("*OPC?", "1"),
                                          ("OUTPUT 0", None), ("OUTPUT?", "0")]) as driver:
        smu = Keithley2400SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.01)
        smu.set_voltage(2.5)
        assert smu.level == 2.5
        smu.set_voltage(-0.125)
        assert smu.level == -0.125
        smu.close()


def test_2400_set_voltage_garbled_opc_is_an_error():
    from instruments.transport import GarbledReplyError
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V,
                                          (":SOURCE:VOLTAGE 1", None), ("*OPC?", "0")]) as driver:
        smu = Keithley2400SourceMeter(driver, retries=0)
        smu.configure_voltage_source(compliance_A=0.01)
        with pytest.raises(InstrumentConnectionError, match=r"\*OPC\? answered '0'") as info:
            smu.set_voltage(1.0)
        assert isinstance(info.value.__cause__, GarbledReplyError)
        assert smu.level == 0.0          # not recorded as applied
        _forget(smu)


def test_2400_explicit_current_range_replaces_auto_range():
    with expected_protocol(Keithley2400, [
            FORMAT, IDN, (":SOURCE:FUNCTION VOLT", None), (":SENSE:CURRENT:PROTECTION 0.001", None),
            (":SENSE:CURRENT:NPLCYCLES 1", None), (":SENSE:CURRENT:RANGE 0.0001", None),
            ("SYST:ERR?", '0,"No error"'), ("OUTPUT 1", None), ("OUTPUT?", "1"),
            (":SOUR:VOLT 1;:READ?", "1,2.5e-05,9.91e37,0.5,0"),
            ("OUTPUT 0", None), ("OUTPUT?", "0")]) as driver:
        smu = Keithley2400SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=1e-3, current_range_A=1e-4)
        smu.output_on()
        r = smu.source_voltage_and_measure(1.0)
        smu.close()
    assert r.current_A == pytest.approx(2.5e-5, rel=1e-12)    # amperes, not mA
    assert (r.voltage_V, r.in_compliance, r.time_s) == (1.0, False, 0.5)


def test_smu_photodiode_on_a_2400_holds_0V_and_reads_amperes():
    from instruments.photodiode import PhotodiodeCalibration, SMUPhotodiode
    cal = PhotodiodeCalibration.si_default(radius_mm=5.0, distance_mm=50.0)
    with expected_protocol(Keithley2400, [
            FORMAT, IDN, (":SOURCE:FUNCTION VOLT", None), (":SENSE:CURRENT:PROTECTION 0.001", None),
            (":SENSE:CURRENT:NPLCYCLES 1", None), (":SENSE:CURRENT:RANGE:AUTO 1", None),
            ("SYST:ERR?", '0,"No error"'), (":SOURCE:VOLTAGE 0", None), ("*OPC?", "1"),
            ("OUTPUT 1", None), ("OUTPUT?", "1"), (":READ?", "0,-3.25E-09,9.91e37,7.5,0"),
            ("OUTPUT 0", None), ("OUTPUT?", "0")]) as driver:
        pd = SMUPhotodiode(Keithley2400SourceMeter(driver), cal, polarity=-1)
        assert pd.read_photocurrent_A() == pytest.approx(3.25e-9, rel=1e-12)
        pd.close()


def test_2450_explicit_current_range_disables_auto_range():
    with expected_protocol(Keithley2450, [
            LANG_2450, IDN_2450, (":SOUR:FUNC VOLT", None), (':SENS:FUNC "CURR"', None),
            (":SOUR:VOLT:ILIM 0.01", None), (":SENS:CURR:NPLC 2", None),
            (":SENS:CURR:RANG:AUTO 0;:SENS:CURR:RANG 1e-06", None), ("SYST:ERR?", '0,"No error"'),
            (":SOUR:VOLT:LEV 0.5", None), ("*OPC?", "1"),
            (":OUTP ON", None), (":OUTP?", "1"),
            (f":READ? {ELEMENTS_2450}", "0.5,-2.5E-07,1.25,136"),
            (":OUTP OFF", None), (":OUTP?", "0")]) as driver:
        smu = Keithley2450SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.01, nplc=2, current_range_A=1e-6)
        smu.set_voltage(0.5)
        smu.output_on()
        r = smu.measure()
        smu.close()
    assert r.voltage_V == 0.5 and r.current_A == pytest.approx(-2.5e-7, rel=1e-12)
    assert (r.in_compliance, r.time_s) == (False, 1.25)


def test_2450_current_source_path():
    with expected_protocol(Keithley2450, [
            LANG_2450, IDN_2450, *CONFIG_I_2450,
            (":SOUR:CURR:LEV 0.0001", None), ("*OPC?", "1"),
            (":OUTP ON", None), (":OUTP?", "1"),
            (f":SOUR:CURR 0.001;:READ? {ELEMENTS_2450}", "0.001,3.1,0.25,136"),
            (f":SOUR:CURR -2e-06;:READ? {ELEMENTS_2450}", "-2e-06,-8,0.5,168"),
            (f":READ? {ELEMENTS_2450}", "-2e-06,9.91e37,0.75,136"),
            (":OUTP OFF", None), (":OUTP?", "0")]) as driver:
        smu = Keithley2450SourceMeter(driver)
        smu.configure_current_source(compliance_V=8, nplc=0.1)
        smu.set_current(1e-4)
        assert smu.level == 1e-4
        smu.output_on()
        first = smu.source_current_and_measure(1e-3)
        limited = smu.source_current_and_measure(-2e-6)
        again = smu.measure()
        smu.close()
    # Sourcing current the buffer's SOUR is the current [A] and READ the voltage [V].
    assert (first.voltage_V, first.current_A, first.in_compliance, first.time_s) == \
        (3.1, 0.001, False, 0.25)
    assert (limited.voltage_V, limited.current_A, limited.in_compliance) == (-8.0, -2e-6, True)
    assert smu.level == -2e-6
    assert math.isnan(again.voltage_V) and again.current_A == -2e-6
    assert smu not in safety.open_sources()


def test_2450_garbled_reply_is_an_error():
    from instruments.transport import GarbledReplyError
    with expected_protocol(Keithley2450, [
            LANG_2450, IDN_2450, *CONFIG_I_2450, (":OUTP ON", None), (":OUTP?", "1"),
            (f":SOUR:CURR 0.001;:READ? {ELEMENTS_2450}", "0.001,3.1,0.25")]) as driver:
        smu = Keithley2450SourceMeter(driver, retries=0)
        smu.configure_current_source(compliance_V=8, nplc=0.1)
        smu.output_on()
        with pytest.raises(InstrumentConnectionError,
                           match="expected a multiple of 4 values, got 3") as info:
            smu.source_current_and_measure(1e-3)
        assert isinstance(info.value.__cause__, GarbledReplyError)
        _forget(smu)


@pytest.mark.parametrize("call, message", [
    (lambda s: s.set_current(1e-3), "set_current needs configure_current_source"),
    (lambda s: s.source_current_and_measure(1e-3), "source_current_and_measure needs "
                                                    "configure_current_source"),
    (lambda s: s.configure_current_source(compliance_V=0.01), "compliance_V = 0.01 is out of "
                                                              "range: allowed 0.02 … 210 V"),
    (lambda s: s.configure_current_source(compliance_V=8, nplc=20), "nplc = 20 is out of range"),
    (lambda s: s.configure_voltage_source(compliance_A=1e-3, current_range_A=2),
     "current_range_A = 2 is out of range: allowed 1e-09 … 1.05 A"),
    (lambda s: s.configure_voltage_source(compliance_A=1e-3, current_range_A=1e-12),
     "current_range_A = 1e-12 is out of range"),
    (lambda s: s.set_current(1.5), r"current_A = 1.5 is out of range: allowed -1.05 … 1.05 A"),
    (lambda s: s.source_current_and_measure(-2), "current_A = -2 is out of range"),
    (lambda s: s.set_voltage(float("nan")), "voltage_V = nan is out of range"),
    (lambda s: s.measure(), "measure needs the output on"),
])
def test_2450_refuses_before_anything_is_sent(call, message):
    with expected_protocol(Keithley2450, [LANG_2450, IDN_2450]) as driver:
        smu = Keithley2450SourceMeter(driver)
        with pytest.raises((ValueError, ComplianceNotSetError, RuntimeError),
                           match=message) as info:
            call(smu)
        assert "\n" not in str(info.value)
        assert smu.function is None and smu.level == 0.0
        _forget(smu)


@pytest.mark.parametrize("call, message", [
    (lambda s: s.set_voltage(250), r"voltage_V = 250 is out of range: allowed -210 … 210 V"),
    (lambda s: s.set_voltage(-210.5), "voltage_V = -210.5 is out of range"),
    (lambda s: s.configure_voltage_source(compliance_A=1e-3, current_range_A=1.2),
     "current_range_A = 1.2 is out of range: allowed 1e-09 … 1.05 A"),
    (lambda s: s.configure_voltage_source(compliance_A=1e-3, current_range_A=0),
     "current_range_A = 0 is out of range"),
])
def test_2400_configured_levels_out_of_range_send_nothing(call, message):
    # Configured first (those exchanges are expected); the refused call must add none.
    with expected_protocol(Keithley2400, [FORMAT, IDN, *CONFIG_V]) as driver:
        smu = Keithley2400SourceMeter(driver)
        smu.configure_voltage_source(compliance_A=0.01)
        with pytest.raises(ValueError, match=message) as info:
            call(smu)
        assert "\n" not in str(info.value)
        assert smu.level == 0.0 and smu._range is None and smu.compliance == 0.01
        _forget(smu)


def test_2450_current_source_level_out_of_range_sends_nothing():
    with expected_protocol(Keithley2450, [LANG_2450, IDN_2450, *CONFIG_I_2450, (":OUTP ON", None),
                                          (":OUTP?", "1")]) as driver:
        smu = Keithley2450SourceMeter(driver)
        smu.configure_current_source(compliance_V=8, nplc=0.1)
        smu.output_on()
        with pytest.raises(ValueError, match="current_A = 1.1 is out of range"):
            smu.source_current_and_measure(1.1)
        with pytest.raises(ValueError, match="current_A = -1.06 is out of range"):
            smu.set_current(-1.06)
        with pytest.raises(ComplianceNotSetError, match="source_voltage_and_measure needs "
                                                        "configure_voltage_source"):
            smu.source_voltage_and_measure(1.0)
        assert smu.level == 0.0
        _forget(smu)


def test_2450_driver_level_validation():
    with expected_protocol(Keithley2450, []) as d:
        with pytest.raises(ValueError):
            d.source_and_read("CURR", 1.2)
        with pytest.raises(ValueError):
            d.source_and_read("VOLT", -211)
        with pytest.raises(ValueError):
            d.source_and_read("RES", 1.0)
        with pytest.raises(ValueError):
            d.compliance_voltage = 0.01


@pytest.mark.parametrize("reply, amperes", [
    ("+1.234E-03A", 1.234e-3),                      # 1.234 mA, still reported in A
    ("-5.000E-12", -5e-12),                         # no unit suffix
    ("+2.5E-09A,+1.234E+02,+0.000E+00", 2.5e-9),    # reading, timestamp, status
    (" 7.5e-10a ", 7.5e-10),
])
def test_6485_reading_formats(reply, amperes):
    with expected_protocol(Keithley6485, [(":READ?", reply)]) as d:
        assert d.read_current_A() == pytest.approx(amperes, rel=1e-12)


def test_6485_garbled_reading_and_nplc_limits():
    from instruments.transport import GarbledReplyError
    with expected_protocol(Keithley6485, [(":READ?", "OVERFLOW")]) as d:
        with pytest.raises(GarbledReplyError, match="unparsable reply 'OVERFLOW'"):
            d.read_current_A()
        with pytest.raises(ValueError):
            d.nplc = 10           # 6485 allows 0.01 … 6


def test_picoammeter_photodiode_on_the_wire():
    from instruments.photodiode import PhotodiodeCalibration, PicoammeterPhotodiode
    cal = PhotodiodeCalibration.si_default(radius_mm=5.0, distance_mm=50.0)
    with expected_protocol(Keithley6485, [
            ("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 6485,1234567,B04"),
            (":FORM:ELEM READ", None), (":SYST:ZCH OFF", None), (":SENS:CURR:RANG:AUTO ON", None),
            (":SENS:CURR:NPLC 0.5", None), (":READ?", "-4.5E-08A")]) as d:
        pd = PicoammeterPhotodiode(d, cal, polarity=-1, nplc=0.5)
        assert "MODEL 6485" in pd.idn
        assert pd.read_photocurrent_A() == pytest.approx(4.5e-8, rel=1e-12)
    with expected_protocol(Keithley6485, []) as d:
        with pytest.raises(ValueError, match="nplc = 10 is out of range: allowed 0.01 … 6"):
            PicoammeterPhotodiode(d, cal, nplc=10)


def test_2400_read_errors_drains_the_queue_until_no_error():
    # The lifetime log records every queued error as an event; reading must stop at 0.
    with expected_protocol(Keithley2400, [FORMAT, IDN,
                                          ("SYST:ERR?", '-222,"Data out of range"'),
                                          ("SYST:ERR?", '-113,"Undefined header"'),
                                          ("SYST:ERR?", '0,"No error"'),
                                          ("SYST:ERR?", '0,"No error"')]) as driver:
        smu = Keithley2400SourceMeter(driver)
        assert smu.read_errors() == [(-222, "Data out of range"), (-113, "Undefined header")]
        assert smu.read_errors() == []
