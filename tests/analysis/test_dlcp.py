"""analysis.dlcp against closed forms, an independent per-curve polyfit and unit tripwires."""
import math

import numpy as np
import pytest
from scipy import constants

from analysis import dlcp

Q, EPS0 = constants.elementary_charge, constants.epsilon_0


def uniform_dlcp_curve(n_cm3, eps_r, area_cm2, v_max, dv_pp, v_bi=1.5):
    """Exact DLCP capacitance of a uniformly doped one-sided junction (depletion approx.):
    Q(V) = A·sqrt(2qεN(V_bi − V)), C = [Q(V_max − δV) − Q(V_max)]/δV, written here
    independently of the simulator."""
    eps = eps_r * EPS0
    a = area_cm2 * 1e-4
    n = n_cm3 * 1e6
    charge = lambda v: a * np.sqrt(2 * Q * eps * n * (v_bi - v))  # noqa: E731
    return (charge(v_max - dv_pp) - charge(v_max)) / dv_pp


def test_drive_level_density_hand_value():
    # C0 = 10 nF, C1 = -1 nF/V, A = 0.04 cm², ε_r = 25:
    # N = 1e-24 / (2·q·25ε0·(4e-6 m²)²·1e-9) = 8.8115e23 m⁻³ = 8.8115e17 cm⁻³.
    n = dlcp.drive_level_density(10e-9, -1e-9, 0.04, 25.0)
    expected = (10e-9) ** 3 / (2 * Q * 25 * EPS0 * (0.04e-4) ** 2 * 1e-9) * 1e-6
    assert n == pytest.approx(expected, rel=1e-12)
    assert n == pytest.approx(8.8115e17, rel=1e-4)


def test_profile_distance_hand_value():
    # εA/C0 = 25·8.854e-12·4e-6/10e-9 = 88.54 nm
    assert dlcp.profile_distance_nm(10e-9, 0.04, 25.0) == pytest.approx(88.5419, rel=1e-4)


def test_uniform_junction_recovered_and_unit_tripwires():
    n_true, eps_r, area = 5e17, 25.0, 0.04
    level = np.linspace(0.01, 0.1, 10)
    dv_pp = dlcp.delta_v_pp_V(level, "rms")
    c = uniform_dlcp_curve(n_true, eps_r, area, -0.5, dv_pp)
    fit = dlcp.fit_drive_level(dv_pp, c)
    n = dlcp.drive_level_density(fit.c0_F, fit.c1_F_per_V, area, eps_r)
    assert n == pytest.approx(n_true, rel=0.01)
    # rms instead of peak-to-peak: 2√2 ≈ 2.83× too low
    fit_rms = dlcp.fit_drive_level(level, c)
    n_rms = dlcp.drive_level_density(fit_rms.c0_F, fit_rms.c1_F_per_V, area, eps_r)
    assert n / n_rms == pytest.approx(2 * math.sqrt(2), rel=1e-9)
    assert abs(n_rms / n_true - 1) > 0.5
    # ε_r·ε0 passed where ε_r is expected is rejected, not silently 1e11 off
    with pytest.raises(ValueError, match="eps_r"):
        dlcp.drive_level_density(fit.c0_F, fit.c1_F_per_V, area, eps_r * EPS0)
    # A instead of A² would come out A = 4e-6 (m²) times the right value (2.5e5× too low)
    a_m2 = area * 1e-4
    n_wrong_area = -fit.c0_F ** 3 / (2 * Q * eps_r * EPS0 * a_m2 * fit.c1_F_per_V) * 1e-6
    assert n_wrong_area / n == pytest.approx(a_m2, rel=1e-9)
    # area given in m² where cm² is expected is rejected (below 1e-6 cm²)
    with pytest.raises(ValueError, match="area_cm2"):
        dlcp.drive_level_density(fit.c0_F, fit.c1_F_per_V, a_m2 * 1e-4, eps_r)
    assert n == pytest.approx(n_true, rel=0.01)


