"""Switch drivers: the 7001's wire protocol (expected_protocol), MatrixSwitch against both
simulators over real transports (TCP, pty), the output guard, and the [switch] table."""
from __future__ import annotations

import pytest
from pymeasure.test import expected_protocol

from instruments.keithley7001 import Keithley7001
from instruments.relay_box import RelayBox
from instruments.station import open_station
from instruments.station_config import StationConfigError, validate_config
from instruments.switch import MatrixSwitch, SwitchRefused
from simulators.switch_matrix import violations


def test_7001_wire_protocol():
    with expected_protocol(Keithley7001, [
            (":CLOS (@1!1!3)", None), (":CLOS:STAT?", "(@1!1!3,1!2!4)"),
            (":CLOS:STAT?", "(@)"), (":OPEN (@1!1!3)", None), (":OPEN ALL", None),
            (":CLOS? (@1!1!3,1!2!4)", "1,0")]) as inst:
        inst.close_crosspoint(1, 3)
        assert inst.closed_channels == [(1, 1, 3), (1, 2, 4)]
        assert inst.closed_crosspoints() == []
        inst.open_crosspoint(1, 3)
        inst.open_all()
        assert inst.channel_states([(1, 1, 3), (1, 2, 4)]) == [True, False]


def test_relay_box_wire_protocol():
    with expected_protocol(RelayBox, [("CONN 1 3", "OK"), ("CONN?", "1=3,2=0"),
                                      ("OPEN ALL", "OK"), ("CONN 2 3", "ERR 3 BUSY")]) as box:
        box.close_crosspoint(1, 3)
        assert box.closed_crosspoints() == [(1, 3)]
        box.open_all()
        with pytest.raises(Exception, match="ERR 3 BUSY"):
            box.close_crosspoint(2, 3)


def test_break_before_make_on_the_wire():
    """connect(2) with pixel 1 on bus 1: read back, open 1!1!1, read back, close, read back."""
    with expected_protocol(Keithley7001, [
            ("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 7001,0,A06"),
            (":CLOS:STAT?", "(@1!1!1)"), (":OPEN (@1!1!1)", None), (":CLOS:STAT?", "(@)"),
            (":CLOS (@1!1!2)", None), (":CLOS:STAT?", "(@1!1!2)")]) as inst:
        sw = MatrixSwitch(inst, pixels=4, buses=1)
        sw.connect(2)
        sw._closed = True      # nothing more on the wire


@pytest.mark.parametrize("model", ["keithley7001", "relay_box"])
def test_switch_against_the_simulator(model):
    st = open_station("sim", roles=("smu",), sim_options={
        "switch": model, "pixels": 4, "channels": 2, "noise": False, "serial_meters": False})
    try:
        sw, bench = st.switch, st.bench
        assert st.identities["switch"] == sw.idn and sw.connections() == {}
        sw.connect(2, bus=1)
        sw.connect(3, bus=2)
        sw.connect(3, bus=1)                 # moves pixel 3 off bus 2, pixel 2 off bus 1
        assert sw.connections() == {1: 3} == {b: p for b, p in bench.matrix.closed()}
        with pytest.raises(ValueError, match="pixel = 5 is out of range"):
            sw.connect(5)
        st.smu.configure_voltage_source(0.01)
        st.smu.set_voltage(2.5)
        st.smu.output_on()
        with pytest.raises(SwitchRefused, match="smu output is on"):
            sw.connect(1)
        with pytest.raises(SwitchRefused):
            sw.disconnect(1)
        assert sw.connections() == {1: 3}
    finally:
        st.close()
    assert bench.matrix.closed() == []       # opened at close, after the output went off
    assert violations(bench.relay_log) == []
    assert st.config["switch_identity"]["model"] == model


def _errors(table, **extra):
    with pytest.raises(StationConfigError) as info:
        validate_config({"switch": table, **extra})
    return info.value.errors


def test_switch_table_validation_one_line_per_problem():
    ok = validate_config({"switch": {"model": "relay_box", "resource": "/dev/ttyUSB1",
                                     "pixels": 8}})
    assert ok["switch"]["buses"] == 1 and ok["switch"]["pixel_columns"] == list(range(1, 9))
    errs = _errors({"model": "keithley7002x", "resource": "GPIB0::7::INSTR", "pixels": 4})
    assert len(errs) == 1 and "model" in errs[0] and "keithley7001" in errs[0]
    errs = _errors({"model": "keithley7001", "resource": "GPIB0::7::INSTR", "pixels": 12})
    assert errs == ["[switch] pixels = 12 is out of range for keithley7001: allowed 1 … 10"]
    errs = _errors({"model": "keithley7001", "resource": "GPIB0::7::INSTR", "pixels": 2,
                    "pixel_columns": [1, 1], "colour": 3})
    assert len(errs) == 2 and all("\n" not in e for e in errs)
    errs = _errors({"model": "relay_box", "resource": "/dev/ttyUSB1", "pixels": 4},
                   channel=[{"smu": {"driver": "keithley2400", "resource": "GPIB0::1::INSTR"}},
                            {"smu": {"driver": "keithley2400", "resource": "GPIB0::2::INSTR"}}])
    assert errs == ["[switch] buses = 1 but the station has 2 [[channel]] tables: allowed "
                    "buses >= the number of lifetime channels"]
    assert _errors({"resource": "GPIB0::7::INSTR"})[0].startswith("[switch] model is missing")
