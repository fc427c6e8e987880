"""Operational ageing of the LED pixel: stretched exponential, acceleration law, cumulative damage."""

import math

import numpy as np
import pytest

from simulators.device import LEDDevice, LEDParameters


def current_for_luminance(device, l0):
    """Fresh-device current [A] giving luminance l0 (bisection in log I; independent of truth())."""
    lo, hi = math.log(1e-9), math.log(float(device.current_A(5.0)))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if float(device.luminance_cd_m2(math.exp(mid), aged=False)) < l0:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def test_t50_and_tx_from_tau_and_beta():
    dev = LEDDevice()
    tau = float(dev.lifetime_tau_s(1000.0))
    assert tau == pytest.approx(1800.0 / math.log(2) ** (1 / 0.6), rel=1e-12)
    assert dev.t50_s(1000.0) == pytest.approx(1800.0, rel=1e-12)
    for x in (0.95, 0.9, 0.8, 0.5):
        assert dev.tx_s(x, 1000.0) == pytest.approx(tau * (-math.log(x)) ** (1 / 0.6), rel=1e-12)
    assert dev.tx_s(0.95, 1000.0) < dev.tx_s(0.8, 1000.0) < dev.t50_s(1000.0)


def test_acceleration_law_l0_power_n_times_t50_is_constant():
    dev = LEDDevice()
    l0 = np.array([500.0, 1000.0, 5000.0, 10000.0])
    t50 = np.array([dev.t50_s(x) for x in l0])
    np.testing.assert_allclose(l0 ** 1.5 * t50, 1000.0 ** 1.5 * 1800.0, rtol=1e-12)
    slope = np.polyfit(np.log(l0), np.log(t50), 1)[0]
    assert slope == pytest.approx(-1.5, rel=1e-9)


def test_stepped_ageing_at_constant_current_follows_the_stretched_exponential():
    dev = LEDDevice()
    i = current_for_luminance(dev, 1000.0)
    assert float(dev.luminance_cd_m2(i)) == pytest.approx(1000.0, rel=1e-9)
    tau = float(dev.lifetime_tau_s(1000.0))
    t, dt = 0.0, 7.3
    while t + dt <= 1800.0:
        dev.age(dt, i)
        t += dt
    dev.age(1800.0 - t, i)
    assert dev.luminance_factor == pytest.approx(0.5, rel=1e-9)
    assert float(dev.luminance_cd_m2(i)) == pytest.approx(500.0, rel=1e-6)
    dev.age(1200.0, i)
    assert dev.luminance_factor == pytest.approx(math.exp(-(3000.0 / tau) ** 0.6), rel=1e-9)


def test_a_change_of_stress_current_keeps_l_over_l0_continuous_and_adds_damage():
    dev = LEDDevice()
    i1, i2 = current_for_luminance(dev, 1000.0), current_for_luminance(dev, 5000.0)
    tau1, tau2 = float(dev.lifetime_tau_s(1000.0)), float(dev.lifetime_tau_s(5000.0))
    dev.age(600.0, i1)
    before = dev.luminance_factor
    dev.age(1e-9, i2)
    assert dev.luminance_factor == pytest.approx(before, rel=1e-9)   # continuous at the switch
    dev.age(100.0 - 1e-9, i2)
    expected = math.exp(-(600.0 / tau1 + 100.0 / tau2) ** 0.6)
    assert dev.luminance_factor == pytest.approx(expected, rel=1e-9)
    # Equivalent age: from here it continues along the 5000 cd/m² curve.
    t_eq = tau2 * (600.0 / tau1 + 100.0 / tau2)
    dev.age(50.0, i2)
    assert dev.luminance_factor == pytest.approx(math.exp(-((t_eq + 50) / tau2) ** 0.6),
                                                 rel=1e-9)


def test_voltage_rises_with_ageing_and_reset_restores_the_fresh_device():
    dev = LEDDevice()
    i = current_for_luminance(dev, 1000.0)
    v_fresh = float(dev.voltage_V(i))
    dev.age(1800.0, i)
    assert dev.ageing_voltage_V == pytest.approx(0.3, rel=1e-9)
    # The rise sits in the diode branch; the shunt takes back a first-order sliver a/(Rsh·I).
    a = dev.params.ideality_factor * dev.thermal_voltage_V
    expected = 0.3 * (1 - a / (dev.params.shunt_resistance_ohm * i))
    assert float(dev.voltage_V(i)) - v_fresh == pytest.approx(expected, rel=1e-6)
    # The inverse pair stays exact in the aged state.
    v = np.linspace(-2, 8, 50)
    np.testing.assert_allclose(dev.voltage_V(dev.current_A(v)), v, rtol=1e-9, atol=1e-12)
    assert float(dev.eqe_fraction(2.0)) == pytest.approx(0.187 * 0.5, rel=1e-9)
    assert float(dev.eqe_fraction(2.0, aged=False)) == pytest.approx(0.187, rel=1e-12)
    dev.reset_ageing()
    assert dev.luminance_factor == 1.0 and float(dev.voltage_V(i)) == pytest.approx(v_fresh)


def test_zero_or_reverse_current_does_not_age():
    dev = LEDDevice()
    dev.age(1e6, 0.0)
    dev.age(1e6, -1e-3)
    assert dev.luminance_factor == 1.0


def test_optional_initial_brightening_and_its_exact_tx():
    dev = LEDDevice(LEDParameters(brightening_fraction=0.2, brightening_time_s=60.0))
    i = current_for_luminance(dev, 1000.0)
    dev.age(120.0, i)
    assert dev.luminance_factor > 1.0
    t50 = dev.t50_s(1000.0)
    tau = float(dev.lifetime_tau_s(1000.0))
    factor = (1 + 0.2 * (1 - math.exp(-t50 / 60.0))) * math.exp(-(t50 / tau) ** 0.6)
    assert factor == pytest.approx(0.5, rel=1e-10)
    assert t50 > 1800.0
    dev.reset_ageing()
    dev.age(t50, i)
    assert dev.luminance_factor == pytest.approx(0.5, rel=1e-9)


@pytest.mark.parametrize("call, name", [
    (lambda d: d.age(-1.0, 1e-3), "dt_s"),
    (lambda d: d.tx_s(1.5, 1000.0), "fraction"),
    (lambda d: d.tx_s(0.5, -1.0), "l0_cd_m2"),
])
def test_bad_ageing_arguments_raise(call, name):
    with pytest.raises(ValueError, match=f"^{name} = .* allowed"):
        call(LEDDevice())
