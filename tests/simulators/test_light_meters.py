"""CS-2000 and PR-655 simulators through a real pty, checked against independent photometry."""
from __future__ import annotations

import math
import struct
import time

import colour
import numpy as np
import pytest
import serial

from simulators.clock import ScaledClock
from simulators.faults import Fault, FaultPlan
from simulators.cs2000 import CS2000Simulator, cs2000_measuring_time_s, cs2000_premeasurement_s
from simulators.pr655 import PR655Simulator, pr655_measuring_time_s
from simulators.serial_pty import PtyServer

SCALE = 20_000.0  # simulated s per wall s: a 241 s dim measurement takes 12 ms
SIGMA_NM = 18.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))  # FWHM 18 nm


class GreenPixel:
    """Gaussian EL band (517 nm, FWHM 18 nm) with peak spectral radiance ``peak`` [W sr⁻¹ m⁻² nm⁻¹]."""

    def __init__(self, peak=1e-2, centre_nm=517.0, sigma_nm=SIGMA_NM):
        self.peak, self.centre_nm, self.sigma_nm = peak, centre_nm, sigma_nm

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
        wl = np.asarray(wavelength_nm, dtype=float)
        return self.peak * np.exp(-0.5 * ((wl - self.centre_nm) / self.sigma_nm) ** 2)

    def truth(self):
        """Independent photometry: trapezoid on a 0.05 nm grid, CIE tables Sprague-interpolated."""
        shape = colour.SpectralShape(360, 830, 0.05)
        wl = np.arange(360, 830.0001, 0.05)
        L = self.spectral_radiance_W_sr_m2_nm(wl)
        v = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"].copy()
        cmf = colour.colorimetry.MSDS_CMFS_STANDARD_OBSERVER["CIE 1931 2 Degree Standard Observer"].copy()
        v, cmf = v.interpolate(shape), cmf.interpolate(shape)
        X, Y, Z = (683.0 * np.trapezoid(L[:, None] * cmf.values, wl, axis=0)).tolist()
        return {"Lv": 683.0 * np.trapezoid(L * v.values, wl), "x": X / (X + Y + Z),
                "y": Y / (X + Y + Z), "Le": self.peak * self.sigma_nm * math.sqrt(2 * math.pi)}


class Line:
    """A pyserial client that sends one command and reads one reply line."""

    def __init__(self, path, term=b"\n", timeout=2.0, **kw):
        self.port = serial.Serial(path, kw.pop("baudrate", 115200), timeout=timeout, **kw)
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


def serve(meter, **line_kw):
    server = PtyServer(meter, name=type(meter).__name__).start()
    return server, Line(server.path, **line_kw)


@pytest.fixture
def cs(clock):
    pixel = GreenPixel()
    meter = CS2000Simulator(pixel, clock)
    server, line = serve(meter, rtscts=True)
    yield meter, line, pixel
    line.close()
    server.close()


def measure_cs(line) -> int:
    reply = line.ask("MEAS,1")
    assert reply.startswith("OK00,")
    assert line.read() == "OK00"  # the completion reply
    return int(reply.split(",")[1])


def cs_spectrum(line, fmt=1) -> np.ndarray:
    values = []
    for block in range(1, 5):
        reply = line.ask(f"MEDR,1,{fmt},{block}").split(",")
        assert reply[0] == "OK00"
        fields = reply[1:]
        assert len(fields) == (101 if block == 4 else 100)
        if fmt == 1:
            values += [struct.unpack(">f", bytes.fromhex(f))[0] for f in fields]
        else:
            values += [float(f) for f in fields]
    return np.array(values)


