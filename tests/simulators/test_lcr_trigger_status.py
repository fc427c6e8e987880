"""E4980A / 4284A simulators over a socket: trigger system at power-on and after *RST, the
:FETCh? status field and its data, the conditions behind each status, fault-plan statuses,
reply formats and refused values (sources: simulators/e4980a.py, simulators/lcr_model.py)."""
import math

import pytest

from simulators.e4980a import KeysightE4980A
from simulators.faults import FaultPlan
from simulators.hp4284a import Agilent4284A
from simulators.transports import TcpServer

from .sim_client import RawClient

NO_DATA = "+9.90000E+37,+9.90000E+37,-1"


class Clock:
    t = 0.0

    def time(self):
        return self.t

    def sleep(self, s):
        self.t += s


class RC:
    """A parallel Cp-G load with known values, a DC current at the meter's bias."""

    def __init__(self, cp_F=2e-9, g_S=1e-5, bias_current_A=0.0):
        self.cp, self.g, self.i_dc, self.calls = cp_F, g_S, bias_current_A, []

    def capacitance(self, frequency_Hz, bias_V, level_Vrms):
        self.calls.append((frequency_Hz, bias_V, level_Vrms))
        return self.cp, self.g

    def bias_current_A(self, bias_V):
        return self.i_dc


@pytest.fixture
def serve():
    servers = []

    def make(cls=KeysightE4980A, load=None, faults=None, **kwargs):
        clock = Clock()
        inst = cls(load or RC(), clock=clock, faults=faults, **kwargs)
        server = TcpServer(inst, name="lcr-test").start()
        servers.append(server)
        client = RawClient(server.resource)
        servers.append(client)
        return inst, client, clock

    yield make
    for s in servers:
        s.close()


def fields(reply):
    return [float(v) for v in reply.split(",")]


def err(client):
    return client.ask(":SYST:ERR?")


def done(client, msg):
    """Send ``msg`` and wait until the simulator has executed it."""
    assert client.ask(msg + ";*OPC?") == "1"


# -- trigger system -------------------------------------------------------------------------

def test_power_on_is_free_running_internal_trigger(serve):
    _, c, _ = serve()
    assert c.ask(":TRIG:SOUR?") == "INT" and c.ask(":INIT:CONT?") == "1"
    a, b, status = fields(c.ask(":FETC?"))          # no trigger sent: the latest result
    assert (a, status) == (2e-9, 0)


def test_after_rst_fetch_answers_no_data_until_triggered(serve):
    _, c, _ = serve()
    c.write("*RST")
    assert c.ask(":INIT:CONT?") == "0"
    assert c.ask(":FETC?") == NO_DATA                # status −1, data 9.9E37 (UG p. 261)
    assert err(c) == '0,"No error"'                  # an answer, not an error and a timeout
    c.write(":TRIG")                                 # Idle: the trigger is ignored
    assert err(c) == '-211,"Trigger ignored"' and c.ask(":FETC?") == NO_DATA
    c.write(":INIT")                                 # Idle → Waiting; INT measures by itself
    assert fields(c.ask(":FETC?"))[2] == 0


def test_bus_source_needs_initiate_and_a_bus_trigger(serve):
    """*TRG ≡ :TRIG;:FETC? (client code): it answers the buffer even when ignored."""
    load = RC()
    _, c, _ = serve(load=load)
    c.write("*RST;:TRIG:SOUR BUS")
    assert c.ask("*TRG") == NO_DATA and err(c) == '-211,"Trigger ignored"'
    c.write(":INIT")
    c.write(":INIT")
    assert err(c) == '-213,"Init ignored"'
    assert c.ask(":FETC?") == NO_DATA                # waiting for the bus trigger
    n = len(load.calls)
    a, _, status = fields(c.ask("*TRG"))             # measures and answers
    assert len(load.calls) == n + 1 and (a, status) == (2e-9, 0)
    assert c.ask(":FETC?") == c.ask(":FETC?")        # FETC? re-reads, never measures on BUS
    assert fields(c.ask("*TRG"))[2] == 0             # CONT OFF: Idle, the old data again
    assert err(c) == '-211,"Trigger ignored"' and len(load.calls) == n + 1


