"""The CS-2000 driver against the simulated CS-2000 on a pty: timing, the measuring button,
firmware without RMTS,2, calculation errors — each as Rev. 7.00 of the Communication
Specifications (KMSE A0E3-CS.07E, "[CS7]") describes the instrument."""
from __future__ import annotations

import math

import numpy as np
import pytest

from instruments.konica_minolta import CS2000LightMeter
from simulators.clock import ScaledClock
from simulators.cs2000 import CS2000Simulator, cs2000_measuring_time_s, cs2000_premeasurement_s
from simulators.faults import Fault, FaultPlan
from simulators.serial_pty import PtyServer


class Band:
    def __init__(self, peak=1e-2):
        self.peak = peak

    def spectral_radiance_W_sr_m2_nm(self, wavelength_nm):
        wl = np.asarray(wavelength_nm, dtype=float)
        return self.peak * np.exp(-0.5 * ((wl - 517.0) / 7.64) ** 2)


@pytest.fixture
def serve():
    servers = []

    def start(meter):
        server = PtyServer(meter, name="cs2000").start()
        servers.append(server)
        return server.path

    yield start
    for server in servers:
        server.close()


def test_first_reply_waits_out_the_premeasurement(serve):
    """[CS7] MEAS p.41: the first reply comes after a pre-measurement of about 1-10 s. At 1 cd/m²
    the simulated one takes 5.5 s (1.1 s of wall time here), longer than the 0.5 s read timeout:
    the driver must wait for it, and then for ttt seconds."""
    clock = ScaledClock(5.0)
    meter = CS2000Simulator(Band(peak=1e-2 / 83.0), clock)
    path = serve(meter)
    with CS2000LightMeter.open(path, timeout_ms=500, retries=0) as light:
        t0 = clock.time()
        reading = light.measure()
        elapsed_s = clock.time() - t0
    lv = reading.luminance_cd_m2
    assert lv == pytest.approx(1.0, rel=0.02)
    # pre-measurement (5.5 s at 1 cd/m²) + the measurement (1 s + 2·2 s at 1 cd/m²)
    assert elapsed_s >= cs2000_premeasurement_s(lv) + cs2000_measuring_time_s(lv)[0] - 0.01


def test_front_panel_button_cannot_clear_data_mid_read(serve):
    """[CS7] §8.1 p.85: "The measuring button on the instrument should be disabled by sending
    MSWE,0"; with it enabled, a press starts a measurement, which clears the data (MEDR p.45).
    Here the button was left enabled and the operator presses it between two spectral blocks."""
    class Operator(CS2000Simulator):
        def _cmd_MEDR(self, args):
            if args == ["1", "1", "2"]:
                self.press_measure_button()
            return super()._cmd_MEDR(args)

    clock = ScaledClock(2000.0)
    meter = Operator(Band(), clock, button_enabled=True)
    with CS2000LightMeter.open(serve(meter), retries=0) as light:
        reading = light.measure()
    assert meter.measuring_switch == 0 and meter.phase == "idle"
    assert reading.spectral_radiance_W_sr_m2_nm.size == 401
    assert np.isfinite(reading.spectral_radiance_W_sr_m2_nm).all()


def test_settings_stay_out_of_flash_with_rmts2(serve):
    """[CS7] RMTS pp.12-13: RMTS,2 keeps SPMS and MSWE out of the flash memory."""
    meter = CS2000Simulator(Band(), ScaledClock(2000.0))
    with CS2000LightMeter.open(serve(meter), speed="fast", retries=0) as light:
        light.measure()
        assert meter.remote_mode == 2
    assert meter.flash_writes == 0


def test_old_firmware_falls_back_to_rmts1_and_says_so(serve):
    """[CS7] RMTS p.12: firmware before 3.00.9301 has no RMTS,2."""
    meter = CS2000Simulator(Band(), ScaledClock(2000.0), firmware="3.00.0000")
    events = []
    with CS2000LightMeter.open(serve(meter), speed="fast", retries=0,
                               on_event=lambda level, msg: events.append((level, msg))) as light:
        assert light.measure().luminance_cd_m2 > 1
        assert meter.remote_mode == 1
    assert meter.flash_writes == 2                       # MSWE,0 and SPMS,1,2
    assert [level for level, _ in events] == ["warning"]
    assert "RMTS,2 refused" in events[0][1] and "ER17" in events[0][1]


@pytest.mark.parametrize("data_format", ["hex", "text"])
def test_calculation_error_is_nan_and_an_event_never_a_huge_negative(serve, data_format):
    """[CS7] §5 pp.78-81: -9.9999e9 / -9.9e9 / -9.999 in text, D1BA43B6 in hex."""
    plan = FaultPlan([Fault("calc_error", "spectroradiometer", at_command=1,
                            duration_s=1e9)]).for_instrument("spectroradiometer")
    meter = CS2000Simulator(Band(), ScaledClock(2000.0), faults=plan)
    events = []
    with CS2000LightMeter.open(serve(meter), retries=0, data_format=data_format,
                               on_event=lambda level, msg: events.append((level, msg))) as light:
        reading = light.measure()
    assert math.isnan(reading.luminance_cd_m2)
    assert math.isnan(reading.x) and math.isnan(reading.y)
    assert np.isnan(reading.spectral_radiance_W_sr_m2_nm).all()
    assert len(events) == 1 and "calculation-error number for Lv, x, y" in events[0][1]


def test_text_and_hex_readings_agree(serve):
    meter = CS2000Simulator(Band(), ScaledClock(2000.0))
    path = serve(meter)
    with CS2000LightMeter.open(path, retries=0) as hex_meter:
        hex_reading = hex_meter.measure()
    with CS2000LightMeter.open(path, retries=0, data_format="text") as text_meter:
        text_reading = text_meter.measure()
    assert text_reading.luminance_cd_m2 == pytest.approx(hex_reading.luminance_cd_m2, rel=1e-4)
    np.testing.assert_allclose(text_reading.spectral_radiance_W_sr_m2_nm,
                               hex_reading.spectral_radiance_W_sr_m2_nm, rtol=5e-5, atol=5e-14)
    assert hex_reading.measuring_angle_deg == 0.2