# ---------------------------------------------------------------------------
# CS-2000 command set
# ---------------------------------------------------------------------------
def test_cs2000_remote_mode_identity_and_errors(cs):
    meter, line, _ = cs
    assert line.ask("IDDR") == "ER00"  # not in remote mode yet
    assert line.ask("RMTS,1") == "OK00"
    assert line.ask("IDDR") == "OK00,CS-2000  ,1,1000123"
    assert line.ask("FOO,1") == "ER00"
    assert line.ask("RMTS,7") == "ER17"
    assert line.ask("MEDR,9,0,1") == "ER17"
    assert line.ask("MEDR,1,0,5") == "ER17"
    assert line.ask("MSWE,0") == "OK00"
    assert line.ask("SPMS,1,2") == "OK00" and line.ask("SPMR") == "OK00,1,2"
    # Manual mode takes internal ND 0/1 only ([CS7] SPMS p.20); SCMR pads to 5 digits (p.15).
    assert line.ask("SPMS,3,000500000,0") == "OK00" and line.ask("SPMR") == "OK00,3,000500000,0"
    assert line.ask("SPMS,3,000500000,2") == "ER17"
    assert line.ask("SPMS,3,000000001,0") == "ER17"
    assert line.ask("SCMS,1,6000") == "OK00" and line.ask("SCMR") == "OK00,1,06000"
    assert line.ask("RMTS,0") == "OK00"
    assert line.ask("MEAS,1") == "ER00"


def test_cs2000_reply_terminator_follows_the_command(cs):
    _, line, _ = cs
    line.port.write(b"RMTS,1\r\n")
    assert line.port.readline() == b"OK00\r\n"
    line.port.write(b"IDDR\r")
    assert line.port.read_until(b"\r") == b"OK00,CS-2000  ,1,1000123\r"


