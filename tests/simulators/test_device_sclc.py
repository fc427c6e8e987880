"""Single-carrier devices: ohmic, trap-filled limit and Mott-Gurney regions against closed forms.

The "standard analysis" here is written out in the test (log-log line fits), independent of
the package's analysis modules.
"""

import json
import math

import numpy as np
import pytest
from scipy import constants

from simulators.device import (SingleCarrierDevice, SingleCarrierParameters,
                               trap_filled_limit_voltage_V)

Q, EPS0 = constants.e, constants.epsilon_0

PRESETS = {
    "electron passivated": SingleCarrierParameters.electron_only(True),
    "electron pristine": SingleCarrierParameters.electron_only(False),
    "hole passivated": SingleCarrierParameters.hole_only(True),
    "hole pristine": SingleCarrierParameters.hole_only(False),
}


def test_vtfl_closed_form_and_the_metrology_sanity_value():
    n_t = 2 * 30 * EPS0 * 1.0 / (Q * (300e-9) ** 2) * 1e-6        # L = 300 nm, ε_r = 30, 1 V
    assert n_t == pytest.approx(3.7e16, rel=0.01)
    assert float(trap_filled_limit_voltage_V(n_t, 300.0, 30.0)) == pytest.approx(1.0, rel=1e-12)
    # ε_r for ε would put V_TFL off by 1/ε0 ≈ 1.1e11
    dev = SingleCarrierDevice(SingleCarrierParameters(trap_density_cm3=n_t, thickness_nm=300.0,
                                                      epsilon_r=30.0))
    assert dev.v_tfl_V == pytest.approx(1.0, rel=1e-12)


def test_seed_trap_densities_and_realistic_vtfl():
    assert PRESETS["electron pristine"].trap_density_cm3 == 2.12e18
    assert PRESETS["electron passivated"].trap_density_cm3 == 1.05e18
    assert PRESETS["hole pristine"].trap_density_cm3 == 6.7e18
    assert PRESETS["hole passivated"].trap_density_cm3 == 3.08e18
    for params in PRESETS.values():
        assert 0.5 < SingleCarrierDevice(params).v_tfl_V < 3.5


def analyse(device, n_points=120):
    """Kink of the ohmic and steep log-log segments → V_TFL; slope-2 fit far above → μ."""
    p = device.params
    v_tfl = device.v_tfl_V
    v = np.geomspace(0.01 * v_tfl, 30 * v_tfl, n_points)
    j = device.current_A(v) / (p.area_cm2 * 1e-4)                        # A/m²
    lv, lj = np.log(v), np.log(j)
    slope = np.gradient(lj, lv)
    ohmic = (slope < 1.1) & (v < 0.5 * v_tfl)
    steep = slope >= 0.8 * slope.max()
    a1 = np.polyfit(lv[ohmic], lj[ohmic], 1)
    a2 = np.polyfit(lv[steep], lj[steep], 1)
    v_kink = math.exp((a2[1] - a1[1]) / (a1[0] - a2[0]))
    n_t = 2 * p.epsilon_r * EPS0 * v_kink / (Q * (p.thickness_nm * 1e-9) ** 2) * 1e-6
    far = v > 10 * v_tfl
    s2, _ = np.polyfit(lv[far], lj[far], 1)
    k = np.exp(np.mean(lj[far] - 2 * lv[far]))                           # J = k·V²
    mu = 8 * k * (p.thickness_nm * 1e-9) ** 3 / (9 * p.epsilon_r * EPS0) * 1e4
    return dict(ohmic_slope=a1[0], steep_slope=a2[0], max_slope=slope.max(), n_t=n_t, mu=mu,
                far_slope=s2)


@pytest.mark.parametrize("name", list(PRESETS))
def test_standard_analysis_recovers_trap_density_and_mobility(name):
    params = PRESETS[name]
    result = analyse(SingleCarrierDevice(params))
    assert result["ohmic_slope"] == pytest.approx(1.0, abs=0.02)
    assert result["steep_slope"] > 3 and result["max_slope"] > 6
    assert result["n_t"] == pytest.approx(params.trap_density_cm3, rel=0.05)
    assert result["far_slope"] == pytest.approx(2.0, abs=0.01)
    assert result["mu"] == pytest.approx(params.mobility_cm2_Vs, rel=0.10)


