"""analysis.sclc against closed forms written out here (not the simulator's code)."""
import math

import numpy as np
import pytest
from scipy import constants

from analysis.sclc import (analyze_sclc, log_log_slope, mobility_from_mott_gurney_cm2_Vs,
                           mott_gurney_current_density_mA_cm2, segment_regimes,
                           sweep_hysteresis, trap_density_cm3,
                           trap_filled_limit_voltage_from_density_V)

Q, EPS0 = constants.e, constants.epsilon_0


def test_trap_density_sanity_value_and_units():
    # metrology.md: L = 300 nm, ε_r = 30, V_TFL = 1 V → 3.7e16 cm⁻³
    assert trap_density_cm3(1.0, 300.0, 30.0) == pytest.approx(3.7e16, rel=0.01)
    # by hand in SI, m⁻³ → cm⁻³
    by_hand = 2 * 30 * EPS0 * 2.5 / (Q * (120e-9) ** 2) / 1e6
    assert trap_density_cm3(2.5, 120.0, 30.0) == pytest.approx(by_hand, rel=1e-12)
    assert trap_filled_limit_voltage_from_density_V(by_hand, 120.0, 30.0) == \
        pytest.approx(2.5, rel=1e-12)
    # vectorised
    np.testing.assert_allclose(trap_density_cm3([1.0, 2.0], 300.0, 30.0),
                               [3.684e16, 7.368e16], rtol=1e-3)


@pytest.mark.parametrize("args, word", [
    ((0.0, 300.0, 30.0), "v_tfl_V"), ((-1.0, 300.0, 30.0), "v_tfl_V"),
    ((math.nan, 300.0, 30.0), "v_tfl_V"), ((1.0, 0.0, 30.0), "thickness_nm"),
    ((1.0, 300.0, 0.5), "eps_r"),
    # ε_r·ε0 (2.7e-10 F/m) passed for ε_r is caught
    ((1.0, 300.0, 30 * 8.854e-12), "eps_r")])
def test_trap_density_rejects_bad_input(args, word):
    with pytest.raises(ValueError, match=word):
        trap_density_cm3(*args)


def test_mott_gurney_formula_and_its_inverse():
    # J = 9/8 ε_r ε0 μ V²/L³ by hand: ε_r 25, μ 1e-5 cm²/Vs, L 50 nm, V 4 V
    j_A_m2 = 9 / 8 * 25 * EPS0 * 1e-9 * 16 / (50e-9) ** 3
    assert mott_gurney_current_density_mA_cm2(4.0, 1e-5, 50.0, 25.0) == \
        pytest.approx(j_A_m2 / 10.0, rel=1e-12)          # 1 mA/cm² = 10 A/m²
    k = float(mott_gurney_current_density_mA_cm2(1.0, 3.3e-4, 80.0, 18.0))
    assert mobility_from_mott_gurney_cm2_Vs(k, 80.0, 18.0) == pytest.approx(3.3e-4, rel=1e-12)


def kink_curve(v, g, v_k, m, b, p=6.0):
    """Ohmic G·V plus a steep power law that meets it at v_k, capped by Mott-Gurney B·V².

    The steep segment's tangent at its steepest point is (nearly) the pure power law, which
    crosses G·V at v_k by construction.
    """
    low = g * v + g * v_k * (v / v_k) ** m
    return (low ** -p + (b * v * v) ** -p) ** (-1.0 / p)


