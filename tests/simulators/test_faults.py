import importlib.util
import json
import pathlib

import pytest

from simulators.faults import Fault, FaultPlan, garble

_spec = importlib.util.spec_from_file_location("sim_client", pathlib.Path(__file__).with_name("sim_client.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
RawClient = _mod.RawClient


def test_plan_from_json_and_validation(tmp_path):
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"faults": [{"kind": "drop", "instrument": "smu", "at_command": 3},
                                           {"kind": "short", "pixel": 0, "at_time_s": 10, "duration_s": 5}]}))
    plan = FaultPlan.load(path)
    assert len(plan.for_instrument("smu")) == 1 and len(plan.for_pixel(0)) == 1
    with pytest.raises(ValueError, match="kind"):
        Fault(kind="explode", instrument="smu", at_command=1)
    with pytest.raises(ValueError, match="exactly one"):
        Fault(kind="drop", instrument="smu")
    with pytest.raises(ValueError, match="unknown key"):
        Fault.from_dict({"kind": "drop", "instrument": "smu", "at_command": 1, "when": 2})


def test_command_count_and_state_windows():
    plan = FaultPlan([Fault("garble", instrument="smu", at_command=2, count=2)]).for_instrument("smu")
    assert [plan.on_command(0).garble for _ in range(5)] == [False, True, True, False, False]
    px = FaultPlan([Fault("open", at_time_s=10, duration_s=5)]).for_pixel(0)
    assert [px.active("open", t) for t in (9.9, 10, 14.9, 15)] == [False, True, True, False]
    assert garble(b"+1.0E+00\n").endswith(b"\n") and b"1" not in garble(b"+1.0E+00\n")


def test_drop_then_reconnect(make_bench):
    bench = make_bench(faults=[{"kind": "drop", "instrument": "smu", "at_command": 2}])
    res = bench.resources["smu"]
    with RawClient(res) as c:
        assert c.ask("*IDN?").startswith("KEITHLEY")
        with pytest.raises((ConnectionError, OSError)):
            c.ask("*IDN?")
    with RawClient(res) as c:   # a new connection is served
        assert c.ask("*IDN?").startswith("KEITHLEY")


def test_delay_past_client_timeout(make_bench):
    bench = make_bench(faults=[{"kind": "delay", "instrument": "lcr", "at_command": 1, "delay_s": 1.0}])
    with RawClient(bench.resources["lcr"], timeout=0.2) as c:
        with pytest.raises(socket_timeout()):
            c.ask("*IDN?")
    with RawClient(bench.resources["lcr"], timeout=3) as c:
        assert "E4980A" in c.ask("*IDN?")


def socket_timeout():
    import socket
    return socket.timeout


def test_garble_and_error_entry(make_bench):
    bench = make_bench(faults=[{"kind": "garble", "instrument": "smu", "at_command": 1},
                               {"kind": "error", "instrument": "smu", "at_command": 2, "code": 803,
                                "message": "Not permitted with OUTPUT off"}])
    with RawClient(bench.resources["smu"]) as c:
        reply = c.ask("*IDN?")
        assert "KEITHLEY" not in reply and set(reply) <= set("#~")
        assert c.ask(":SYST:ERR?") == '803,"Not permitted with OUTPUT off"'


def test_short_and_open_at_time(make_bench):
    bench = make_bench(faults=[{"kind": "short", "pixel": 0, "at_time_s": 0, "duration_s": 1e9}])
    with RawClient(bench.resources["smu"]) as c:
        v, i, *_ = map(float, c.ask(":SENS:CURR:PROT 1;:OUTP ON;:SOUR:VOLT 0.5;:READ?").split(","))
        assert i == pytest.approx(0.5, rel=1e-9)         # 1 Ω short
    bench2 = make_bench(faults=[{"kind": "open", "pixel": 0, "at_time_s": 0}])
    with RawClient(bench2.resources["smu"]) as c:
        v, i, *_ = map(float, c.ask(":SENS:CURR:PROT 0.1;:OUTP ON;:SOUR:VOLT 5;:READ?").split(","))
        assert i == 0.0
        assert bench2.selected_pixel.luminance_cd_m2() == 0.0
