"""The simulated PR-655 on a real pty, against the PR-655/670 manual's remote-mode chapter.

Pages are the manual's own: Photo Research, *PR-655 / PR-670 User Manual*, "Remote Control
Mode", pp. 99-123 ("[PRRM]").
"""
from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest
import serial

from simulators.clock import ScaledClock
from simulators.faults import Fault, FaultPlan
from simulators.pr655 import PR655Simulator, pr655_measuring_time_s
from simulators.serial_pty import PtyServer

SCALE = 20_000.0
FOOTLAMBERT_CD_M2 = 3.4262591


class Band:
    def __init__(self, peak=1e-2, flicker_frequency_Hz=None):
        self.peak = peak
        if flicker_frequency_Hz is not None:
            self.flicker_frequency_Hz = flicker_frequency_Hz

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
        wl = np.asarray(wavelength_nm, dtype=float)
        return self.peak * np.exp(-0.5 * ((wl - 517.0) / 7.64) ** 2)

    @property
    def luminance_cd_m2(self):
        return 83.3 * self.peak / 1e-2


class Line:
    def __init__(self, path):
        self.port = serial.Serial(path, 9600, timeout=2.0)

    def ask(self, command: str) -> str:
        self.port.write(command.encode() + b"\r")
        return self.read()

    def read(self) -> str:
        return self.port.readline().decode().rstrip("\r\n")


@pytest.fixture
def clock():
    return ScaledClock(SCALE)


@pytest.fixture
def serve(clock):
    opened = []

    def start(source=None, faults=(), remote=True, **kw):
        plan = FaultPlan(faults).for_instrument("spectroradiometer")
        meter = PR655Simulator(source or Band(), clock, faults=plan, **kw)
        server = PtyServer(meter, name="pr655").start()
        line = Line(server.path)
        opened.append((server, line))
        if remote:
            line.port.write(b"PHOTO")
            assert line.port.read(12) == meter.banner
        return meter, line

    yield start
    for server, line in opened:
        line.port.close()
        server.close()


# -- remote mode --------------------------------------------------------------------------
@pytest.mark.parametrize("after", [b"", b"\r", b"\n", b"\r\n"])
def test_photo_char_by_char_or_in_one_burst(serve, after):
    """[PRRM] p.103: "'P' 'H' 'O' 'T' 'O' must be sent as single characters"; clients also send
    it in one write and with CR or LF after it. The answer: 12 bytes, REMOTE MODE at offset 1."""
    meter, line = serve(remote=False)
    for ch in b"PHOTO":
        line.port.write(bytes([ch]))
        line.port.flush()
        time.sleep(0.005)
    line.port.write(after)
    assert line.port.read(12) == b" REMOTE MODE" and meter.remote
    line.port.timeout = 0.2
    assert line.port.read(1) == b""             # no CR LF, and no error for the CR / LF
    line.port.timeout = 2.0
    assert line.ask("D111") == "00000,PR-655"
    _, burst = serve(remote=False)
    burst.port.write(b"PHOTO" + after)
    assert burst.port.read(12) == b" REMOTE MODE"


def test_second_photo_is_not_answered_with_a_banner(serve):
    """Psychtoolbox PR670init.m (client): a unit in remote mode "only responds the first time"."""
    _, line = serve()
    assert line.ask("PHOTO") == "-1000"
    line.port.write(b"Q")                        # "Syntax: Q" — no CR (p.105); no answer
    line.port.timeout = 0.2
    assert line.ask("D111") == ""                # ignored outside remote mode
    line.port.write(b"PHOTO")
    assert line.port.read(12) == b" REMOTE MODE"


