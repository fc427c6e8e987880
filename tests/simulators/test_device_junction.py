"""Junction capacitance of simulators.device: DLCP and C-V against the depletion-approximation truth.

The DLCP fit below is our own (numpy.polyfit), not the package's analysis.
"""

import math

import numpy as np
import pytest
from scipy import constants

from simulators.device import LEDDevice, LEDParameters

Q, EPS0 = constants.e, constants.epsilon_0
ROOT8 = 2.0 * math.sqrt(2.0)          # δV_pp = 2√2·V_rms


def dlcp(device, frequency_Hz, v_max_V, swing_pp_V, *, epsilon=None, use_rms=False):
    """Fit C(δV) = C0 + C1·δV + C2·δV² at fixed maximum forward excursion; N_DL [cm⁻³], ⟨x⟩ [nm]."""
    bias = v_max_V - swing_pp_V / 2.0
    cp, _ = device.capacitance(frequency_Hz, bias, swing_pp_V / ROOT8)
    amplitude = swing_pp_V / ROOT8 if use_rms else swing_pp_V
    _, c1, c0 = np.polyfit(amplitude, cp, 2)
    eps = device.params.epsilon_r * EPS0 if epsilon is None else epsilon
    area_m2 = device.params.area_cm2 * 1e-4
    return -c0 ** 3 / (2 * Q * eps * area_m2 ** 2 * c1) * 1e-6, eps * area_m2 / c0 * 1e9


SWING = np.linspace(0.01, 0.1, 20)


@pytest.fixture(scope="module")
def uniform():
    return LEDDevice(LEDParameters.uniform_junction(5e17))


@pytest.mark.parametrize("v_max", [-0.5, 0.0, 0.5])
def test_dlcp_on_a_uniform_junction_gives_n(uniform, v_max):
    n_dl, x = dlcp(uniform, 1e4, v_max, SWING)
    assert n_dl == pytest.approx(5e17, rel=5e-3)
    # Profiling distance: the depletion width at the maximum forward excursion.
    w = math.sqrt(2 * 25 * EPS0 * (1.8 - v_max) / (Q * 5e23)) * 1e9
    assert x == pytest.approx(w, rel=5e-3)


def test_unit_tripwires_rms_instead_of_pp_and_relative_instead_of_absolute_permittivity(uniform):
    n_true, _ = dlcp(uniform, 1e4, 0.0, SWING)
    n_rms, _ = dlcp(uniform, 1e4, 0.0, SWING, use_rms=True)
    assert n_true / n_rms == pytest.approx(ROOT8, rel=1e-9)        # 2.83× too low
    assert n_true / n_rms >= 2.8
    n_eps_r, _ = dlcp(uniform, 1e4, 0.0, SWING, epsilon=25.0)
    assert n_eps_r / n_true < 1e-10 or n_eps_r / n_true > 1e10     # ε_r for ε: off by ~1e11


def test_symmetric_swing_at_fixed_bias_is_even_in_amplitude(uniform):
    """Why DLCP must hold V_DC + δV/2 fixed: around a fixed bias C has no linear term."""
    cp, _ = uniform.capacitance(1e4, 0.0, SWING / ROOT8)
    _, c1_fixed_bias, _ = np.polyfit(SWING, cp, 2)
    cp, _ = uniform.capacitance(1e4, 0.0 - SWING / 2, SWING / ROOT8)
    _, c1_dlcp, _ = np.polyfit(SWING, cp, 2)
    assert c1_dlcp < 0
    assert abs(c1_fixed_bias) < 1e-4 * abs(c1_dlcp)


def test_small_signal_cv_mott_schottky_gives_n_and_vbi(uniform):
    v = np.linspace(-1.0, 1.0, 41)
    cp, _ = uniform.capacitance(1e4, v, 0.0)
    area_m2 = uniform.params.area_cm2 * 1e-4
    slope, intercept = np.polyfit(v, cp ** -2.0, 1)
    n_cv = 2.0 / (Q * 25 * EPS0 * area_m2 ** 2 * -slope) * 1e-6
    assert n_cv == pytest.approx(5e17, rel=1e-6)
    assert -intercept / slope == pytest.approx(1.8, rel=1e-6)        # V_bi
    # and C = εA/W pointwise (level 0 is the exact small-signal dQ/dV)
    w = np.sqrt(2 * 25 * EPS0 * (1.8 - v) / (Q * 5e23))
    np.testing.assert_allclose(cp, 25 * EPS0 * area_m2 / w, rtol=1e-9)
    # a 5 mV rms level (the E4980A minimum) stays within 1e-4 of small signal
    cp5, _ = uniform.capacitance(1e4, v, 0.005)
    np.testing.assert_allclose(cp5, cp, rtol=1e-4)


