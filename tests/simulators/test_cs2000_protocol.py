"""The simulated CS-2000 on a real pty, against its Communication Specifications Rev. 7.00.

Each test names the page of Konica Minolta, *Spectroradiometer CS-2000/CS-2000A Communication
Specifications*, Rev. 7.00 (KMSE A0E3-CS.07E, 2020) — "[CS7]" — or of the 2008 first issue
KMSE-TI-08002 — "[CS08]" — that it checks.
"""
from __future__ import annotations

import math
import re
import struct
import time

import numpy as np
import pytest
import scipy.constants
import serial

from simulators.clock import ScaledClock
from simulators.cs2000 import CS2000Simulator, cs2000_premeasurement_s
from simulators.faults import Fault, FaultPlan
from simulators.serial_pty import PtyServer

SCALE = 20_000.0


class Band:
    """A Gaussian emission band of peak spectral radiance ``peak`` [W sr⁻¹ m⁻² nm⁻¹]."""

    def __init__(self, peak=1e-2, centre_nm=517.0, fwhm_nm=18.0):
        self.peak, self.centre_nm = peak, centre_nm
        self.sigma_nm = fwhm_nm / (2.0 * math.sqrt(2.0 * math.log(2.0)))

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
        wl = np.asarray(wavelength_nm, dtype=float)
        return self.peak * np.exp(-0.5 * ((wl - self.centre_nm) / self.sigma_nm) ** 2)


class Planck:
    """A 3000 K black body scaled to ~100 cd/m² (a source with a meaningful CCT)."""

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
        wl = np.asarray(wavelength_nm, dtype=float) * 1e-9
        h, c, k = scipy.constants.h, scipy.constants.c, scipy.constants.k
        return 2e-15 * h * c ** 2 / wl ** 5 / np.expm1(h * c / (wl * k * 3000.0))


class Line:
    def __init__(self, path, term=b"\n"):
        self.port = serial.Serial(path, 115200, timeout=2.0, rtscts=True)
        self.term = term

    def ask(self, command: str) -> str:
        self.port.write(command.encode() + self.term)
        return self.read()

    def read(self) -> str:
        return self.port.readline().decode().rstrip("\r\n")

    def close(self):
        self.port.close()


@pytest.fixture
def clock():
    return ScaledClock(SCALE)


@pytest.fixture
def serve(clock):
    opened = []

    def start(source=None, faults=(), **kw):
        plan = FaultPlan(faults).for_instrument("spectroradiometer")
        meter = CS2000Simulator(source or Band(), clock, faults=plan, **kw)
        server = PtyServer(meter, name="cs2000").start()
        line = Line(server.path)
        opened.append((server, line))
        return meter, line

    yield start
    for server, line in opened:
        line.close()
        server.close()


def remote(line, mode=2):
    assert line.ask(f"RMTS,{mode}") == "OK00"


def measure(line) -> int:
    first = line.ask("MEAS,1")
    assert re.fullmatch(r"OK00,\d{3}", first), first
    assert line.read() == "OK00"
    return int(first[5:])