def test_hold_source_waits_for_a_trigger_command(serve):
    load = RC()
    _, c, _ = serve(load=load)
    c.write("*RST;:TRIG:SOUR HOLD;:INIT:CONT ON")
    assert c.ask(":FETC?") == NO_DATA                # HOLD: nothing measured by itself
    a, _, status = fields(c.ask(":TRIG:IMM;:FETC?"))
    assert (a, status) == (2e-9, 0)
    c.write(":TRIG")                                 # CONT ON: still Waiting
    assert err(c) == '0,"No error"'
    n = len(load.calls)
    assert fields(c.ask("*TRG"))[2] == 0 and len(load.calls) == n + 1   # ≡ :TRIG;:FETC?'


def test_abort_returns_to_idle_unless_continuous(serve):
    _, c, _ = serve()
    c.write("*RST;:TRIG:SOUR BUS;:INIT;:ABOR;:TRIG")
    assert err(c) == '-211,"Trigger ignored"'
    c.write(":INIT:CONT ON;:ABOR;:TRIG")
    assert err(c) == '0,"No error"'


def test_the_drivers_sequence_works_from_rst_defaults(serve):
    """What instruments.lcr sends (bus trigger, continuous initiation, TRIG:IMM;:FETC?),
    starting from *RST where the trigger system is Idle."""
    _, c, _ = serve()
    c.write("*RST")
    for msg in ("FUNCtion:IMPedance:TYPE CPG", ":FREQ:CW 10000", ":VOLT:LEV 0.05",
                ":APER MED,2", "TRIG:SOUR BUS", ":INIT:CONT ON"):
        c.write(msg)
    a, b, status = fields(c.ask(":TRIG:IMM;:FETC?"))
    assert (a, b, status) == (2e-9, 1e-5, 0) and err(c) == '0,"No error"'


# -- status codes and their data ------------------------------------------------------------

def test_held_range_too_high_for_the_impedance_overloads(serve):
    inst, c, _ = serve(load=RC(cp_F=10e-9, g_S=0.0))     # |Z| = 15.9 kΩ at 1 kHz
    c.write(":FREQ 1000;:FUNC:IMP:RANG 100000")           # 100 kΩ range measures ≥ 30 kΩ
    assert c.ask(":FUNC:IMP:RANG:AUTO?") == "0" and float(c.ask(":FUNC:IMP:RANG?")) == 1e5
    assert c.ask(":TRIG;:FETC?") == "+9.90000E+37,+9.90000E+37,+1"
    c.write(":FUNC:IMP:RANG 20000")                       # → the 30 kΩ range: 10 … 30 kΩ
    assert float(c.ask(":FUNC:IMP:RANG?")) == 3e4
    assert fields(c.ask(":TRIG;:FETC?")) == [10e-9, 0.0, 0.0]
    c.write(":FUNC:IMP:RANG:AUTO ON")
    c.write(":FREQ 1e6")                                  # 15.9 Ω: auto range follows
    assert fields(c.ask(":TRIG;:FETC?"))[2] == 0