def test_kink_and_mobility_from_a_closed_form_curve():
    thickness, eps, mu = 60.0, 22.0, 2e-5
    v_k = 1.3
    b = float(mott_gurney_current_density_mA_cm2(1.0, mu, thickness, eps))
    g = b * v_k / 1e5          # ohmic J 1e-5 × the Mott-Gurney J at the kink
    v = np.geomspace(0.01, 40 * v_k, 140)
    j = kink_curve(v, g, v_k, 9.0, b)
    r = analyze_sclc(v, j, thickness, eps)
    assert r.v_tfl_V == pytest.approx(v_k, rel=0.03)
    assert r.trap_density_cm3 == pytest.approx(float(trap_density_cm3(v_k, thickness, eps)),
                                               rel=0.03)
    assert r.mobility_cm2_Vs == pytest.approx(mu, rel=0.05)
    assert r.ohmic_slope == pytest.approx(1.0, abs=0.02)
    assert r.mott_gurney_slope == pytest.approx(2.0, abs=0.1)
    assert r.max_slope > 6
    assert r.ohmic_conductance_mS_cm2 == pytest.approx(g, rel=0.02)
    # unsorted, signed (negative branch) input gives the same answer
    perm = np.random.default_rng(0).permutation(v.size)
    r2 = analyze_sclc(-v[perm], -j[perm], thickness, eps)
    assert r2.v_tfl_V == pytest.approx(r.v_tfl_V, rel=1e-9)


def test_slope_is_a_smoothed_derivative_of_a_noisy_power_law():
    rng = np.random.default_rng(3)
    v = np.geomspace(0.1, 10, 60)
    j = 2.0 * v ** 2 * (1 + 0.01 * rng.standard_normal(v.size))
    vs, s = log_log_slope(v, j)
    assert np.all(np.abs(s - 2.0) < 0.1)
    # finite differences would be far noisier
    fd = np.gradient(np.log(j), np.log(v))
    assert np.std(fd - 2.0) > 3 * np.std(s - 2.0)


def test_regime_labels():
    s = np.array([1.0, 1.02, 1.1, 2.0, 5.0, 9.0, 6.0, 2.9, 2.1, 2.0])
    labels = segment_regimes(s)
    assert list(labels) == ["ohmic", "ohmic", "ohmic", "transition", "trap-filling",
                            "trap-filling", "trap-filling", "transition", "mott-gurney",
                            "mott-gurney"]
    # a slope-2 point *below* the steep rise is not Mott-Gurney
    assert labels[3] == "transition"


def test_no_trap_filled_limit_gives_nan_and_a_note():
    v = np.geomspace(0.01, 10, 60)
    r = analyze_sclc(v, 0.5 * v, 100.0, 20.0)        # ohmic only
    assert math.isnan(r.v_tfl_V) and math.isnan(r.trap_density_cm3)
    assert any("no trap-filled limit" in n for n in r.notes)
    assert math.isnan(r.mobility_cm2_Vs)


@pytest.mark.parametrize("v, j, word", [
    ([], [], "usable points"),
    (np.full(20, np.nan), np.ones(20), "usable points"),
    (np.arange(1.0, 21.0), np.ones(19), "differ in length")])
def test_hostile_input(v, j, word):
    with pytest.raises(ValueError, match=word):
        analyze_sclc(v, j, 50.0, 25.0)


def test_hysteresis_warning_above_threshold_only():
    thickness, eps = 50.0, 25.0
    b = float(mott_gurney_current_density_mA_cm2(1.0, 1e-5, thickness, eps))
    v = np.geomspace(0.01, 20, 100)
    g = b / 1e5
    same = sweep_hysteresis((v, kink_curve(v, g, 1.0, 9.0, b)),
                            (v[::-1], kink_curve(v, g, 1.0, 9.0, b)[::-1]), thickness, eps)
    assert same["warning"] is None
    assert same["v_tfl_relative_difference"] < 1e-9
    shifted = sweep_hysteresis((v, kink_curve(v, g, 1.1, 9.0, b)),
                               (v, kink_curve(v, g, 0.9, 9.0, b)), thickness, eps)
    assert shifted["v_tfl_relative_difference"] == pytest.approx(0.2, abs=0.02)
    assert "disagree" in shifted["warning"] and "pulsed" in shifted["warning"]
    assert shifted["max_abs_log10_current_ratio"] > 0.3