def wait_until(condition, timeout_s=2.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


# -- remote mode ------------------------------------------------------------------------------
def test_key_mode_accepts_only_rmts(serve):
    """[CS7] RMTS p.12: in key mode every command other than RMTS gets ER00."""
    meter, line = serve()
    for command in ("IDDR", "MEAS,1", "MSWE,0", "STSR", "MEDR,2,0,02", "SPMR"):
        assert line.ask(command) == "ER00", command
    assert meter.phase == "idle"
    assert line.ask("RMTS,3") == "ER17"          # outside 0-2 (p.13)
    assert line.ask("RMTS") == "ER00"            # wrong number of parameters (p.13)
    assert line.ask("RMTS,1,1") == "ER00"
    assert line.ask("RMTS,2") == "OK00" and meter.remote_mode == 2
    assert line.ask("RMTS,0") == "OK00" and line.ask("IDDR") == "ER00"


@pytest.mark.parametrize("firmware, refusal, expected", [
    ("3.00.9301", "ER17", "OK00"), ("4.00.0000", "ER17", "OK00"),
    ("3.00.9300", "ER17", "ER17"), ("1.10.0003", "ER00", "ER00")])
def test_rmts2_needs_firmware_3_00_9301(serve, firmware, refusal, expected):
    """[CS7] RMTS p.12: RMTS,2 "can be used if the firmware version is '3.00.9301' or higher";
    what older firmware answers is not documented (ER17 by default, ER00 selectable)."""
    meter, line = serve(firmware=firmware, rmts2_refusal=refusal)
    assert line.ask("RMTS,2") == expected
    assert meter.remote == (expected == "OK00")
    assert line.ask("RMTS,1") == "OK00"


def test_rmts2_keeps_settings_out_of_flash(serve):
    """[CS7] RMTS pp.12-13, §1.7 pp.8-9: with RMTS,1 settings are written to FROM; with RMTS,2
    SPMS, SCMS, … are not."""
    meter, line = serve()
    remote(line, 1)
    assert line.ask("SPMS,1,2") == "OK00" and line.ask("MSWE,0") == "OK00"
    assert meter.flash_writes == 2
    remote(line, 2)
    assert line.ask("SPMS,0") == "OK00" and line.ask("SCMS,0") == "OK00"
    assert meter.flash_writes == 2


def test_identification_is_padded_to_nine_characters(serve, clock):
    """[CS7] IDDR p.14: name 9 characters, variation 1 (CS-2000) / 2 (CS-2000A), serial 7
    digits; [CS08] IDDR p.38: a shorter name is padded with spaces (20h)."""
    _, line = serve(serial_number="42")
    remote(line)
    assert line.ask("IDDR") == "OK00,CS-2000  ,1,0000042"
    _, line_a = serve(model="CS-2000A")
    remote(line_a)
    assert line_a.ask("IDDR") == "OK00,CS-2000A ,2,1000123"
    assert line_a.ask("IDDR,1") == "ER00"
    with pytest.raises(ValueError, match="firmware"):
        CS2000Simulator(Band(), clock, model="CS-2000A", firmware="1.01.0000")


def test_commands_not_in_the_document_are_invalid(serve):
    """[CS7] §2.1 pp.10-11 lists the commands; MSWR is not one of them → ER00 (§4 p.76)."""
    _, line = serve()
    remote(line)
    assert line.ask("MSWR") == "ER00"
    assert line.ask("meas,1") == "ER00"


@pytest.mark.parametrize("term", [b"\r", b"\n", b"\r\n"])
def test_every_reply_ends_with_the_hosts_delimiter(serve, term):
    """[CS7] §1.4 p.8: the reply uses the delimiter of the command, MEAS's second reply too."""
    _, line = serve()
    line.port.write(b"RMTS,2" + term)
    assert line.port.read_until(term) == b"OK00" + term
    line.port.write(b"MEAS,1" + term)
    first = line.port.read_until(term)
    assert re.fullmatch(rb"OK00,\d{3}" + re.escape(term), first), first
    assert line.port.read_until(term) == b"OK00" + term


# -- MEAS: pre-measurement, ttt, second reply, busy and idle --------------------------------
def test_meas_replies_after_the_premeasurement_then_after_ttt(serve, clock):
    """[CS7] MEAS p.41: pre-measurement (about 1-10 s, deaf), then OK00,ttt (3 digits, 002-242,
    the time left from this reply), then a second OK00 when the measurement ends."""
    meter, line = serve(Band(peak=1e-5))         # 0.08 cd/m²: pre-measurement 8 s, ttt 49 s
    remote(line)
    clock.time_scale = 1e-6
    line.port.write(b"MEAS,1\n")
    wait_until(lambda: meter.phase == "pre")
    line.port.write(b"IDDR\n")                   # sent during the pre-measurement: not accepted
    line.port.timeout = 0.2
    assert line.read() == ""                     # nothing before the pre-measurement ends
    assert 1.0 <= cs2000_premeasurement_s(1e4) <= cs2000_premeasurement_s(1e-4) <= 10.0
    clock.advance(10.0 + 1e-3)
    line.port.timeout = 2.0
    first = line.read()
    assert re.fullmatch(r"OK00,\d{3}", first)
    ttt = int(first[5:])
    assert 2 <= ttt <= 242
    # During the actual measurement: everything but MEAS,0 → ER00 (p.41); MEAS,1 → ER17 (p.42).
    assert line.ask("IDDR") == "ER00"
    assert line.ask("MEDR,2,0,02") == "ER00"
    assert line.ask("MEAS,1") == "ER17"
    clock.advance(ttt)
    assert line.read() == "OK00"
    line.port.timeout = 0.2
    assert line.read() == ""                     # the IDDR of the pre-measurement was dropped
    clock.time_scale = SCALE


def test_ttt_is_three_digits_from_002_to_242(serve, clock):
    """[CS7] MEAS p.41: "Integer; 3 digits … 002 to 242"."""
    _, line = serve(Band(peak=1.0))              # ~8,300 cd/m²: integration at its floor
    remote(line)
    assert line.ask("MEAS,1") == "OK00,002" and line.read() == "OK00"
    _, dark = serve(Band(peak=1e-7))             # ~1e-3 cd/m²: 241 s
    remote(dark)
    assert dark.ask("MEAS,1") == "OK00,241" and dark.read() == "OK00"


def test_meas_0_cancels_or_is_a_parameter_error(serve, clock):
    """[CS7] MEAS pp.41-42: MEAS,0 when idle → ER17; after the pre-measurement it cancels
    (OK00) and no completion reply follows ([CS08] p.6 "Canceled measurement" flow)."""
    meter, line = serve(Band(peak=1e-5))
    remote(line)
    assert line.ask("MEAS,0") == "ER17"
    assert line.ask("MEAS,2") == "ER17"
    assert line.ask("MEAS") == "ER00"
    clock.time_scale = 1e-6
    line.port.write(b"MEAS,1\n")
    wait_until(lambda: meter.phase == "pre")
    clock.advance(10.001)
    assert line.read().startswith("OK00,")
    assert line.ask("MEAS,0") == "OK00"
    clock.advance(300.0)
    line.port.timeout = 0.2
    assert line.read() == ""
    line.port.timeout = 2.0
    clock.time_scale = SCALE
    assert line.ask("MEDR,2,0,02") == "ER20"


# -- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [10, 51, 52, 71, 81, 82, 83, 84, 99])
def test_measurement_errors_end_the_measurement(serve, code):
    """[CS7] §4 pp.76-77 and MEAS p.42: the measurement's second reply is its error code;
    MEDR then answers it (MEDR p.45 lists ER10, ER51, ER52, ER71, ER83)."""
    _, line = serve(faults=[Fault("meter_error", "spectroradiometer", at_command=1,
                                  code=code, duration_s=1e9)])
    remote(line)
    assert line.ask("MEAS,1").startswith("OK00,")
    assert line.read() == f"ER{code}"
    assert line.ask("MEDR,2,0,02") == f"ER{code}"


def test_setting_errors(serve):
    """ER05 no compensation values, ER17 out of range, ER00 wrong parameter count ([CS7] §4
    p.76; UCCS p.24, LNSS p.31, NDFS p.36, SPMS pp.20-22, SCMS p.16)."""
    _, line = serve()
    remote(line)
    for command, reply in [("UCCS,00", "OK00"), ("UCCS,01", "ER05"), ("UCCS,11", "ER17"),
                           ("UCCR", "OK00,00"), ("LNSS,1", "ER05"), ("LNSS,2", "ER17"),
                           ("NDFS,2", "ER05"), ("NDFS,3", "ER17"), ("SPMS,0", "OK00"),
                           ("SPMR", "OK00,0,2"), ("SPMS,0,1,1", "ER00"), ("SPMS,2,1", "OK00"),
                           ("SPMR", "OK00,2,01,2"), ("SPMS,2,17", "ER17"),
                           ("SPMS,3,5000", "ER00"), ("SPMS,5", "ER17"), ("SCMS,1", "ER00"),
                           ("SCMS,0,6000", "ER00"), ("SCMS,1,1999", "ER17"),
                           ("SCMS,3", "ER17"), ("MSWE,2", "ER17"), ("MEDR,1,1", "ER00"),
                           ("MEDR,2,0,06", "ER17"), ("MEDR,0,0,2", "ER17"),
                           ("MEDR,1,2,1", "ER17"), ("MEDR,2,0,1000", "ER17")]:
        assert line.ask(command) == reply, command


# -- MEDR ---------------------------------------------------------------------------------
@pytest.mark.parametrize("angle_deg, code", [(1.0, 0), (0.2, 1), (0.1, 2)])
def test_measuring_angle_in_stsr_and_medr_0(serve, angle_deg, code):
    """[CS7] STSR p.23 and MEDR p.44 field 7: 0 = 1°, 1 = 0.2°, 2 = 0.1°; MEDR,0 has all 8
    fields: speed, sync, integration µs (9 digits), internal ND, lens, external ND, angle,
    calibration channel (2 digits)."""
    _, line = serve(Band(peak=1e-2), angle_deg=angle_deg)
    remote(line)
    assert line.ask("STSR") == f"OK00,{code}"
    assert line.ask("SPMS,1,0") == "OK00"
    measure(line)
    fields = line.ask("MEDR,0,0,1").split(",")
    assert fields[0] == "OK00" and len(fields) == 9
    speed, sync, t_us, nd, lens, ext_nd, angle, cal = fields[1:]
    assert (speed, sync, nd, lens, ext_nd, angle, cal) == ("1", "0", "0", "0", "0", str(code),
                                                            "00")
    assert re.fullmatch(r"\d{9}", t_us) and int(t_us) > 0
    assert line.ask("MEDR,0,1,1") == line.ask("MEDR,0,0,1")


def test_colorimetric_blocks_and_their_formats(serve):
    """[CS7] MEDR p.43 / §5.2 p.79: blocks 00-05, 11-15, 100, 101 with the per-quantity text
    formats of §5.2.1 p.80."""
    _, line = serve(Planck())
    remote(line)
    measure(line)
    sizes = {0: 24, 1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 11: 3, 12: 3, 13: 3, 14: 3, 15: 3, 100: 1,
             101: 1}
    blocks = {}
    for block, size in sizes.items():
        reply = line.ask(f"MEDR,2,0,{block:02d}").split(",")
        assert reply[0] == "OK00" and len(reply) == size + 1, block
        blocks[block] = reply[1:]
    le, lv, X, Y, Z, x, y, u, v, T, duv, wd, pe = blocks[0][:13]
    exp4 = r"\d\.\d{4}e[+-]\d"
    assert re.fullmatch(exp4, le) and re.fullmatch(exp4, X) and re.fullmatch(exp4, Z)
    assert len(lv) == 6 and "." in lv                         # "######" … "#.####"
    assert all(re.fullmatch(r"0\.\d{4}", q) for q in (x, y, u, v))
    assert re.fullmatch(r"\d{1,5}", T) and abs(int(T) - 3000) < 15
    assert re.fullmatch(r"[+-]0\.\d{4}", duv)
    assert blocks[101] == [lv] and blocks[100] == [le]
    assert blocks[2] == [x, y, lv] and blocks[1] == [X, Y, Z] and blocks[4] == [T, duv, lv]
    assert blocks[12][2] == lv                                # 12: x10, y10, Lv
    assert float(Y) == pytest.approx(float(lv), rel=1e-4)


def test_cct_of_a_green_band_is_a_calculation_error(serve):
    """A chromaticity far from the Planckian locus: T and Δuv come as their calculation-error
    numbers ([CS7] §5.2.1 p.80: "-9999", "-9.9999"; when the instrument declares the error is
    our guess: |Δuv| > 0.05)."""
    _, line = serve(Band())
    remote(line)
    measure(line)
    assert line.ask("MEDR,2,0,04").split(",")[1:3] == ["-9999", "-9.9999"]
    assert line.ask("MEDR,2,1,04").split(",")[1:3] == ["D1BA43B6", "D1BA43B6"]


def test_calculation_error_numbers_per_quantity(serve):
    """[CS7] §5.1-5.2 pp.78-81: text -9.9999e9 (spectral, Le, X, Y, Z), -9.9e9 (Lv, λd, Pe),
    -9.999 (x, y, u′, v′), -9999 (T), -9.9999 (Δuv); hex D1BA43B6."""
    _, line = serve(Planck(), faults=[Fault("calc_error", "spectroradiometer", at_command=1,
                                            duration_s=1e9)])
    remote(line)
    measure(line)
    spectral = line.ask("MEDR,1,0,1").split(",")
    assert spectral[0] == "OK00" and set(spectral[1:]) == {"-9.9999e9"} and len(spectral) == 101
    assert set(line.ask("MEDR,1,1,4").split(",")[1:]) == {"D1BA43B6"}
    fields = line.ask("MEDR,2,0,00").split(",")[1:]
    assert fields[:13] == ["-9.9999e9", "-9.9e9", "-9.9999e9", "-9.9999e9", "-9.9999e9",
                           "-9.999", "-9.999", "-9.999", "-9.999", "-9999", "-9.9999", "-9.9e9",
                           "-9.9e9"]
    assert set(line.ask("MEDR,2,1,00").split(",")[1:]) == {"D1BA43B6"}
    assert line.ask("MEDR,0,0,1").startswith("OK00,0,0,")     # the conditions are no values


def test_old_firmware_sends_zero_for_a_calculation_error(serve):
    """[CS7] (*1) pp.78-81: "For CS-2000 firmware ver. 1.01.0000 or earlier, '0' will be
    output" (hex: 00000000, our reading)."""
    _, line = serve(Planck(), firmware="1.01.0000",
                    faults=[Fault("calc_error", "spectroradiometer", at_command=1,
                                  duration_s=1e9)])
    remote(line, 1)
    measure(line)
    assert line.ask("MEDR,2,0,02") == "OK00,0,0,0"
    assert line.ask("MEDR,2,1,02") == "OK00,00000000,00000000,00000000"


def test_hex_values_are_big_endian_float32(serve):
    """[CS7] §1.8 p.9, §5.1.2 p.78: IEEE float, 4-byte big-endian, 8 characters."""
    source = Band()
    _, line = serve(source)
    remote(line)
    measure(line)
    words = line.ask("MEDR,1,1,2").split(",")[1:]
    assert len(words) == 100 and all(re.fullmatch(r"[0-9A-F]{8}", w) for w in words)
    values = [struct.unpack(">f", bytes.fromhex(w))[0] for w in words]
    np.testing.assert_allclose(values, source.spectral_radiance_W_sr_m2_nm(np.arange(480, 580)),
                               rtol=1e-6, atol=1e-37)


# -- the measuring button and when data are cleared ----------------------------------------
def test_button_is_disabled_by_default_and_data_stay(serve):
    """[CS7] INIT p.75: "Measuring button in remote mode: Disabled"; MEDR p.45: with the button
    disabled data are cleared only when the next measurement starts."""
    meter, line = serve()
    remote(line)
    measure(line)
    assert not meter.press_measure_button()
    for _ in range(2):
        for block in (1, 2, 3, 4):
            assert line.ask(f"MEDR,1,1,{block}").startswith("OK00,")
        assert line.ask("MEDR,2,1,02").startswith("OK00,")


def test_button_measurement_answers_er02_and_reading_clears_the_data(serve, clock):
    """[CS7] §8.2 p.86 and [CS08] MEDR pp.9-10: after MSWE,1 a button measurement sends
    nothing; MEDR polls get ER20 before, ER02 "Measurement in process" during; once read
    (all 4 spectral blocks, or one colorimetric set) the data are cleared (ER20)."""
    meter, line = serve()
    remote(line)
    assert line.ask("MSWE,1") == "OK00"
    assert line.ask("MEDR,1,0,1") == "ER20"
    clock.time_scale = 1e-6
    assert meter.press_measure_button()
    assert line.ask("MEDR,1,0,1") == "ER02"
    assert line.ask("IDDR") == "ER00"
    clock.advance(300.0)
    wait_until(lambda: meter.phase == "idle")
    clock.time_scale = SCALE
    for block in (1, 2, 3, 4):
        assert line.ask(f"MEDR,1,0,{block}").startswith("OK00,")
    assert line.ask("MEDR,1,0,1") == "ER20"
    assert meter.press_measure_button()
    wait_until(lambda: meter.phase == "idle")
    assert line.ask("MEDR,2,0,02").startswith("OK00,")
    assert line.ask("MEDR,2,0,02") == "ER20"