def test_alc_unable_to_regulate_reports_4_with_the_data_at_the_reached_level(serve):
    load = RC(cp_F=1e-6, g_S=0.0)                         # |Z| = 0.159 Ω at 1 MHz
    inst, c, _ = serve(load=load, option_001=False)
    c.write(":FREQ 1e6;:VOLT 1;:AMPL:ALC ON;:FUNC:SMON:VAC ON")
    a, b, status = fields(c.ask(":TRIG;:FETC?"))
    assert status == 4 and a == 1e-6                      # real data, not 9.9E37
    z = 1 / (2 * math.pi * 1e6 * 1e-6)
    reached = 2.0 * z / abs(complex(100, -z))             # 2 V rms behind 100 Ω
    assert load.calls[-1][2] == pytest.approx(reached, rel=1e-9)
    assert float(c.ask(":FETC:SMON:VAC?")) == pytest.approx(reached, rel=1e-5)
    c.write(":VOLT 0.002")                                # within reach: regulated
    assert fields(c.ask(":TRIG;:FETC?"))[2] == 0 and load.calls[-1][2] == 0.002
    c.write(":AMPL:ALC OFF;:VOLT 1")       # no ALC: the DUT would draw 6 A, the source gives
    assert fields(c.ask(":TRIG;:FETC?"))[2] == 3      # 20 mA: "signal source overloaded"


def test_dc_bias_current_beyond_the_source_is_signal_source_overload(serve):
    load = RC(bias_current_A=0.05)                        # 50 mA at the meter's bias
    _, c, _ = serve(load=load, option_001=False)
    c.write(":BIAS:VOLT 2;:BIAS:STAT ON")
    a, _, status = fields(c.ask(":TRIG;:FETC?"))
    assert status == 3 and a == 2e-9                      # data sent (UG p. 261)
    c.write(":BIAS:STAT OFF")
    assert fields(c.ask(":TRIG;:FETC?"))[2] == 0


@pytest.mark.parametrize("code, voided", [(1, True), (3, False), (4, False)])
def test_fault_plan_status_on_request(serve, code, voided):
    plan = FaultPlan([{"kind": "measure_status", "instrument": "lcr", "at_time_s": 0.0,
                       "duration_s": 5.0, "code": code}]).for_instrument("lcr")
    load = RC(cp_F=1e-9, g_S=0.0)
    inst, c, clock = serve(load=load, faults=plan)
    c.write(":FREQ 1e5;:VOLT 0.1;:AMPL:ALC ON")
    reply = c.ask(":TRIG;:FETC?")
    assert fields(reply)[2] == code
    assert (reply.startswith("+9.90000E+37,+9.90000E+37,")) is voided
    if code == 4:                                         # the loop did not settle
        z = 1 / (2 * math.pi * 1e5 * 1e-9)
        assert load.calls[-1][2] == pytest.approx(0.1 * z / abs(complex(100, -z)), rel=1e-9)
    clock.t = 6.0
    assert fields(c.ask(":TRIG;:FETC?"))[2] == 0          # the fault is over


def test_4284a_status_2_voids_the_data_and_3_does_not(serve):
    for code, expected in ((2, "+9.90000E+37,+9.90000E+37,+2"), (3, None)):
        plan = FaultPlan([{"kind": "measure_status", "instrument": "lcr4284",
                           "at_time_s": 0.0, "code": code}]).for_instrument("lcr4284")
        _, c, _ = serve(cls=Agilent4284A, faults=plan)
        reply = c.ask("TRIG;:FETC?")
        if expected:
            assert reply == expected
        else:
            assert fields(reply)[::2] == [2e-9, 3.0]     # Cp and the status, D sent


def test_measure_status_fault_needs_a_status_code():
    with pytest.raises(ValueError, match="allowed 1, 2, 3 or 4"):
        FaultPlan([{"kind": "measure_status", "instrument": "lcr", "at_time_s": 0.0}])


# -- reply formats --------------------------------------------------------------------------

def test_fetch_data_are_fixed_length_and_long_on_adds_digits(serve):
    _, c, _ = serve(load=RC(cp_F=1.2345678912e-9, g_S=0.0))
    a, b, st = c.ask(":TRIG;:FETC?").split(",")
    assert (a, st) == ("+1.23457E-09", "+0") and len(a) == len(b) == 12
    c.write(":FORM:ASC:LONG ON")
    a, b, _ = c.ask(":TRIG;:FETC?").split(",")
    assert a == "+1.234567891E-09" and len(b) == 16
    c.write(":COMP ON")                                   # BIN No. appended
    assert len(c.ask(":TRIG;:FETC?").split(",")) == 4


