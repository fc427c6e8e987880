"""The simulated Keithley 2450 on the wire (raw socket, the bench's real TCP transport),
against its reference manual: buffer elements and their formats, the status words, the
event log, *LANG, the *RST defaults, sweeps and the overlapped trigger model.

Sources as cited in simulators/keithley2450*.py: Model 2450 Reference Manual 2450-901-01
Rev. B (RM-B), the 2450 TSP help (WH-2450 <topic>), a real unit's record (QC-NB).
"""
import importlib.util
import pathlib
import re
import time

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location("sim_client", pathlib.Path(__file__).with_name("sim_client.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
RawClient = _mod.RawClient

NUMBER = r"-?\d\.\d{6}E[+-]\d{2}"          # -1.772451E-08, 0.000000E+00 (QC-NB; RM-B p.6-4)
EVENT = r'(-?\d+),"([^;"]*);(\d),(\d+),(\d+)"'   # RM-B p.6-101
SETUP = ':SOUR:FUNC VOLT;:SOUR:VOLT:ILIM 0.1;:SENS:FUNC "CURR";:OUTP ON'


def no_reply(client, message, wait_s=0.3):
    """Send a query that must not be answered; True if nothing came back."""
    client.sock.settimeout(wait_s)
    client.write(message)
    try:
        client.file.readline()
    except OSError:
        client.file = client.sock.makefile("rb")     # a timed-out file object cannot read
        return True
    finally:
        client.sock.settimeout(5.0)
    return False


@pytest.fixture
def smu(bench):
    with RawClient(bench.resources["smu2450"]) as c:
        yield c


def test_every_buffer_element_in_its_format(smu):
    """The 14 elements of RM-B p.6-6 / p.6-109 in READ?, FETCh? and TRACe:DATA?."""
    smu.write(SETUP + ";:SOUR:VOLT 3")
    reply = smu.ask(':READ? "defbuffer1", DATE, FORMatted, FRACtional, READing, RELative, '
                    'SEConds, SOURce, SOURFORMatted, SOURSTATus, SOURUNIT, STATus, TIME, '
                    'TSTamp, UNIT')
    fields = reply.split(",")
    assert len(fields) == 14 and all(f == f.strip() for f in fields)     # no spaces
    date, form, frac, read, rel, sec, sour, sform, sstat, sunit, stat, tim, tst, unit = fields
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", date) and re.fullmatch(r"\d\d:\d\d:\d\d", tim)
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d\.\d{9}", tst)
    assert tst.startswith(date + " " + tim) and re.fullmatch(r"\d+", sec)
    for number in (frac, read, rel, sour):
        assert re.fullmatch(NUMBER, number), number
    assert rel == "0.000000E+00"               # the buffer's first reading (RM-B p.8-25)
    assert re.fullmatch(r"[+-]\d+\.\d+ [pnum]?A", form)     # -016.084 nA (QC-NB)
    assert re.fullmatch(r"[+-]\d+\.\d+ [pnum]?V", sform)    # +00.00507 mV (QC-NB)
    assert (unit, sunit) == ("Amp DC", "Volt DC")
    assert (stat, sstat) == ("8", "136")       # front terminals; readback + output on
    assert float(sour) == pytest.approx(3.0) and float(read) > 0
    assert smu.ask(':FETCh? "defbuffer1", READ, UNIT') == f"{read},Amp DC"
    assert smu.ask(':TRACe:DATA? 1, 1, "defbuffer1", SOURSTATus, STATus') == "136,8"
    assert smu.ask(":READ?").count(",") == 0    # no elements: READing only (RM-B p.6-6)


def test_status_words_follow_terminals_readback_and_the_limit(smu):
    """STATus bit 3 (8) = front terminals (RM-B p.8-33), following :ROUT:TERM; compliance is
    SOURSTATus bit 5 (32) (RM-B p.8-29): 136 free, 168 limited; readback off: 128."""
    smu.write(SETUP + ";:SOUR:VOLT 3")
    assert smu.ask(':READ? "defbuffer1", STAT, SOURSTAT') == "8,136"
    smu.write(":SOUR:VOLT:ILIM 1e-6;:SOUR:VOLT 5")
    assert smu.ask(':READ? "defbuffer1", STAT, SOURSTAT, READ') == "8,168,1.000000E-06"
    assert smu.ask(":SOUR:VOLT:ILIM:TRIP?") == "1"                 # RM-B p.6-72
    smu.write(":SOUR:VOLT:ILIM 0.1;:SOUR:VOLT:READ:BACK OFF")
    assert smu.ask(':READ? "defbuffer1", SOURSTAT') == "128"
    assert smu.ask(":SOUR:VOLT:ILIM:TRIP?") == "0"
    # Changing terminals with the output on turns it off (RM-B p.6-35).
    assert smu.ask(":ROUT:TERM REAR;:ROUT:TERM?;:OUTP?") == "REAR;0"
    assert smu.ask(':OUTP ON;:READ? "defbuffer1", STAT, SOURSTAT') == "0,128"


def test_unknown_command_and_empty_log_in_the_event_log_format(smu):
    assert smu.ask(":SYST:ERR?") == '0,"No error;0,0,0"'           # RM-B p.6-101
    smu.write(":SOUR:BOGUS 1")
    smu.write(":SOUR:VOLT:ILIM 5")
    assert smu.ask(":SYST:ERR:COUN?") == "2"
    first = re.fullmatch(EVENT, smu.ask(":SYST:ERR?"))
    assert first and first.group(1, 2, 3) == ("-113", "Undefined header", "1")
    assert abs(int(first.group(4)) - time.time()) < 600         # UTC seconds
    assert re.fullmatch(EVENT, smu.ask(":SYST:EVEN:NEXT? ERR")).group(1) == "-222"
    assert smu.ask(":SYST:EVEN:NEXT?") == '0,"No error;0,0,0"'
    assert no_reply(smu, "*OPT?")                   # not a 2450 common command
    assert re.fullmatch(EVENT, smu.ask(":SYST:ERR?")).group(1) == "-113"
    smu.write(":NOPE;*CLS")                          # a command error ends the message
    assert smu.ask(":SYST:ERR:COUN?") == "1"
    smu.write("*CLS")
    assert smu.ask(":SYST:ERR:COUN?") == "0"


def test_lang_answers_scpi_and_reset_defaults(smu):
    """*LANG? (RM-B p.B-5/B-6) and the *RST table: RM-B §6 and the 2450's own help."""
    assert smu.ask("*LANG?") == "SCPI"
    assert smu.ask("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2450,")   # no "INC."
    smu.write(':SOUR:FUNC CURR;:SOUR:CURR:VLIM 5;:SENS:FUNC "VOLT";:ROUT:TERM REAR;'
              ":SENS:COUN 7;:DISP:LIGH:STAT ON25;:TRAC:POIN 500;:OUTP ON;*RST")
    expected = {
        ":SOUR:FUNC?": "VOLT", ":SOUR:VOLT?": "0.000000E+00",
        ":SOUR:VOLT:ILIM?": "1.050000E-04", ":SOUR:CURR:VLIM?": "2.100000E+01",
        ":SOUR:VOLT:RANG?": "2.000000E-02", ":SOUR:CURR:RANG?": "1.000000E-08",
        ":SOUR:VOLT:RANG:AUTO?": "1", ":SOUR:VOLT:READ:BACK?": "1",
        ":SOUR:VOLT:DEL?": "0.000000E+00", ":SOUR:VOLT:DEL:AUTO?": "1",
        ":SOUR:VOLT:PROT?": "NONE", ":OUTP?": "0", ":OUTP:VOLT:SMOD?": "NORM",
        ":SENS:FUNC?": '"CURR:DC"', ":SENS:CURR:RANG?": "1.000000E-04",
        ":SENS:VOLT:RANG?": "2.000000E-02", ":SENS:RES:RANG?": "2.000000E+05",
        ":SENS:CURR:RANG:AUTO?": "1", ":SENS:CURR:NPLC?": "1.000000E+00",
        ":SENS:CURR:AZER?": "1", ":SENS:COUN?": "1", ":SENS:CURR:RSEN?": "0",
        ":SENS:CURR:AVER?": "0", ":SENS:CURR:AVER:TCON?": "REP", ":SENS:CURR:AVER:COUN?": "10",
        ":ROUT:TERM?": "FRON", ":FORM?": "ASC", ":TRAC:POIN?": "10000", ":TRAC:ACT?": "0",
        ":DISP:LIGH:STAT?": "ON25",                 # not affected by *RST (WH-2450 33459)
    }
    assert {q: smu.ask(q) for q in expected} == expected
    assert smu.ask(":SYST:ERR?") == '0,"No error;0,0,0"'


def test_tsp_unit_answers_lang_and_common_commands_only(make_bench):
    bench = make_bench(smu2450_language="TSP", serial_meters=False)
    with RawClient(bench.resources["smu2450"]) as c:
        assert c.ask("*LANG?") == "TSP"                          # RM-B p.B-6
        assert c.ask("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2450")
        assert no_reply(c, ":SOUR:VOLT?")                        # Lua to a TSP unit
        assert c.ask("*ESR?") == "16"                            # -285: execution error
        c.write("*LANG SCPI")
        assert c.ask("*LANG?") == "TSP"                          # until a power cycle
    bench.instrument("smu2450").power_cycle()
    with RawClient(bench.resources["smu2450"]) as c:
        assert c.ask("*LANG?;:SOUR:FUNC?") == "SCPI;VOLT"


def test_read_returns_the_last_of_count_readings_into_the_buffer(smu):
    smu.write(SETUP + ";:SOUR:VOLT 2;:SENS:COUN 5")
    assert smu.ask(':READ? "defbuffer1", SOUR').count(",") == 0  # the last (RM-B p.6-6)
    assert smu.ask(":TRAC:ACT?;:TRAC:ACT:STAR?;:TRAC:ACT:END?") == "5;1;5"
    rel = [float(x) for x in smu.ask(':TRAC:DATA? 1, 5, "defbuffer1", REL').split(",")]
    assert rel[0] == 0.0 and np.all(np.diff(rel) > 0)
    assert no_reply(smu, ':TRAC:DATA? 1, 6, "defbuffer1", READ')  # past the readings
    assert no_reply(smu, ":TRAC:DATA?")                            # indices are required


def test_user_buffers(smu):
    smu.write(SETUP + ';:TRAC:MAKE "mine", 10;:SOUR:VOLT 2;:SENS:COUN 12')
    smu.write(':READ? "mine"')
    smu.file.readline()
    assert smu.ask(':TRAC:ACT? "mine";:TRAC:FILL:MODE? "mine";:TRAC:POIN? "mine"') == "10;ONCE;10"
    assert smu.ask(':TRAC:FILL:MODE? "defbuffer1"') == "CONT"      # WH-2450 30489
    smu.write(':TRAC:DEL "mine"')
    assert no_reply(smu, ':TRAC:POIN? "mine"')     # a deleted buffer: no reply (QC-NB)


def test_sweep_runs_only_at_init_with_auto_delay_and_fail_abort(make_bench):
    """RM-B p.6-81, WH-2450 30563: delay −1 = auto (default), failAbort ON (default) stops at
    the limit; OFF completes, every limited point flagged 168."""
    bench = make_bench(time_scale=50.0, serial_meters=False)
    with RawClient(bench.resources["smu2450"]) as c:
        c.write(SETUP + ";:SOUR:VOLT:ILIM 1e-4;:SOUR:SWE:VOLT:LIN 0, 6, 13")
        assert c.ask(":TRAC:ACT?;:SYST:ERR:COUN?") == "0;0"       # loaded, not run
        n = int(c.ask(":INIT;*WAI;:TRAC:ACT?"))
        a = np.array(c.ask(f':TRAC:DATA? 1, {n}, "defbuffer1", SOUR, READ, SOURSTAT')
                     .split(","), float).reshape(-1, 3)
        assert 2 < n < 13 and a[-1, 2] == 168 and np.all(a[:-1, 2] == 136)
        assert a[-1, 1] == pytest.approx(1e-4)
        c.write(':TRAC:CLE;:SOUR:SWE:VOLT:LIN 0, 6, 13, -1, 1, BEST, OFF, ON, "defbuffer1"')
        a = np.array(c.ask(':INIT;*WAI;:TRAC:DATA? 1, 25, "defbuffer1", SOURSTAT')
                     .split(","), float)
        assert len(a) == 25 and (a == 168).sum() > 1             # dual: 2·13 − 1 points
        c.write(":SOUR:SWE:VOLT:LIN 0, 6, 13, 0.00001")           # 0 < delay < 50 µs
        assert re.fullmatch(EVENT, c.ask(":SYST:ERR?")).group(1) == "-222"


def test_trigger_model_is_overlapped_wai_and_opc_wait(make_bench):
    """:INIT returns at once; other commands are refused while it runs (WH-2450 29803);
    *WAI / *OPC? wait for it (RM-B p.B-6, p.B-10); :ABORt stops it (WH-2450 30227)."""
    bench = make_bench(time_scale=1.0, serial_meters=False)
    with RawClient(bench.resources["smu2450"]) as c:
        c.write(SETUP + ";:SOUR:VOLT:DEL:AUTO OFF;:SENS:CURR:NPLC 1;"
                ":SOUR:SWE:VOLT:LIN 0, 1, 20, 0")                # 20 × ~21 ms
        t0 = time.monotonic()
        c.write(":INIT")
        assert c.ask(":TRIG:STAT?").startswith("RUNNING")
        assert no_reply(c, ":TRAC:ACT?", wait_s=0.1)            # refused while running
        assert c.ask("*OPC?") == "1"
        assert time.monotonic() - t0 > 0.35                      # waited for the sweep
        assert c.ask(":TRAC:ACT?;:TRIG:STAT?").startswith("20;IDLE")
        assert re.fullmatch(EVENT, c.ask(":SYST:ERR?")).group(1) == "-200"
        c.write(":TRAC:CLE;:INIT;:ABOR")
        assert int(c.ask("*WAI;:TRAC:ACT?")) < 20
        c.write(":STAT:OPER:MAP 0, 2731, 2732;:STAT:OPER:ENAB 1;:INIT")
        assert c.ask(":STAT:OPER:COND?") == "1"                  # running (WH-2450 31651)
        assert c.ask("*WAI;:STAT:OPER:COND?;:STAT:OPER?") == "0;1"


def test_source_list_rules(smu):
    values = ",".join(str(k * 0.01) for k in range(101))
    smu.write(f":SOUR:LIST:VOLT {values}")                        # ≤ 100 per command
    assert re.fullmatch(EVENT, smu.ask(":SYST:ERR?")).group(1) == "-108"
    smu.write(":SOUR:LIST:VOLT 1, 2;:SOUR:LIST:VOLT:APP 3")
    assert smu.ask(":SOUR:LIST:VOLT?") == "1.000000E+00,2.000000E+00,3.000000E+00"
    smu.write(SETUP + ";:SOUR:SWE:VOLT:LIST 2, 0")
    assert smu.ask(':INIT;*WAI;:TRAC:DATA? 1, 2, "defbuffer1", SOUR') == \
        "2.000000E+00,3.000000E+00"
