"""Exact bytes on the wire for the E4980A / 4284A drivers (light meters:
test_protocol_light_meters.py)."""

import pytest
from pymeasure.test import expected_protocol

from instruments import safety
from instruments.hp import HP4284A, HP4284ALCRMeter
from instruments.keysight import KeysightE4980A, KeysightE4980ALCRMeter
from instruments.roles import LCRMeter

E4980_IDN = ("*IDN?", "Keysight Technologies,E4980A,MY1,A.02")
E4980_CONFIG = [("FUNCtion:IMPedance:TYPE CPG", None), (":FREQ:CW 10000", None),
                (":VOLT:LEV 0.05", None), (":APER MED,2", None), ("TRIG:SOUR BUS", None),
                (":INIT:CONT ON", None), ("SYST:ERR?", '+0,"No error"')]


def test_e4980a_configure_bias_measure_and_close():
    with expected_protocol(KeysightE4980A, [
            ("FORM ASC", None), E4980_IDN, *E4980_CONFIG, (":BIAS:VOLT 1.5", None),
            (":BIAS:STAT 1", None), (":TRIG:IMM;:FETC?", "+1.23E-09,+4.5E-06,+0"),
            (":BIAS:STAT 0", None), ("*OPC?", "1")]) as driver:
        lcr = KeysightE4980ALCRMeter(driver)
        assert isinstance(lcr, LCRMeter)
        lcr.configure(function="CPG", frequency_Hz=1e4, level_Vrms=0.05, averages=2)
        lcr.set_bias(1.5)
        c_F, g_S = lcr.measure()
        lcr.close()
    assert (c_F, g_S) == (1.23e-9, 4.5e-6)
    assert lcr.settings()["level_convention"] == "rms"
    assert lcr.settings()["level_Vrms"] == 0.05


@pytest.mark.parametrize("bias_V", [1.0, -1.5, 3.0])
def test_e4980a_standard_unit_refuses_other_bias_before_sending(bias_V):
    with expected_protocol(KeysightE4980A, [("FORM ASC", None), E4980_IDN]) as driver:
        lcr = KeysightE4980ALCRMeter(driver)
        with pytest.raises(ValueError, match=r"bias_V = .* one of 0, 1.5, 2 V"):
            lcr.set_bias(bias_V)
        with pytest.raises(ValueError, match=r"level_Vrms = 5 is out of range: allowed 0 … 2"):
            lcr.configure(level_Vrms=5)
        lcr._closed = True
        safety.unregister_source(lcr)


def test_e4980a_option_001_allows_negative_bias_and_20_Vrms():
    with expected_protocol(KeysightE4980A, [("FORM ASC", None), (":BIAS:VOLT -12.5", None),
                                            (":BIAS:STAT 1", None), (":VOLT:LEV 15", None)],
                           option_001=True) as d:
        d.apply_bias(-12.5)
        d.ac_voltage = 15
        with pytest.raises(ValueError):
            d.apply_bias(-41)


def test_hp4284a_negative_bias_only_with_option_001():
    with expected_protocol(HP4284A, []) as d:
        with pytest.raises(ValueError, match="one of 0, 1.5, 2 V"):
            d.check_bias(-1.0)
    with expected_protocol(HP4284A, [("OUTP:HPOW 1", None), ("*IDN?", "HEWLETT-PACKARD,4284A,0,01"),
                                     ("FUNC:IMP CPD", None), ("FREQ 1000", None),
                                     ("VOLT:LEV 0.1", None), ("APER LONG,4", None),
                                     ("TRIG:SOUR BUS", None), ("INIT:CONT ON", None),
                                     ("SYST:ERR?", '+0,"No error"'),
                                     ("BIAS:VOLT -5", None), ("BIAS:STAT 1", None),
                                     ("TRIG:IMM;:FETC?", "+2.0E-09,+1.0E-02,+0"),
                                     ("BIAS:STAT 0", None), ("*OPC?", "1")], option_001=True) as d:
        with HP4284ALCRMeter(d) as lcr:
            lcr.configure(function="CPD", frequency_Hz=1e3, level_Vrms=0.1, aperture="LONG",
                          averages=4)
            lcr.set_bias(-5.0)
            reading = lcr.measure()
    assert reading.dissipation == 1e-2 and reading.capacitance_F == 2e-9
    with pytest.raises(ValueError, match="only measured in function CPG"):
        reading.conductance_S


def test_lcr_external_bias_goes_to_the_smu():
    class FakeSMU:
        function, output, calls = None, False, []

        def configure_voltage_source(self, compliance_A):
            self.function = "VOLT"
            self.calls.append(("compliance", compliance_A))

        def set_voltage(self, v):
            self.calls.append(("V", v))

        def output_on(self):
            self.output = True
            self.calls.append("on")

        def output_off(self):
            self.output = False
            self.calls.append("off")

    smu = FakeSMU()
    # Nothing about bias may reach the LCR meter itself.
    with expected_protocol(KeysightE4980A, [("FORM ASC", None), E4980_IDN]) as driver:
        lcr = KeysightE4980ALCRMeter(driver, bias_source="external", bias_smu=smu,
                                     external_bias_compliance_A=2e-4)
        lcr.set_bias(-3.0)                  # not allowed internally on a standard unit
        lcr.close()
    assert smu.calls == [("compliance", 2e-4), ("V", -3.0), "on", "off"]


@pytest.mark.parametrize("cls, prefix, max_averages", [
    (KeysightE4980A, ":", 256),
    (HP4284A, "", 128),
])
def test_shared_driver_code_keeps_each_models_prefix_and_ranges(cls, prefix, max_averages):
    """One LCRDriverMixin serves both meters: prefix, averaging range and bias per model."""
    opening = [("FORM ASC", None)] if cls is KeysightE4980A else []
    with expected_protocol(cls, [*opening, (f"{prefix}APER?", "LONG,+16"),
                                 (f"{prefix}APER SHOR,{max_averages}", None),
                                 (f"{prefix}BIAS:VOLT 2", None), (f"{prefix}BIAS:STAT 1", None),
                                 (f"{prefix}TRIG:IMM;:FETC?", "+1.0E-09,+2.0E-06,+0")]) as d:
        assert d.aperture_time == ("LONG", 16)
        d.aperture_time = ("SHOR", max_averages)
        with pytest.raises(ValueError):
            d.aperture_time = ("SHOR", max_averages + 1)          # refused before sending
        d.apply_bias(2.0)
        assert d.trigger_and_fetch() == (1e-9, 2e-6, 0)