# -- setup commands: ranges and parsing errors (pp.107-112, 122-123) --------------------------
@pytest.mark.parametrize("command, reply", [
    ("SE0", "0000"), ("SE3", "0000"), ("SE6000", "0000"), ("SE2", "-1010"), ("SE6001", "-1010"),
    ("SEabc", "-1010"), ("SN1", "0000"), ("SN99", "0000"), ("SN0", "-1012"), ("SN100", "-1012"),
    ("SO2", "0000"), ("SO10", "0000"), ("SO5", "-1015"), ("SS0", "0000"), ("SS1", "0000"),
    ("SS3", "0000"), ("SS2", "-1019"), ("SQ3", "0000"), ("SU0", "0000"), ("SU1", "0000"),
    ("SU2", "-1009"), ("SK20", "0000"), ("SK400", "0000"), ("SK19", "-1023"), ("SK401", "-1023"),
    ("SP0", "0000"), ("SP1", "-1002"), ("SA-1", "0000"), ("SA0", "-1006"), ("SA5", "-1003"),
    ("SB5", "-1004"), ("SC5", "-1025"), ("SD1", "-1035"), ("SF1", "-1035"), ("SG1", "-1035"),
    ("SH1", "-1035"), ("SE100,5", "-1001"), ("SY1", "-1000"), ("SZ0", "0000"), ("XYZZY", "-1000"),
    ("B50", "Backlight set to 50 %"), ("X80", "Contrast set to 80 %")])
def test_setup_ranges_and_their_error_codes(serve, command, reply):
    _, line = serve()
    assert line.ask(command) == reply


def test_i_reports_the_current_error_and_c_clears_it(serve):
    """[PRRM] p.105: I returns the status / error report (0000 if all OK); C clears the error
    and answers nothing."""
    _, line = serve()
    assert line.ask("I") == "0000"
    assert line.ask("SE2") == "-1010"
    assert line.ask("I") == "-1010"
    line.port.write(b"C\r")
    assert line.ask("I") == "0000"


def test_title(serve):
    """[PRRM] L p.105, codes -1021/-1022 p.123."""
    _, line = serve()
    assert line.ask("L") == "-1022"
    assert line.ask("L" + "x" * 21) == "-1021"
    assert line.ask("Lpixel 3") == "0000"
    assert line.ask("L") == "0000,pixel 3"


def test_five_digit_acknowledgements_and_unpadded_codes_are_options(serve):
    _, line = serve(ack="00000", code_width=0)
    assert line.ask("SU1") == "00000"
    assert line.ask("SN0") == "-1012"
    assert line.ask("D1") == "-2000"


# -- data codes ---------------------------------------------------------------------------
def test_data_codes_before_a_measurement(serve):
    """[PRRM] p.123: -2000 for a response code that does not exist, or a measured one before
    any measurement; the configuration codes answer (pp.118-121)."""
    _, line = serve()
    for code in (0, 1, 2, 3, 4, 5, 6, 7, 12, 13):
        assert line.ask(f"D{code}") == "-2000", code
    assert line.ask("D999") == "-2000" and line.ask("D10") == "-2000"
    assert line.ask("D116") == "00000,0,MS-75,Primary,Luminance,Radiance"
    assert line.ask("D120").startswith("00000,101,")
    assert line.ask("D601") == "00000,0,-1,-1,-1,0,1,0,0,0,1,2,0,0,0,60.00"
    assert line.ask("D602").startswith("00000,MS-75,None,None,None,1 deg,Metric,Adaptive,")


def test_formats_of_the_data_codes(serve):
    """[PRRM] pp.115-118: fixed fields, comma delimited; units field 0 (every example)."""
    _, line = serve()
    m1 = line.ask("M1")
    assert re.fullmatch(r"00000,0,\d\.\d{3}e[+-]\d\d,0\.\d{4},0\.\d{4}", m1), m1
    assert re.fullmatch(r"00000,0,\d\.\d{3}e[+-]\d\d(,\d\.\d{3}e[+-]\d\d){2}", line.ask("D2"))
    assert re.fullmatch(r"00000,0,[^,]+,[ \d]{7},-?\d\.\d{4}", line.ask("D4"))
    assert re.fullmatch(r"00000,0,[^,]+(,0\.\d{4}){4}", line.ask("D6"))
    assert re.fullmatch(r"00000,0,[^,]+(,0\.\d{4}){2}", line.ask("D7"))
    assert re.fullmatch(r"00000,Normal,\d+ msec", line.ask("D13"))
    head = line.ask("D5")
    assert re.fullmatch(r"00000,0,\d\.\d{3}e\+\d{3},[^,]+,[^,]+", head), head
    rows = [line.read() for _ in range(101)]
    assert all(re.fullmatch(r"\d{3},\d\.\d{3}e[+-]\d{3}", r) for r in rows)  # 16 bytes a line
    assert rows[0].startswith("380,") and rows[-1].startswith("780,")


