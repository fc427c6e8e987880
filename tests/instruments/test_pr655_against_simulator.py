"""The PR-655 driver against the simulated PR-655 on a pty (PR-655/670 manual, "Remote Control
Mode", pp. 99-123, "[PRRM]")."""
from __future__ import annotations

import math

import numpy as np
import pytest

from instruments.photo_research import PR655LightMeter
from simulators.clock import ScaledClock
from simulators.pr655 import PR655Simulator
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
        server = PtyServer(meter, name="pr655").start()
        servers.append(server)
        return server.path

    yield start
    for server in servers:
        server.close()


def open_meter(path, **kw):
    return PR655LightMeter.open(path, timeout_ms=2000, retries=0, quit_wait_s=0.05,
                                char_gap_s=0.0, **kw)


def test_units_field_zero_is_luminance_in_cd_m2(serve):
    """The old driver refused units field 0 — the value every [PRRM] example shows."""
    meter = PR655Simulator(Band(), ScaledClock(2000.0))
    with open_meter(serve(meter)) as light:
        reading = light.measure()
    assert meter.units == 1                                 # SU1 sent
    assert reading.luminance_cd_m2 == pytest.approx(83.3, rel=0.01)


def test_english_units_left_on_the_unit_are_converted(serve):
    """A unit set to English ([PRRM] SU p.112) that is not switched: D601 says so, and the
    driver converts fL to cd/m²."""
    meter = PR655Simulator(Band(), ScaledClock(2000.0), units=0)
    with open_meter(serve(meter), metric=False) as light:
        assert light.driver.units_code == 0
        reading = light.measure()
    assert meter.units == 0
    assert reading.luminance_cd_m2 == pytest.approx(83.3, rel=0.01)


def test_a_unit_still_in_remote_mode_is_taken_over(serve):
    """A session that ended without Q leaves the unit in remote mode, where PHOTO is not
    answered again (Psychtoolbox PR670init.m): the driver sends Q first."""
    meter = PR655Simulator(Band(), ScaledClock(2000.0))
    meter.remote = True
    with open_meter(serve(meter)) as light:
        assert light.measure().luminance_cd_m2 > 1


@pytest.mark.parametrize("banner", [b" REMOTE MODE", b" REMOTE MODE\r\n", b"\r\nREMOTE MODE\r\n"])
def test_banner_with_or_without_line_end(serve, banner):
    """[PRRM] p.103 says only that "REMOTE MODE is displayed"."""
    meter = PR655Simulator(Band(), ScaledClock(2000.0), banner=banner)
    with open_meter(serve(meter)) as light:
        assert light.idn == "PR-655,65061234"
        assert light.measure().luminance_cd_m2 > 1


def test_weak_light_is_nan_and_an_event(serve):
    """[PRRM] p.122: -8 "Weak light – insufficient signal"."""
    meter = PR655Simulator(Band(peak=1e-5), ScaledClock(2000.0))
    events = []
    with open_meter(serve(meter), on_event=lambda level, msg: events.append((level, msg))) as light:
        reading = light.measure()
    assert math.isnan(reading.luminance_cd_m2)
    assert events and "M5 → -8: Weak light – insufficient signal." in events[0][1]
