"""Thermal truth of the bench: steady state ΔT = R_th·P, the first-order time constant, the
ambient's drift and step, and the pixel heating from what the SMU actually drives."""
from __future__ import annotations

import math

import pytest

from simulators.clock import ScaledClock
from simulators.thermal import Ambient, AmbientParameters, PixelThermal, ThermalParameters


def _thermal(**amb):
    clock = ScaledClock(1.0)
    ambient = Ambient(clock, AmbientParameters(**amb))
    return clock, ambient, PixelThermal(clock, ambient, ThermalParameters(80.0, 30.0))


def test_steady_state_rise_is_r_th_times_power_and_tau_is_the_time_constant():
    clock, ambient, th = _thermal(drift_K_per_h=0.0, drift_rh_percent_per_h=0.0)
    t0 = clock.time()
    th.set_power(0.05, t0)                       # 50 mW → 4 K
    assert th.rise_K(t0) == pytest.approx(0.0, abs=1e-12)
    # one τ: 1 − e⁻¹ of the way (exact first-order lag)
    assert th.rise_K(t0 + 30.0) == pytest.approx(4.0 * (1 - math.exp(-1)), rel=1e-9)
    assert th.rise_K(t0 + 600.0) == pytest.approx(4.0, rel=1e-2)   # 20 τ: steady, within 1 %
    assert th.temperature_C(t0 + 600.0) == pytest.approx(22.0 + 4.0, rel=1e-6)
    # power off: decays from where it was with the same τ
    th.set_power(0.0, t0 + 600.0)
    assert th.rise_K(t0 + 630.0) == pytest.approx(4.0 * math.exp(-1), rel=1e-3)
    # a unit error (mW taken as W, τ in minutes) would miss these by far more than 1 %
    assert th.rise_K(t0 + 600.0 + 60 * 30.0) < 1e-6


def test_ambient_drifts_and_steps():
    clock = ScaledClock(1.0)
    amb = Ambient(clock, AmbientParameters(temperature_C=21.0, rh_percent=50.0,
                                           drift_K_per_h=1.0, drift_rh_percent_per_h=-2.0,
                                           step_at_s=7200.0, step_K=3.0, step_rh_percent=10.0))
    assert amb.temperature_C(3600.0) == pytest.approx(22.0)
    assert amb.rh_percent(3600.0) == pytest.approx(48.0)
    assert amb.temperature_C(7200.0) == pytest.approx(26.0)    # 21 + 2 + step 3
    assert amb.rh_percent(7200.0) == pytest.approx(56.0)
    assert amb.rh_percent(1e6) == 0.0                            # clipped


def test_bench_pixel_heats_with_the_power_the_smu_drives():
    from simulators.bench import Bench

    with Bench(noise=False, serial_meters=False, thermal={"r_th_K_W": 100.0, "tau_s": 5.0},
               ambient={"drift_K_per_h": 0.0}) as bench:
        pixel = bench.pixels[0]
        smu = bench.instrument("smu")
        smu.handle(":SOUR:FUNC CURR;:SOUR:CURR 0.02;:SENS:VOLT:PROT 20;:OUTP ON")
        point = pixel.apply("CURR", 0.02, 20.0, True)
        power = point.voltage_V * point.current_A
        bench.clock.advance(100.0)                   # 20 τ
        truth = bench.truth()["environment"]["pixels"][0]
        assert truth["power_W"] == pytest.approx(power, rel=1e-3)
        assert bench.device_temperature_C(0) - 22.0 == pytest.approx(100.0 * power, rel=1e-2)
        smu.handle(":OUTP OFF")
        bench.clock.advance(100.0)
        assert bench.device_temperature_C(0) == pytest.approx(22.0, abs=1e-3)
