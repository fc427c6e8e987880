import pytest

from simulators.scpi import Bool, Choice, Number, NumberList, SCPIInstrument, Setting, scpi


class Toy(SCPIInstrument):
    IDN = "ACME,TOY,1,1.0"
    volt = Setting(":SOURce:VOLTage[:LEVel][:IMMediate][:AMPLitude]", Number(-210, 210, default=0.0), 0.0)
    func = Setting(":SOURce:FUNCtion[:MODE]", Choice("VOLTage", "CURRent"), "VOLT")
    out = Setting(":OUTPut[1][:STATe]", Bool(), False)
    lst = Setting(":SOURce:LIST:VOLTage", NumberList(-10, 10), [0.0])

    @scpi(":MEASure:CURRent?")
    def _meas(self):
        return self.format_number(self.volt / 1000)

    @scpi(":CALCulate<n>:DATA?")
    def _calc(self, suffix=(1,)):
        return str(suffix[0])


@pytest.fixture
def toy():
    return Toy()


@pytest.mark.parametrize("msg", [":SOURce:VOLTage:LEVel:IMMediate:AMPLitude 1.5", ":sour:volt 1.5",
                                 "SOUR:VOLT:LEV 1.5", ":SOURCE:VOLTAGE +1.500000E+00", ":SOUR:VOLT 15e-1"])
def test_short_long_optional_forms(toy, msg):
    toy.handle(msg)
    assert toy.handle(":SOUR:VOLT?") == "+1.500000E+00"
    assert toy.handle(":SYST:ERR?") == '0,"No error"'


@pytest.mark.parametrize("text,value", [("1e+06", 1e6), ("1E6", 1e6), ("1000000", 1e6), ("+1.000000E+00", 1.0)])
def test_number_forms(text, value):
    assert Number().parse(text) == value


def test_min_max_def_and_range(toy):
    assert toy.handle(":SOUR:VOLT MAX;:SOUR:VOLT?") == "+2.100000E+02"
    assert toy.handle(":SOUR:VOLT MIN;:SOUR:VOLT?") == "-2.100000E+02"
    toy.handle(":SOUR:VOLT 1e+06")
    assert toy.handle(":SYST:ERR?") == '-222,"Data out of range"'
    assert toy.volt == -210.0  # unchanged by the rejected value


def test_chain_relative_path_and_common_commands(toy):
    # VOLT after ';' is relative to :SOUR (the path of the previous header); *IDN? keeps it.
    assert toy.handle(":SOUR:FUNC CURR;*IDN?;VOLT 2;VOLT?;FUNC?") == "ACME,TOY,1,1.0;+2.000000E+00;CURR"


def test_errors_and_queue(toy):
    toy.handle(":BOGUS 1")
    toy.handle(":SOUR:VOLT abc")
    toy.handle("@@@")
    toy.handle(":OUTP MAYBE")
    assert toy.handle(":SYST:ERR?") == '-113,"Undefined header"'
    assert toy.handle(":SYST:ERR?") == '-104,"Data type error"'
    assert toy.handle(":SYST:ERR?") == '-102,"Syntax error"'
    assert toy.handle(":SYST:ERR?") == '-224,"Illegal parameter value"'
    assert toy.handle(":SYST:ERR?") == '0,"No error"'
    for _ in range(15):
        toy.handle(":NOPE")
    errs = [toy.handle(":SYST:ERR?") for _ in range(Toy.ERROR_QUEUE_SIZE + 1)]
    assert errs[-2] == '-350,"Queue overflow"' and errs[-1] == '0,"No error"'


def test_command_error_stops_message_but_execution_error_does_not(toy):
    assert toy.handle(":SOUR:VOLT 500;:SOUR:VOLT 3;:SOUR:VOLT?") == "+3.000000E+00"
    assert toy.handle(":NOPE;:SOUR:VOLT 4") is None
    assert toy.volt == 3.0


def test_status_registers(toy):
    assert toy.handle("*STB?") == "0"
    toy.handle(":NOPE")
    assert int(toy.handle("*STB?")) & 0x04      # error available
    assert int(toy.handle("*ESR?")) & 0x20      # command error
    toy.handle("*CLS")
    assert toy.handle("*STB?") == "0" and toy.handle("*OPC?") == "1"


def test_bool_list_suffix_and_reset(toy):
    assert toy.handle(":OUTP ON;:OUTP?;:OUTP1:STAT 0;:OUTP?") == "1;0"
    assert toy.handle(":SOUR:LIST:VOLT 1, 2.5,-3;:SOUR:LIST:VOLT?") == "+1.000000E+00,+2.500000E+00,-3.000000E+00"
    assert toy.handle(":CALC3:DATA?;:CALCULATE:DATA?") == "3;1"
    toy.handle(":SOUR:VOLT 5;*RST")
    assert toy.volt == 0.0


def test_header_cache_is_shared_and_correct():
    a, b = Toy(), Toy()
    a.handle(":SOUR:VOLT 1")
    b.handle(":SOUR:VOLT 2")
    assert (a.volt, b.volt) == (1.0, 2.0)
    assert "SOUR:VOLT" in Toy._cache