def test_x_equals_depletion_width():
    eps_r, area, n_true, v_bi, v_max = 25.0, 0.04, 5e17, 1.5, -0.5
    dv_pp = np.linspace(0.02, 0.3, 8)
    c = uniform_dlcp_curve(n_true, eps_r, area, v_max, dv_pp, v_bi)
    fit = dlcp.fit_drive_level(dv_pp, c)
    w = math.sqrt(2 * eps_r * EPS0 * (v_bi - v_max) / (Q * n_true * 1e6)) * 1e9
    assert dlcp.profile_distance_nm(fit.c0_F, area, eps_r) == pytest.approx(w, rel=0.005)


def test_batched_fit_equals_polyfit_per_curve():
    rng = np.random.default_rng(3)
    dv = np.linspace(0.05, 0.6, 12)
    coef = rng.normal(size=(50, 3)) * [1e-8, 1e-9, 1e-10]
    c = coef[:, :1] + coef[:, 1:2] * dv + coef[:, 2:] * dv ** 2 + rng.normal(0, 1e-12, (50, 12))
    fit = dlcp.fit_drive_level(dv, c)
    for j in range(50):
        ref = np.polyfit(dv, c[j], 2)[::-1]
        np.testing.assert_allclose(fit.coefficients[j], ref, rtol=1e-7, atol=1e-20)
        np.testing.assert_allclose(fit.residuals_F[j], c[j] - np.polyval(ref[::-1], dv),
                                   atol=1e-18)
    # per-curve axes with missing points: still equal to polyfit on the finite points
    c_nan = c.copy()
    c_nan[5, [2, 7]] = np.nan
    fit2 = dlcp.fit_drive_level(np.broadcast_to(dv, c.shape), c_nan)
    ok = np.isfinite(c_nan[5])
    np.testing.assert_allclose(fit2.coefficients[5], np.polyfit(dv[ok], c_nan[5, ok], 2)[::-1],
                               rtol=1e-7)
    assert fit2.n_points[5] == 10 and fit2.n_points[0] == 12
    # standard error of C1 agrees with numpy's covariance
    _, cov = np.polyfit(dv, c[0], 2, cov="unscaled")
    resid = c[0] - np.polyval(np.polyfit(dv, c[0], 2), dv)
    s2 = resid @ resid / (12 - 3)
    assert fit.std[0, 1] == pytest.approx(math.sqrt(cov[1, 1] * s2), rel=1e-6)


def test_dlcp_profiles_groups_unsorted_rows():
    eps_r, area = 25.0, 0.04
    levels = np.linspace(0.01, 0.08, 8)
    rows = []
    for f, n_true in ((1e3, 1e18), (1e5, 5e17)):
        for vm in (-1.0, 0.0):
            dv = dlcp.delta_v_pp_V(levels, "rms")
            for d, cc in zip(dv, uniform_dlcp_curve(n_true, eps_r, area, vm, dv)):
                rows.append((f, vm, d, cc))
    rows = np.array(rows)[np.random.default_rng(0).permutation(len(rows))]
    p = dlcp.dlcp_profiles(*rows.T, area_cm2=area, eps_r=eps_r)
    assert list(p.frequency_Hz) == [1e3, 1e3, 1e5, 1e5]
    np.testing.assert_allclose(p.n_dl_cm3, [1e18, 1e18, 5e17, 5e17], rtol=0.01)
    freqs, n, x = p.shallowest()
    np.testing.assert_allclose(freqs, [1e3, 1e5])
    assert np.all(x == [p.x_nm[1], p.x_nm[3]])      # V_max = 0 is the shallower point


