"""The simulated Keithley 2400 after *RST, setting by setting, against the "Default
parameter" column of the 2400 Series SourceMeter User's Manual (2400S-900-01) §18 tables;
and :READ? with the output off (+803, no reply). On the wire, through the bench's socket."""
import importlib.util
import pathlib

import pytest

_spec = importlib.util.spec_from_file_location("sim_client", pathlib.Path(__file__).with_name("sim_client.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
RawClient = _mod.RawClient

#: query → reply after *RST, with the table it comes from.
RESET_TABLE = {
    # Table 18-3 FORMat (p.18-9): ASCii, all five elements, byte order NORMal after *RST
    # (SWAPped only after :SYST:PRES), status register format ASCii, CALC elements CALC.
    ":FORM:DATA?": "ASC", ":FORM:ELEM?": "VOLT,CURR,RES,TIME,STAT", ":FORM:BORD?": "NORM",
    ":FORM:SREG?": "ASC", ":FORM:ELEM:CALC?": "CALC",
    # Table 18-4 OUTPut (p.18-9): OFF, output enable OFF, off mode NORMal.
    ":OUTP?": "0", ":OUTP:ENAB?": "0", ":OUTP:SMOD?": "NORM",
    # Table 18-6 SENSe (p.18-11 … 18-13).
    ":SENS:CURR:RANG?": "+1.050000E-04", ":SENS:CURR:RANG:AUTO?": "1",
    ":SENS:CURR:RANG:LLIM?": "+1.000000E-06", ":SENS:CURR:NPLC?": "+1.000000E+00",
    ":SENS:CURR:PROT?": "+1.050000E-04", ":SENS:CURR:PROT:RSYN?": "0",
    ":SENS:VOLT:RANG?": "+2.100000E+01", ":SENS:VOLT:RANG:AUTO?": "1",
    ":SENS:VOLT:RANG:LLIM?": "+2.100000E-01", ":SENS:VOLT:PROT?": "+2.100000E+01",
    ":SENS:RES:MODE?": "AUTO", ":SENS:RES:RANG?": "+2.100000E+05",
    ":SENS:RES:RANG:AUTO?": "1", ":SENS:RES:OCOM?": "0",
    ":SENS:AVER?": "0", ":SENS:AVER:TCON?": "REP", ":SENS:AVER:COUN?": "10",
    # Table 18-7 SOURce (p.18-14 … 18-18; levels p.18-78, delay p.18-82, clear p.18-72).
    ":SOUR:FUNC?": "VOLT", ":SOUR:VOLT?": "+0.000000E+00", ":SOUR:CURR?": "+0.000000E+00",
    ":SOUR:VOLT:MODE?": "FIX", ":SOUR:CURR:MODE?": "FIX",
    ":SOUR:VOLT:RANG?": "+2.100000E+01", ":SOUR:VOLT:RANG:AUTO?": "1",
    ":SOUR:CURR:RANG?": "+1.050000E-04", ":SOUR:CURR:RANG:AUTO?": "1",
    ":SOUR:VOLT:STAR?": "+0.000000E+00", ":SOUR:VOLT:STOP?": "+0.000000E+00",
    ":SOUR:SWE:SPAC?": "LIN", ":SOUR:SWE:POIN?": "2500", ":SOUR:SWE:DIR?": "UP",
    ":SOUR:SWE:RANG?": "BEST", ":SOUR:SWE:CAB?": "NEV",
    ":SOUR:DEL?": "+0.000000E+00", ":SOUR:DEL:AUTO?": "1", ":SOUR:CLE:AUTO?": "0",
    # TRIGger / ARM command pages (p.18-117, 18-118) and ROUTe (p.18-57).
    ":TRIG:COUN?": "1", ":TRIG:DEL?": "+0.000000E+00", ":ARM:COUN?": "1",
    ":ARM:TIM?": "+1.000000E-01", ":ROUT:TERM?": "FRON",
}


def test_reset_leaves_every_setting_as_the_reset_table_says(bench):
    with RawClient(bench.resources["smu"]) as c:
        c.write(":SENS:RES:MODE MAN;:FORM:BORD SWAP;:SOUR:SWE:CAB EARL;:OUTP:ENAB ON;"
                ":SENS:RES:OCOM ON;:SENS:CURR:RANG:LLIM 1e-5;:SOUR:FUNC CURR;*RST")
        assert {q: c.ask(q) for q in RESET_TABLE} == RESET_TABLE
        assert c.ask(":SYST:ERR?") == '0,"No error"'


def test_reset_does_not_touch_the_trace_buffer(bench):
    """"*RST and :SYSTem:PRESet have no effect on the commands in this subsystem" (TRACe,
    Table 18-10 p.18-21)."""
    with RawClient(bench.resources["smu"]) as c:
        c.write(":TRAC:POIN 7;:TRAC:FEED:CONT NEXT;:SENS:CURR:PROT 0.1;:OUTP ON;:SOUR:VOLT 2")
        c.ask(":READ?")
        assert c.ask("*RST;:TRAC:POIN?;:TRAC:POIN:ACT?;:TRAC:FEED:CONT?") == "7;1;NEXT"


def test_sweep_abort_on_compliance(bench):
    """:SOUR:SWE:CAB NEVer (default) runs the sweep to the end in compliance; EARLy stops it
    at the first reading in compliance (Table 18-7 p.18-18)."""
    with RawClient(bench.resources["smu"]) as c:
        c.write(":SENS:CURR:PROT 1e-4;:OUTP ON;:SOUR:VOLT:STAR 0;:SOUR:VOLT:STOP 6;"
                ":SOUR:SWE:POIN 13;:SOUR:VOLT:MODE SWE;:TRIG:COUN 13")
        full = c.ask(":READ?").split(",")
        assert len(full) == 13 * 5 and int(float(full[-1])) & 8
        c.write(":SOUR:SWE:CAB EARL")
        short = [float(x) for x in c.ask(":READ?").split(",")]
        assert 5 < len(short) < 13 * 5 and int(short[-1]) & 8
        assert not any(int(s) & 8 for s in short[4:-5:5])


def test_read_with_the_output_off_is_error_803_and_no_reply(bench):
    """Auto output-off OFF (the *RST default): "the source output must be on before an
    :INITiate or :READ? can be used" (p.18-72); +803 "Not permitted with OUTPUT off" (App. B
    Table B-1 p.B-6); a query that errors sends nothing."""
    with RawClient(bench.resources["smu"], timeout=0.5) as c:
        c.write(":OUTP OFF;:READ?")
        with pytest.raises(OSError):
            c.file.readline()
    with RawClient(bench.resources["smu"]) as c:
        assert c.ask(":SYST:ERR?") == '803,"Not permitted with OUTPUT off"'
        assert c.ask(":SOUR:CLE:AUTO ON;:READ?").count(",") == 4   # auto-clear: it measures
        assert c.ask(":OUTP?") == "0"


def test_system_and_status_queries(bench):
    """SYSTem (UM p.18-103 … 18-113) and STATus (p.18-101 …) queries a client polls."""
    with RawClient(bench.resources["smu"]) as c:
        c.write(":STAT:MEAS:ENAB 512;:STAT:OPER:ENAB 8;:BOGUS")
        assert c.ask(":STAT:QUE?") == '-113,"Undefined header"'   # = :SYST:ERR? (p.18-109)
        c.write(":BOGUS")
        assert c.ask(":SYST:ERR:CODE?;:SYST:ERR:CODE?") == "-113;0"
        assert c.ask(":STAT:MEAS:ENAB?;:STAT:OPER:ENAB?;:STAT:OPER?;:STAT:QUES:COND?") == \
            "512;8;0;0"
        assert c.ask("*RST;:STAT:MEAS:ENAB?") == "512"             # not *RST's business
        assert c.ask(":STAT:PRES;:STAT:MEAS:ENAB?;:STAT:OPER:ENAB?") == "0;0"
        assert c.ask(":SYST:PRES;:FORM:BORD?;:SYST:VERS?") == "SWAP;1996.0"
        assert c.ask(":TRAC:TST:FORM DELT;*RST;:TRAC:TST:FORM?") == "DELT"
        assert float(c.ask(":SYST:TIME?")) >= 0