def test_ohmic_region_is_q_n0_mu_v_over_l():
    dev = SingleCarrierDevice()
    p = dev.params
    v = 0.05 * dev.v_tfl_V
    j = float(dev.current_A(v)) / (p.area_cm2 * 1e-4)
    j_ohm = Q * p.background_density_cm3 * 1e6 * p.mobility_cm2_Vs * 1e-4 * v / (p.thickness_nm
                                                                                  * 1e-9)
    assert j == pytest.approx(j_ohm, rel=0.01)
    assert float(dev.log_log_slope(v)) == pytest.approx(1.0, abs=0.01)


def test_mott_gurney_far_above_vtfl():
    dev = SingleCarrierDevice()
    p = dev.params
    v = 50 * dev.v_tfl_V
    j = float(dev.current_A(v)) / (p.area_cm2 * 1e-4)
    j_mg = 9 / 8 * p.epsilon_r * EPS0 * p.mobility_cm2_Vs * 1e-4 * v ** 2 / (p.thickness_nm
                                                                            * 1e-9) ** 3
    assert j == pytest.approx(j_mg, rel=1e-3)
    assert float(dev.log_log_slope(v)) == pytest.approx(2.0, abs=1e-3)
    # log-log slope by finite difference agrees with the analytic slope
    h = 1e-5
    fd = (math.log(dev.current_A(v * math.exp(h))) - math.log(dev.current_A(v * math.exp(-h)))
          ) / (2 * h)
    assert fd == pytest.approx(float(dev.log_log_slope(v)), abs=1e-6)


def test_tangent_at_the_steepest_point_meets_the_ohmic_line_at_vtfl():
    dev = SingleCarrierDevice()
    p = dev.params
    v = np.geomspace(0.5, 4.0, 20001) * dev.v_tfl_V
    s = dev.log_log_slope(v)
    k = int(np.argmax(s))
    ln_j = math.log(float(dev.current_A(v[k])))
    g_ohm = Q * p.background_density_cm3 * 1e6 * p.mobility_cm2_Vs * 1e-4 / (
        p.thickness_nm * 1e-9) * p.area_cm2 * 1e-4
    ln_v = (ln_j - s[k] * math.log(v[k]) - math.log(g_ohm)) / (1 - s[k])
    assert math.exp(ln_v) == pytest.approx(dev.v_tfl_V, rel=1e-6)


def test_current_is_odd_in_voltage_and_zero_at_zero():
    dev = SingleCarrierDevice()
    v = np.array([0.1, 1.0, 3.0])
    np.testing.assert_allclose(dev.current_A(-v), -dev.current_A(v))
    assert float(dev.current_A(0.0)) == 0.0
    assert dev.current_A(np.ones((2, 3))).shape == (2, 3)


def test_ion_hysteresis_shifts_vtfl_between_sweep_directions():
    dev = SingleCarrierDevice(SingleCarrierParameters(ion_hysteresis_fraction=0.2))
    v_tfl = dev.v_tfl_V
    assert dev.apparent_v_tfl_V(+1) == pytest.approx(1.1 * v_tfl)
    assert dev.apparent_v_tfl_V(-1) == pytest.approx(0.9 * v_tfl)
    v = 1.2 * v_tfl
    assert float(dev.current_A(v, direction=-1)) > 2 * float(dev.current_A(v, direction=+1))
    plain = SingleCarrierDevice()
    assert float(plain.current_A(v, -1)) == float(plain.current_A(v, +1))
    with pytest.raises(ValueError, match="^direction = .* allowed"):
        plain.current_A(v, direction=0)


def test_truth_is_json():
    truth = json.loads(json.dumps(SingleCarrierDevice(PRESETS["hole pristine"]).truth()))
    assert truth["carrier"] == "hole" and truth["trap_density_cm3"] == 6.7e18
    assert truth["v_tfl_V"] == pytest.approx(float(trap_filled_limit_voltage_V(6.7e18, 35, 25)))


@pytest.mark.parametrize("changes, name", [
    (dict(carrier="proton"), "carrier"),
    (dict(trap_density_cm3=0.0), "trap_density_cm3"),
    (dict(thickness_nm=-5.0), "thickness_nm"),
])
def test_bad_single_carrier_parameters_raise(changes, name):
    with pytest.raises(ValueError, match=f"^{name} = .* allowed"):
        SingleCarrierParameters(**changes)