def test_trap_cutoff_recovered_with_uncertainty():
    f = np.logspace(2, 5, 10)
    fc, n_lo, n_hi = 3000.0, 2e18, 5e17
    rng = np.random.default_rng(1)
    n = n_hi + (n_lo - n_hi) * dlcp.trap_response_fraction(f, fc)
    noisy = n * (1 + 0.01 * rng.standard_normal(f.size))
    fit = dlcp.trap_cutoff_frequency(f, noisy, 0.01 * n)
    assert fit.cutoff_frequency_Hz == pytest.approx(fc, rel=0.1)
    assert abs(fit.cutoff_frequency_Hz - fc) < 4 * fit.cutoff_frequency_std_Hz
    assert fit.located and fit.n_low_cm3 == pytest.approx(n_lo, rel=0.03)
    flat = dlcp.trap_cutoff_frequency(f, n_hi * (1 + 0.01 * rng.standard_normal(f.size)),
                                      np.full(f.size, 0.01 * n_hi))
    assert not flat.located
    with pytest.raises(ValueError, match="4 distinct"):
        dlcp.trap_cutoff_frequency(f[:3], n[:3])


def test_cv_profile_uniform_and_smoothed():
    eps_r, area, n_true, v_bi = 25.0, 0.04, 5e17, 1.5
    v = np.arange(-2.0, 0.51, 0.05)
    c = area * 1e-4 * np.sqrt(Q * eps_r * EPS0 * n_true * 1e6 / (2 * (v_bi - v)))
    p = dlcp.cv_profile(v[::-1], c[::-1], area_cm2=area, eps_r=eps_r)   # unsorted input
    np.testing.assert_allclose(p.n_cv_cm3, n_true, rtol=1e-9)
    np.testing.assert_allclose(p.x_nm, eps_r * EPS0 * area * 1e-4 / p.capacitance_F * 1e9)
    noisy = c * (1 + 3e-4 * np.random.default_rng(2).standard_normal(c.size))
    raw = dlcp.cv_profile(v, noisy, area_cm2=area, eps_r=eps_r)
    smooth = dlcp.cv_profile(v, noisy, area_cm2=area, eps_r=eps_r, smooth_points=9)
    assert np.nanstd(smooth.n_cv_cm3 / n_true) < np.nanstd(raw.n_cv_cm3 / n_true)
    with pytest.raises(ValueError, match="smooth_points"):
        dlcp.cv_profile(v, c, area_cm2=area, eps_r=eps_r, smooth_points=4)


@pytest.mark.parametrize("call, match", [
    (lambda: dlcp.delta_v_pp_V([0.1], "vpp"), "convention"),
    (lambda: dlcp.delta_v_pp_V([-0.1], "rms"), "amplitude_V"),
    (lambda: dlcp.drive_level_density(1e-8, -1e-9, 0.04, None), "eps_r"),
    (lambda: dlcp.drive_level_density(1e-8, -1e-9, 0.04, 0.5), "eps_r"),
    (lambda: dlcp.drive_level_density(1e-8, -1e-9, 0.0, 25), "area_cm2"),
    (lambda: dlcp.fit_drive_level([0.1, 0.2], [[1e-8, 1e-8, 1e-8]]), "shape"),
    (lambda: dlcp.fit_drive_level([], []), "empty"),
    (lambda: dlcp.cv_profile([0, 0, 1], [1e-9, 1e-9, 2e-9], area_cm2=0.04, eps_r=25),
     "repeated"),
])
def test_hostile_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_nan_and_nonphysical_give_nan():
    assert math.isnan(dlcp.drive_level_density(np.nan, -1e-9, 0.04, 25.0))
    assert math.isnan(dlcp.drive_level_density(-1e-8, -1e-9, 0.04, 25.0))
    assert math.isnan(dlcp.profile_distance_nm(0.0, 0.04, 25.0))
    fit = dlcp.fit_drive_level(np.broadcast_to([0.1, 0.2, 0.3, 0.4], (1, 4)),
                               [[1e-8, np.nan, np.nan, 1e-8]])
    assert np.all(np.isnan(fit.coefficients))


# -- validity masks: readings the LCR meter flagged (status != 0) stay out of the fits ------