def wait_until(condition, timeout_s=2.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def test_cs2000_data_before_and_during_a_measurement(cs, clock):
    meter, line, pixel = cs
    line.ask("RMTS,1")
    assert line.ask("MEDR,2,0,02") == "ER20"  # nothing measured yet
    clock.time_scale = 1e-6  # hold the measurement open while we poke at it
    line.port.write(b"MEAS,1\n")
    wait_until(lambda: meter.phase == "pre")
    clock.advance(cs2000_premeasurement_s(pixel.truth()["Lv"]) + 1e-3)  # past the pre-measurement
    assert line.read().startswith("OK00,")
    # [CS7] MEAS p.41: during the actual measurement every command but MEAS,0 gets ER00
    # (MEDR included); p.42: MEAS,1 while measuring is ER17.
    assert line.ask("MEDR,2,0,02") == "ER00"
    assert line.ask("MEAS,1") == "ER17"
    assert line.ask("MEAS,0") == "OK00"  # cancel: no completion reply follows
    clock.time_scale = SCALE
    line.port.timeout = 0.3
    assert line.read() == ""
    line.port.timeout = 2
    assert line.ask("MEDR,2,0,02") == "ER20"
    measure_cs(line)
    assert line.ask("MEDR,2,0,02").startswith("OK00,")


def test_cs2000_spectrum_is_the_source_on_a_1nm_grid(cs):
    _, line, pixel = cs
    line.ask("RMTS,1")
    measure_cs(line)
    wl = np.arange(380, 781)
    binary, text = cs_spectrum(line, 1), cs_spectrum(line, 0)
    truth = pixel.spectral_radiance_W_sr_m2_nm(wl)
    np.testing.assert_allclose(binary, truth, rtol=1e-6, atol=1e-30)  # float32
    # Text is #.####e±# ([CS7] §5.1.1 p.78): 5 significant digits, and (as [CS7] §5.2.1 p.79
    # says for Le, X, Y, Z) "0.0000e-9" below 0.00005e-9.
    np.testing.assert_allclose(text, truth, rtol=5e-5, atol=5e-14)


def test_cs2000_colorimetry_matches_spectrum_and_truth(cs):
    _, line, pixel = cs
    line.ask("RMTS,1")
    measure_cs(line)
    x, y, lv = map(float, line.ask("MEDR,2,0,02").split(",")[1:])
    truth = pixel.truth()
    assert lv == pytest.approx(truth["Lv"], rel=1e-3)
    assert abs(x - truth["x"]) < 1e-4 and abs(y - truth["y"]) < 1e-4
    # ... and with the spectrum the meter reported, integrated independently.
    wl = np.arange(380, 781)
    v = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"][wl]
    assert lv == pytest.approx(683.0 * np.trapezoid(cs_spectrum(line) * v, wl), rel=1e-3)
    allv = [float(f) for f in line.ask("MEDR,2,0,00").split(",")[1:]]
    assert len(allv) == 24
    le, lv0, X, Y, Z, x0, y0 = allv[:7]
    assert le == pytest.approx(truth["Le"], rel=1e-4)  # radiance [W sr⁻¹ m⁻²], closed form
    assert (lv0, Y) == pytest.approx((lv, lv), rel=1e-5)
    assert (x0, y0) == pytest.approx((x, y), abs=1e-6)
    assert allv[11] == pytest.approx(517, abs=3)  # dominant wavelength of a green band
    X1, Y1, Z1 = map(float, line.ask("MEDR,2,0,01").split(",")[1:])
    assert (X1, Y1, Z1) == pytest.approx((X, Y, Z), rel=1e-5)


def test_luminance_of_a_555nm_line_is_683_times_its_radiance(clock):
    """Unit trap: K_m = 683 lm/W and V(555 nm) = 1, so L_v ≈ 683·L_e for a narrow line."""
    pixel = GreenPixel(peak=1e-3, centre_nm=555.0, sigma_nm=1.5)
    server, line = serve(CS2000Simulator(pixel, clock))
    try:
        line.ask("RMTS,1")
        measure_cs(line)
        le, lv = map(float, line.ask("MEDR,2,0,00").split(",")[1:3])
        assert lv / le == pytest.approx(683.0, rel=2e-3)
    finally:
        line.close()
        server.close()


def test_cs2000_noise_enters_through_the_spectrum(clock):
    class Gain:
        def apply(self, value, kind):
            assert kind == "spectrum"
            return value * 1.02

    pixel = GreenPixel()
    server, line = serve(CS2000Simulator(pixel, clock, noise=Gain()))
    try:
        line.ask("RMTS,1")
        measure_cs(line)
        lv = float(line.ask("MEDR,2,0,02").split(",")[3])
        assert lv == pytest.approx(1.02 * pixel.truth()["Lv"], rel=1e-3)
        wl = np.arange(380, 781)
        v = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"][wl]
        assert lv == pytest.approx(683.0 * np.sum(cs_spectrum(line) * v), rel=1e-5)
    finally:
        line.close()
        server.close()


@pytest.mark.parametrize("lv_target", [2e4, 100.0, 1.0, 0.1, 0.005])
def test_cs2000_measuring_time_grows_at_low_luminance(clock, lv_target):
    pixel = GreenPixel()
    pixel.peak *= lv_target / pixel.truth()["Lv"]
    meter = CS2000Simulator(pixel, clock)
    server, line = serve(meter)
    try:
        line.ask("RMTS,1")
        t0 = clock.time()
        reply = line.ask("MEAS,1")
        assert line.read() == "OK00"
        elapsed = clock.time() - t0
        expected, _ = cs2000_measuring_time_s(lv_target)
        assert int(reply.split(",")[1]) == math.ceil(expected - 1e-9)
        assert elapsed >= expected * 0.999  # never early on the simulated clock
        t_us = int(line.ask("MEDR,0,0,1").split(",")[3])
        assert t_us == pytest.approx(1e6 * min(max(2.0 / lv_target, 0.005), 120.0), rel=1e-3)
    finally:
        line.close()
        server.close()


def test_cs2000_measuring_time_law():
    times = [cs2000_measuring_time_s(lv)[0] for lv in (1e4, 100, 10, 1, 0.1, 0.01, 0.001)]
    assert all(a <= b for a, b in zip(times, times[1:]))
    assert times[0] == pytest.approx(1.01, abs=0.01) and times[1] == pytest.approx(1.04)
    assert times[3] == pytest.approx(5.0) and times[4] == pytest.approx(41.0)
    assert times[-1] == pytest.approx(241.0)  # integration capped at 120 s
    assert cs2000_measuring_time_s(0.1, speed_mode=1)[0] == pytest.approx(11.0)  # fast: 0.5 s/L
    assert cs2000_measuring_time_s(0.01, speed_mode=1)[0] == pytest.approx(17.0)  # 8 s cap
    assert cs2000_measuring_time_s(1e3, speed_mode=3, integration_s=0.5)[0] == pytest.approx(2.0)


def test_cs2000_over_range_at_the_angle_limit(clock):
    pixel = GreenPixel()
    meter = CS2000Simulator(pixel, clock, angle_deg=1.0)
    assert meter.luminance_range_cd_m2 == (0.003, 5000.0)
    pixel.peak *= 6000.0 / pixel.truth()["Lv"]
    server, line = serve(meter)
    try:
        line.ask("RMTS,1")
        assert line.ask("MEAS,1").startswith("OK00,")
        assert line.read() == "ER10"
        assert line.ask("MEDR,2,0,02") == "ER10"
        pixel.peak *= 4000.0 / 6000.0
        measure_cs(line)
        assert float(line.ask("MEDR,2,0,02").split(",")[3]) == pytest.approx(4000.0, rel=1e-3)
    finally:
        line.close()
        server.close()
    with pytest.raises(ValueError, match="angle_deg"):
        CS2000Simulator(pixel, clock, angle_deg=2.0)
    with pytest.raises(ValueError, match="spectral_radiance_W_sr_m2_nm"):
        CS2000Simulator(object(), clock)


def test_cs2000_through_pyvisa_py_asrl(cs):
    pyvisa = pytest.importorskip("pyvisa")
    meter, line, _ = cs
    rm = pyvisa.ResourceManager("@py")
    try:
        inst = rm.open_resource(f"ASRL{line.port.port}::INSTR", baud_rate=115200,
                                read_termination="\n", write_termination="\n", timeout=3000)
        assert inst.query("RMTS,1") == "OK00"
        assert inst.query("IDDR") == "OK00,CS-2000  ,1,1000123"
        inst.close()
    finally:
        rm.close()


# ---------------------------------------------------------------------------
# CS-2000 faults
# ---------------------------------------------------------------------------
def with_faults(clock, *faults, meter_cls=CS2000Simulator, pixel=None):
    plan = FaultPlan(faults).for_instrument("spectroradiometer")
    meter = meter_cls(pixel or GreenPixel(), clock, faults=plan)
    return meter, *serve(meter, **({} if meter_cls is CS2000Simulator else
                                   {"term": b"\r", "baudrate": 9600}))


def test_fault_drop_hangs_up_and_a_new_server_recovers(clock):
    meter, server, line = with_faults(clock, Fault("drop", "spectroradiometer", at_command=2))
    try:
        assert line.ask("RMTS,1") == "OK00"
        with pytest.raises(serial.SerialException):
            line.ask("IDDR")
            line.ask("IDDR")
        assert server.hung_up
        server.restart()
        line2 = Line(server.path)
        assert line2.ask("IDDR").startswith("OK00,CS-2000")  # still in remote mode
        line2.close()
    finally:
        line.close()
        server.close()


def test_fault_delay_holds_the_reply_past_the_client_timeout(clock):
    meter, server, line = with_faults(
        clock, Fault("delay", "spectroradiometer", at_command=2, delay_s=0.4))
    try:
        assert line.ask("RMTS,1") == "OK00"
        line.port.timeout = 0.15
        assert line.ask("IDDR") == ""  # timed out
        line.port.timeout = 2
        assert line.read() == "OK00,CS-2000  ,1,1000123"  # arrives late
        assert line.ask("IDDR") == "OK00,CS-2000  ,1,1000123"
    finally:
        line.close()
        server.close()


def test_fault_garble_and_error(clock):
    meter, server, line = with_faults(
        clock, Fault("garble", "spectroradiometer", at_command=2),
        Fault("error", "spectroradiometer", at_command=3, code=17))
    try:
        assert line.ask("RMTS,1") == "OK00"
        garbled = line.ask("IDDR")
        assert len(garbled) == len("OK00,CS-2000  ,1,1000123") and set(garbled) <= set("#~")
        assert line.ask("IDDR") == "ER17"
        assert line.ask("IDDR") == "OK00,CS-2000  ,1,1000123"
    finally:
        line.close()
        server.close()


def test_fault_over_range_while_active(clock):
    meter, server, line = with_faults(
        clock, Fault("over_range", "spectroradiometer", at_command=2, duration_s=1000.0))
    try:
        assert line.ask("RMTS,1") == "OK00"
        assert line.ask("MEAS,1").startswith("OK00,")
        assert line.read() == "ER10"
        clock.advance(2000.0)
        measure_cs(line)
        assert line.ask("MEDR,2,0,02").startswith("OK00,")
    finally:
        line.close()
        server.close()


# ---------------------------------------------------------------------------
# PR-655
# ---------------------------------------------------------------------------
@pytest.fixture
def pr(clock):
    pixel = GreenPixel()
    meter = PR655Simulator(pixel, clock)
    server, line = serve(meter, term=b"\r", baudrate=9600)
    yield meter, line, pixel
    line.close()
    server.close()


def enter_remote(line):
    line.port.write(b"xyPHOTO")  # typed without a terminator; junk before it is ignored
    # 12 bytes, REMOTE MODE at offset 1, no CR LF: what two clients read (iris, Photo_Research)
    assert line.port.read(12) == b" REMOTE MODE"


def test_pr655_remote_mode_handshake_quit_and_errors(pr):
    meter, line, _ = pr
    line.port.timeout = 0.2
    assert line.ask("D111") == ""  # ignored outside remote mode
    line.port.timeout = 2
    enter_remote(line)
    assert meter.remote
    assert line.ask("D111") == "00000,PR-655"
    assert line.ask("D110") == "00000,65061234"
    assert line.ask("D120").startswith("00000,101,0.00,380,780,4,")
    assert line.ask("D1") == "-2000"  # no measurement yet
    assert line.ask("XYZZY") == "-1000"
    assert line.ask("SU1") == "0000"   # S commands: "0000[CR][LF]" ([PRRM] p.112)
    line.port.write(b"Q")
    line.port.timeout = 0.2
    assert line.ask("D111") == ""
    assert not meter.remote
    line.port.timeout = 2
    enter_remote(line)


def test_pr655_replies_end_in_crlf(pr):
    _, line, _ = pr
    enter_remote(line)
    line.port.write(b"D111\r")
    assert line.port.readline() == b"00000,PR-655\r\n"


def test_pr655_m5_spectrum_and_m1_colorimetry(pr):
    _, line, pixel = pr
    enter_remote(line)
    head = line.ask("M5").split(",")
    assert head[0] == "00000" and head[1] == "0"   # units field 0: every [PRRM] example
    rows = [line.read().split(",") for _ in range(101)]
    wl = np.array([float(r[0]) for r in rows])
    values = np.array([float(r[1]) for r in rows])
    np.testing.assert_array_equal(wl, np.arange(380, 781, 4))
    np.testing.assert_allclose(values, pixel.spectral_radiance_W_sr_m2_nm(wl), rtol=6e-4, atol=1e-30)
    truth = pixel.truth()
    assert float(head[2]) == pytest.approx(516.0)  # peak on the 4 nm grid
    assert float(head[3]) == pytest.approx(truth["Le"], rel=1e-3)
    code, units, Y, x, y = line.ask("M1").split(",")
    assert (code, units) == ("00000", "0")
    assert float(Y) == pytest.approx(truth["Lv"], rel=1e-3)
    assert abs(float(x) - truth["x"]) < 1e-4 and abs(float(y) - truth["y"]) < 1e-4
    # Integrate the reported 4 nm spectrum independently (trapezoid).
    v = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"][wl]
    assert float(Y) == pytest.approx(683.0 * np.trapezoid(values * v, wl), rel=1e-3)
    # English units: footlamberts (1 fL = 3.426 cd/m²).
    assert line.ask("SU0") == "0000"
    assert float(line.ask("D1").split(",")[2]) == pytest.approx(truth["Lv"] / 3.4262591, rel=1e-3)
    assert line.ask("D13").startswith("00000,Normal,")


def test_pr655_weak_light_and_overload_codes(clock):
    pixel = GreenPixel()
    lv = pixel.truth()["Lv"]
    meter = PR655Simulator(pixel, clock)
    server, line = serve(meter, term=b"\r", baudrate=9600)
    try:
        enter_remote(line)
        pixel.peak *= 0.1 / lv  # 0.1 cd/m² < 0.3 cd/m² floor
        assert line.ask("M1") == "-0008"
        assert line.ask("D1") == "-0008"
        pixel.peak *= 1e6 / 0.1  # 10⁶ cd/m²
        assert line.ask("M5") == "-0002"
        pixel.peak *= 100.0 / 1e6
        assert float(line.ask("M1").split(",")[2]) == pytest.approx(100.0, rel=1e-3)
    finally:
        line.close()
        server.close()


def test_pr655_measuring_time_and_commands_wait_for_the_measurement(pr, clock):
    meter, line, pixel = pr
    enter_remote(line)
    t0 = clock.time()
    line.port.write(b"M1\rD111\r")  # D111 waits until the measurement ends
    assert line.read().startswith("00000,0,")
    assert clock.time() - t0 >= pr655_measuring_time_s(pixel.truth()["Lv"])[0] * 0.999
    assert line.read() == "00000,PR-655"
    law = [pr655_measuring_time_s(lv)[0] for lv in (1e4, 10, 1, 0.3)]
    assert all(a < b for a, b in zip(law, law[1:]))
    assert law[1] == pytest.approx(1.0)  # 250 ms exposure at 10 cd/m²


def test_pr655_faults_error_garble_over_range(clock):
    meter, server, line = with_faults(
        clock, Fault("error", "spectroradiometer", at_command=2, code=-1000),
        Fault("garble", "spectroradiometer", at_command=3),
        Fault("over_range", "spectroradiometer", at_command=4, duration_s=1e3),
        meter_cls=PR655Simulator)
    try:
        enter_remote(line)                        # command 1
        assert line.ask("D111") == "-1000"        # 2: error fault
        garbled = line.ask("M1")                  # 3: garbled deferred reply
        assert garbled and set(garbled) <= set("#~")
        assert line.ask("M1") == "-0002"          # 4: over range while active
    finally:
        line.close()
        server.close()


def test_closing_mid_measurement_leaks_nothing(clock):
    import os
    import threading

    fds, threads = len(os.listdir("/proc/self/fd")), set(threading.enumerate())
    clock.time_scale = 1.0  # the measurement is still running when we close
    for meter in (CS2000Simulator(GreenPixel(), clock), PR655Simulator(GreenPixel(), clock)):
        server, line = serve(meter)
        line.port.write(b"RMTS,1\nMEAS,1\n" if isinstance(meter, CS2000Simulator) else b"PHOTOM5\r")
        time.sleep(0.05)
        t0 = time.monotonic()
        server.close()
        line.close()
        assert time.monotonic() - t0 < 2.0
    assert set(threading.enumerate()) - threads == set()
    assert len(os.listdir("/proc/self/fd")) == fds


def test_cs2000_and_pr655_agree_with_the_led_device_truth(clock):
    """The bench's device model: reported Lv, x, y equal LEDDevice's own photometric truth."""
    from simulators.device import LEDDevice, LEDParameters, NoiseModel

    device = LEDDevice(LEDParameters())
    current_A = 2e-3

    class Pixel:
        def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
            return device.spectral_radiance_W_sr_m2_nm(wavelength_nm, current_A)

    lv_true = float(device.luminance_cd_m2(current_A))
    x_true, y_true = map(float, device.chromaticity_xy(current_A))
    server, line = serve(CS2000Simulator(Pixel(), clock, noise=NoiseModel.zero()))
    try:
        line.ask("RMTS,1")
        measure_cs(line)
        x, y, lv = map(float, line.ask("MEDR,2,0,02").split(",")[1:])
    finally:
        line.close()
        server.close()
    assert lv == pytest.approx(lv_true, rel=1e-3)
    assert abs(x - x_true) < 1e-4 and abs(y - y_true) < 1e-4
    server, line = serve(PR655Simulator(Pixel(), clock), term=b"\r", baudrate=9600)
    try:
        enter_remote(line)
        _, _, Y, x, y = line.ask("M1").split(",")
    finally:
        line.close()
        server.close()
    assert float(Y) == pytest.approx(lv_true, rel=1e-3)
    assert abs(float(x) - x_true) < 1e-4 and abs(float(y) - y_true) < 1e-4