def test_units_come_from_su_and_the_units_field_stays(serve):
    """[PRRM] SU p.112: 0 English, 1 Metric; the units field UUUU is the measurement type
    (0 for luminance, the manual's examples), not the unit system; D601 field 7 (p.121)."""
    source = Band()
    _, line = serve(source)
    y_metric = float(line.ask("M1").split(",")[2])
    assert line.ask("SU0") == "0000"
    fields = line.ask("D1").split(",")
    assert fields[1] == "0"
    assert float(fields[2]) == pytest.approx(y_metric / FOOTLAMBERT_CD_M2, rel=2e-3)
    assert line.ask("D601").split(",")[6] == "0"
    assert ",English," in line.ask("D602")
    _, table9 = serve(units_field=111)
    assert table9.ask("M1").split(",")[1] == "111"


# -- measurement errors (p.122) -------------------------------------------------------------
def test_weak_light_and_overload_also_with_a_fixed_exposure(serve):
    source = Band()
    _, line = serve(source)
    assert line.ask("SE3") == "0000"
    assert line.ask("M1") == "-0008"             # 83 cd/m² × 3 ms: too little signal
    assert line.ask("SE6000") == "0000"
    assert line.ask("M1") == "-0002"             # 83 cd/m² × 6 s: too much
    assert line.ask("SE100") == "0000"
    assert line.ask("M1").startswith("00000,")


def test_auto_sync_on_a_dc_source_cannot_sync(serve):
    """-10 "Cannot Auto Sync to light source"; F on a DC source: -3 (the conditions: guess)."""
    _, line = serve()
    assert line.ask("F") == "-0003"
    assert line.ask("SS1") == "0000"
    assert line.ask("M1") == "-0010"
    assert line.ask("SS0") == "0000" and line.ask("M1").startswith("00000,")
    _, flicker = serve(Band(flicker_frequency_Hz=120.0))
    assert flicker.ask("F") == "0000,120.00 Hertz (Period = 8.33 milliseconds)"
    assert flicker.ask("SS1") == "0000" and flicker.ask("M1").startswith("00000,")


def test_a_source_that_changes_during_the_measurement(serve, clock):
    """-1 "Light source not constant" (fixed exposure), -12 "Adaptive mode time out. Light
    source not constant" (adaptive)."""
    class Ramp(Band):
        def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
            self.peak *= 1.3                       # 30 % brighter at every look
            return super().spectral_radiance_W_sr_m2_nm(wavelength_nm)

    _, line = serve(Ramp(peak=1e-3))
    assert line.ask("M1") == "-0012"
    assert line.ask("SE100") == "0000"
    assert line.ask("M1") == "-0001"
    assert line.ask("D1") == "-0001"


@pytest.mark.parametrize("code", [-1, -2, -3, -4, -8, -9, -10, -12])
def test_every_measurement_error_on_request(serve, code):
    _, line = serve(faults=[Fault("meter_error", "spectroradiometer", at_command=1, code=code,
                                  duration_s=1e9)])
    assert line.ask("M5") == f"{code:05d}"
    assert line.ask("I") == f"{code:05d}"


def test_cycles_and_exposure_set_the_measuring_time(serve, clock):
    """SN cycles of a light and a dark frame each (p.110, p.108); our time law."""
    _, line = serve()
    assert line.ask("SE500") == "0000" and line.ask("SN3") == "0000"
    t0 = clock.time()
    assert line.ask("M1").startswith("00000,")
    assert clock.time() - t0 >= 0.5 + 3 * 2 * 0.5
    assert pr655_measuring_time_s(83.0, 500, 3)[0] == pytest.approx(3.5)
    assert math.isclose(pr655_measuring_time_s(10.0)[1], 0.25)
