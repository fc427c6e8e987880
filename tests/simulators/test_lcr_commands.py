"""The E4980A command tree over a socket: every setting the procedures and the clients use is
settable and queryable in short and long form, presets after *RST, option-dependent limits
(simulators/e4980a_commands.py)."""
import pytest

from simulators.e4980a import KeysightE4980A
from simulators.hp4284a import Agilent4284A
from simulators.transports import TcpServer

from .sim_client import RawClient
from .test_lcr_trigger_status import RC, Clock


@pytest.fixture
def client():
    made = []

    def make(cls=KeysightE4980A, **kwargs):
        inst = cls(RC(), clock=Clock(), **kwargs)
        server = TcpServer(inst, name="lcr-commands").start()
        c = RawClient(server.resource)
        made.extend([c, server])
        return c

    yield make
    for m in made:
        m.close()


# (command, query, reply): numbers as +1.00000E+02 (a real meter's :FUNC:IMP:RANG? reply, ISIS
# kse4980.proto), keywords in short form
ROUND_TRIPS = [
    (":FUNCtion:IMPedance:TYPE CPG", ":FUNC:IMP?", "CPG"),
    (":FUNC:IMP LSRS", ":FUNCtion:IMPedance:TYPE?", "LSRS"),
    (":FUNC:IMP:RANG:AUTO OFF", ":FUNC:IMP:RANG:AUTO?", "0"),
    (":FUNC:IMP:RANG 250", ":FUNC:IMP:RANG?", "+3.00000E+02"),
    (":FREQuency:CW 12345", ":FREQ?", "+1.23450E+04"),
    (":VOLTage:LEVel 0.25", ":VOLT?", "+2.50000E-01"),
    (":CURRent:LEVel 0.005", ":CURR:LEV?", "+5.00000E-03"),
    (":AMPLitude:ALC ON", ":AMPL:ALC?", "1"),
    (":BIAS:VOLTage:LEVel -12.5", ":BIAS:VOLT?", "-1.25000E+01"),
    (":BIAS:CURRent:LEVel 0.02", ":BIAS:CURR?", "+2.00000E-02"),
    (":BIAS:STATe ON", ":BIAS:STAT?", "1"),
    (":TRIGger:SOURce BUS", ":TRIG:SOUR?", "BUS"),
    (":TRIGger:DELay 0.25", ":TRIG:DEL?", "+2.50000E-01"),
    (":TRIGger:TDELay 0.01", ":TRIG:TDEL?", "+1.00000E-02"),
    (":INITiate:CONTinuous OFF", ":INIT:CONT?", "0"),
    (":APERture LONG,16", ":APER?", "LONG,16"),
    (":APER SHORT", ":APER?", "SHOR,1"),
    (":FORMat:DATA ASCii", ":FORM?", "ASC"),
    (":FORMat:ASCii:LONG ON", ":FORM:ASC:LONG?", "1"),
    (":FORMat:BORDer SWAPped", ":FORM:BORD?", "SWAP"),
    (":CORRection:OPEN:STATe ON", ":CORR:OPEN:STAT?", "1"),
    (":CORRection:SHORt:STATe ON", ":CORR:SHOR:STAT?", "1"),
    (":CORRection:LENGth 2", ":CORR:LENG?", "2"),
    (":CORRection:METHod MULTiple", ":CORR:METH?", "MULT"),
    (":LIST:MODE STEP", ":LIST:MODE?", "STEP"),
    (":LIST:FREQuency 1e3,1e4", ":LIST:FREQ?", "+1.00000E+03,+1.00000E+04"),
    (":LIST:BIAS:VOLTage -1,-2", ":LIST:BIAS:VOLT?", "-1.00000E+00,-2.00000E+00"),
    (":LIST:CURRent 0.001", ":LIST:CURR?", "+1.00000E-03"),
    (":COMParator:STATe ON", ":COMP?", "1"),
    (":DISPlay:PAGE LIST", ":DISP:PAGE?", "LIST"),
]


@pytest.mark.parametrize("command, query, reply", ROUND_TRIPS)
def test_setting_round_trip(client, command, query, reply):
    c = client(option_001=True)
    c.write(command)
    assert c.ask(query) == reply
    assert c.ask(":SYST:ERR?") == '0,"No error"'


def test_presets_after_rst(client):
    c = client()
    c.write(":FREQ 5e5;:VOLT 0.1;:FUNC:IMP CPG;:APER LONG,4;:AMPL:ALC ON;:BIAS:STAT ON;"
            ":FUNC:IMP:RANG 10;*RST")
    replies = [c.ask(q) for q in (":FREQ?", ":VOLT?", ":FUNC:IMP?", ":APER?", ":AMPL:ALC?",
                                  ":BIAS:STAT?", ":FUNC:IMP:RANG:AUTO?", "*OPT?")]
    assert replies == ["+1.00000E+03", "+1.00000E+00", "CPD", "MED,1", "0", "0", "1", "001"]


def test_list_clear_and_corrections_execute(client):
    c = client()
    c.write(":LIST:FREQ 1e3,2e3;:LIST:VOLT 0.1;:LIST:CLE:ALL")
    assert c.ask(":LIST:FREQ?") == "" and c.ask(":LIST:VOLT?") == ""
    c.write(":CORR:OPEN;:CORR:SHOR:EXEC")
    assert (c.ask(":CORR:OPEN:STAT?"), c.ask(":CORR:SHOR:STAT?")) == ("1", "1")
    c.write(":CORR:LENG 3")                                   # 0, 1, 2 or 4 m
    assert c.ask(":SYST:ERR?") == '-222,"Data out of range"'


@pytest.mark.parametrize("cls, command", [
    (KeysightE4980A, ":CURR 0.05"),            # 20 mA rms without option 001
    (KeysightE4980A, ":LIST:VOLT 0.1,2.5"),     # 2 V rms without option 001
    (KeysightE4980A, ":LIST:FREQ 10"),          # 20 Hz …
    (Agilent4284A, "LIST:FREQ 1e3,2e6"),        # … 1 MHz on the 4284A
    (Agilent4284A, "OUTP:HPOW ON"),             # no option 001: settings conflict
])
def test_out_of_range_values_are_refused(client, cls, command):
    c = client(cls, option_001=False)
    c.write(command)
    assert c.ask(":SYST:ERR?") in ('-222,"Data out of range"', '-221,"Settings conflict"')


def test_level_query_of_the_other_signal_mode_gets_no_reply(client):
    """QCoDeS tells the signal mode by the time-out of :VOLT:LEV? (ISIS: "if in curr mode
    VOLT? does not respond"): the simulator answers only the query of the mode set last."""
    c = client(option_001=True)
    c.write(":CURR 0.005")
    assert c.ask(":VOLT?;:CURR?") == "+5.00000E-03"          # no field for :VOLT?
    assert c.ask(":SYST:ERR?") == '-221,"Settings conflict"'  # (the code is a guess)
    c.write(":VOLT 0.1")
    assert c.ask(":CURR?;:VOLT?") == "+1.00000E-01"


def test_4284a_lists_hold_ten_points_and_opt_has_five_fields(client):
    c = client(Agilent4284A, option_001=True)
    c.write("LIST:FREQ " + ",".join(str(1e3 * (k + 1)) for k in range(11)))
    assert c.ask("SYST:ERR?") == '-222,"Data out of range"' and c.ask("LIST:FREQ?") == ""
    c.write("LIST:FREQ " + ",".join(str(1e3 * (k + 1)) for k in range(10)))
    assert c.ask("SYST:ERR?") == '0,"No error"'
    assert c.ask("*OPT?") == "1,0,0,0,0"