def _flagged_dlcp_rows(n_true=5e17, eps_r=25.0, area=0.04):
    """Exact DLCP rows of a uniform junction, two points of one curve taken at a level the
    source could not regulate: their C belongs to a swing 30 % smaller than recorded (what a
    meter reports with status +4 "ALC unable to regulate")."""
    levels = np.linspace(0.02, 0.2, 10)
    dv = dlcp.delta_v_pp_V(levels, "rms")
    rows, valid = [], []
    for vm in (-1.0, 0.0):
        c = uniform_dlcp_curve(n_true, eps_r, area, vm, dv)
        bad = np.zeros(dv.size, bool)
        if vm == 0.0:
            bad[[7, 9]] = True
            c = np.where(bad, uniform_dlcp_curve(n_true, eps_r, area, vm, 0.7 * dv), c)
        rows += [(1e4, vm, d, cc) for d, cc in zip(dv, c)]
        valid += list(~bad)
    return np.array(rows), np.array(valid)


def test_dlcp_profiles_leave_flagged_points_out():
    rows, valid = _flagged_dlcp_rows()
    good = dlcp.dlcp_profiles(*rows.T, area_cm2=0.04, eps_r=25.0, valid=valid)
    np.testing.assert_allclose(good.n_dl_cm3, 5e17, rtol=0.03)   # the quadratic's own 2 %
    assert list(good.n_excluded) == [0, 2] and list(good.n_points) == [10, 8]
    assert good.valid.sum() == 18 and np.isfinite(good.capacitance_F).sum() == 20
    # the same rows with the flagged points taken as good: the V_max = 0 curve is > 5 % off
    everything = dlcp.dlcp_profiles(*rows.T, area_cm2=0.04, eps_r=25.0)
    assert abs(everything.n_dl_cm3[1] / 5e17 - 1) > 0.05
    assert everything.n_dl_cm3[0] == pytest.approx(good.n_dl_cm3[0], rel=1e-12)
    # a mask leaves a point out exactly as a NaN does
    c_nan = np.where(valid, rows[:, 3], np.nan)
    as_nan = dlcp.dlcp_profiles(rows[:, 0], rows[:, 1], rows[:, 2], c_nan, area_cm2=0.04,
                                eps_r=25.0)
    np.testing.assert_allclose(as_nan.n_dl_cm3, good.n_dl_cm3, rtol=1e-12)


def test_fit_drive_level_mask_equals_polyfit_on_the_good_points():
    dv = np.linspace(0.05, 0.6, 12)
    c = 1e-8 - 2e-9 * dv + 3e-10 * dv ** 2
    c_bad = c.copy()
    c_bad[[3, 8]] *= 1.5
    valid = np.ones(12, bool)
    valid[[3, 8]] = False
    fit = dlcp.fit_drive_level(dv, c_bad, valid=valid)
    np.testing.assert_allclose(fit.coefficients, np.polyfit(dv[valid], c_bad[valid], 2)[::-1],
                               rtol=1e-9)
    assert fit.n_points == 10 and np.isnan(fit.residuals_F[[3, 8]]).all()
    with pytest.raises(ValueError, match="boolean mask"):
        dlcp.fit_drive_level(dv, c, valid=np.ones(12))
    with pytest.raises(ValueError, match="valid shape"):
        dlcp.fit_drive_level(dv, c, valid=np.ones(5, bool))


def test_cv_profile_leaves_flagged_points_out():
    eps_r, area, n_true, v_bi = 25.0, 0.04, 5e17, 1.5
    v = np.arange(-2.0, 0.51, 0.1)
    c = area * 1e-4 * np.sqrt(Q * eps_r * EPS0 * n_true * 1e6 / (2 * (v_bi - v)))
    c_bad = c.copy()
    c_bad[[5, 6]] *= 1.2                    # overloaded readings carrying wrong data
    valid = np.ones(v.size, bool)
    valid[[5, 6]] = False
    p = dlcp.cv_profile(v, c_bad, area_cm2=area, eps_r=eps_r, valid=valid)
    np.testing.assert_allclose(p.n_cv_cm3, n_true, rtol=0.02)
    assert p.n_excluded == 2 and p.bias_V.size == v.size - 2
    wrong = dlcp.cv_profile(v, c_bad, area_cm2=area, eps_r=eps_r)
    assert np.nanmax(np.abs(wrong.n_cv_cm3 / n_true - 1)) > 0.5