def test_fetch_corrected_gives_resistance_and_reactance(serve):
    _, c, _ = serve(load=RC(cp_F=1e-9, g_S=1e-6))
    c.write(":FREQ 1e4")
    r, x = fields(c.ask(":TRIG;:FETC:IMP:CORR?"))
    z = 1 / complex(1e-6, 2 * math.pi * 1e4 * 1e-9)
    assert r == pytest.approx(z.real, rel=1e-5) and x == pytest.approx(z.imag, rel=1e-5)


# -- limits and refused values --------------------------------------------------------------

def test_refused_values_keep_the_setting(serve):
    _, c, _ = serve(option_001=False)
    c.write(":FREQ 5e4;:FREQ 3e6")
    assert err(c) == '-222,"Data out of range"' and float(c.ask(":FREQ?")) == 5e4
    c.write(":BIAS:VOLT 1.5;:BIAS:VOLT 1")
    assert err(c) == '-222,"Data out of range"' and float(c.ask(":BIAS:VOLT?")) == 1.5
    c.write(":VOLT 0.5;:VOLT 2.5")
    assert err(c) == '-222,"Data out of range"' and float(c.ask(":VOLT?")) == 0.5
    c.write(":BIAS:CURR 0.01")                            # bias current needs option 001
    assert err(c) == '-222,"Data out of range"'
    c.write(":FREQ MAX")
    assert float(c.ask(":FREQ?")) == 2e6
    assert c.ask("*OPT?") == "0"


def test_4284a_frequency_limit_and_option_001_high_power(serve):
    _, c, _ = serve(cls=Agilent4284A, option_001=True)
    c.write("FREQ MAX")
    assert float(c.ask("FREQ?")) == 1e6
    c.write("BIAS:VOLT -3")
    assert err(c) == '-222,"Data out of range"'
    c.write("OUTP:HPOW ON;:BIAS:VOLT -3;:APER LONG,129")
    assert err(c) == '-222,"Data out of range"' and float(c.ask("BIAS:VOLT?")) == -3.0


def test_list_sweep_step_mode_measures_one_point_per_trigger(serve):
    load = RC()
    _, c, _ = serve(load=load)
    c.write("*RST;:TRIG:SOUR BUS;:INIT:CONT ON;:DISP:PAGE LIST;:LIST:MODE STEP;"
            ":LIST:FREQ 1e3,1e4,1e5")
    reply = fields(c.ask("*TRG"))
    assert len(reply) == 12 and reply[2] == 0 and reply[6] == -1 and reply[4] == 9.9e37
    c.ask("*TRG")
    c.ask("*TRG")
    assert [p[0] for p in load.calls[-3:]] == [1e3, 1e4, 1e5]
    assert fields(c.ask(":FETC?"))[2::4] == [0.0, 0.0, 0.0]


def test_4284a_pymeasure_trigger_forms(serve):
    """PyMeasure 0.16 Agilent4284A: trigger() reads *TRG's reply, trigger_initiate() sends
    TRIG:INIT:IMM, trigger_continuous_enabled TRIG:CONT (client code)."""
    _, c, _ = serve(cls=Agilent4284A)
    c.write("*RST;TRIG:SOUR BUS;:TRIG:INIT:IMM")
    a, _, status = fields(c.ask("*TRG"))
    assert (a, status) == (2e-9, 0)
    c.ask("*TRG")                                     # CONT OFF: Idle again
    assert err(c) == '-211,"Trigger ignored"'
    c.write("TRIG:CONT ON")
    assert c.ask("TRIG:CONT?") == "1" and c.ask("INIT:CONT?") == "1"
    assert fields(c.ask("*TRG"))[2] == 0 and fields(c.ask("*TRG"))[2] == 0