def test_dlcp_equals_cv_on_the_calibration_device(uniform):
    n_dl, x = dlcp(uniform, 1e5, -0.2, SWING)
    cp, _ = uniform.capacitance(1e5, np.array([-0.25, -0.15]), 0.0)
    area_m2 = uniform.params.area_cm2 * 1e-4
    dinv = (cp[1] ** -2 - cp[0] ** -2) / 0.1
    n_cv = 2.0 / (Q * 25 * EPS0 * area_m2 ** 2 * -dinv) * 1e-6
    assert n_dl == pytest.approx(n_cv, rel=5e-3)


def test_trap_response_steps_n_dl_between_low_and_high_frequency():
    dev = LEDDevice(LEDParameters(profile_depth_nm=(0.0,), free_carrier_density_cm3=(5e17,),
                                  trap_density_cm3=(8e17,)))
    e_t = 1e11 * math.exp(-0.40 * Q / (constants.k * 300.0))
    assert dev.trap_emission_rate_per_s == pytest.approx(e_t, rel=1e-12)
    for f in (20.0, 1e6):
        g = 1.0 / (1.0 + (2 * math.pi * f / e_t) ** 2)
        n_dl, _ = dlcp(dev, f, 0.0, SWING)
        assert n_dl == pytest.approx(5e17 + g * 8e17, rel=5e-3)
    assert dlcp(dev, 20.0, 0.0, SWING)[0] == pytest.approx(1.3e18, rel=5e-3)
    assert dlcp(dev, 1e6, 0.0, SWING)[0] == pytest.approx(5e17, rel=5e-3)
    assert float(dev.trap_response_fraction(dev.trap_cutoff_frequency_Hz)) == pytest.approx(0.5)


def test_default_profile_is_recovered_at_the_profiling_distance():
    dev = LEDDevice()
    for f in (20.0, 1e6):
        for v_max in (-0.5, 0.3, 1.0):
            n_dl, x = dlcp(dev, f, v_max, SWING)
            assert x < dev.params.layer_thickness_nm             # never fully depleted
            assert n_dl == pytest.approx(float(dev.effective_density_cm3(x, f)), rel=0.03)


def test_full_depletion_gives_the_geometric_capacitance():
    dev = LEDDevice()
    c_geo = 25 * EPS0 * 0.04e-4 / 150e-9
    assert dev.geometric_capacitance_F == pytest.approx(c_geo, rel=1e-12)
    cp, _ = dev.capacitance(1e6, -30.0, 0.05)
    assert float(cp) == pytest.approx(c_geo, rel=1e-9)
    cp_rev, _ = dev.capacitance(1e6, np.linspace(-30, 1.5, 60), 0.0)
    assert np.all(np.diff(cp_rev) >= 0) and np.all(cp_rev >= c_geo * (1 - 1e-12))


def test_forward_bias_beyond_vbi_stays_finite_and_conductance_is_the_iv_slope():
    dev = LEDDevice()
    cp, g = dev.capacitance(1e3, np.array([-2.0, 0.0, 1.8, 2.5, 3.5]), 0.025)
    assert np.all(np.isfinite(cp)) and np.all(cp > 0)
    np.testing.assert_allclose(g, dev.differential_conductance_S([-2.0, 0.0, 1.8, 2.5, 3.5]))
    assert float(g[0]) == pytest.approx(1 / (dev.params.shunt_resistance_ohm
                                             + dev.params.series_resistance_ohm), rel=1e-3)
    cs, gs = dev.capacitance(np.array([[1e3], [1e5]]), np.array([0.0, 0.5, 1.0]), 0.01)
    assert cs.shape == gs.shape == (2, 3)


@pytest.mark.parametrize("kwargs, name", [
    (dict(frequency_Hz=0.0, bias_V=0.0, level_Vrms=0.01), "frequency_Hz"),
    (dict(frequency_Hz=1e3, bias_V=0.0, level_Vrms=-0.01), "level_Vrms"),
    (dict(frequency_Hz=1e3, bias_V=float("nan"), level_Vrms=0.01), "bias_V"),
])
def test_bad_capacitance_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} = .* allowed"):
        LEDDevice().capacitance(**kwargs)
