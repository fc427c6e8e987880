"""Analysis functions on hostile arrays: NaN, inf, empty, unsorted, negative, mismatched.

Each function either raises ``ValueError`` with a one-line message or returns a result
that an independent computation confirms on the points that carry information — never
another exception, never a finite number the data do not support.
"""
from __future__ import annotations

import math
import warnings

import colour
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import constants

from analysis.dlcp import drive_level_density, fit_drive_level
from analysis.jvl import summarize_jvl
from analysis.lifetime import lifetime_summary
from analysis.photometry import eqe_percent
from analysis.sclc import analyze_sclc
from analysis.trpl import fit_decay

pytestmark = pytest.mark.reliability


def fuzz(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


HOSTILE = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, 1e-300, 1e300,
                           -1e300, 5e-324])
VALUES = st.one_of(HOSTILE, st.floats(-1e6, 1e6), st.floats(1e-12, 1e4))


def hostile_array(min_size=0, max_size=40, elements=VALUES):
    return st.lists(elements, min_size=min_size, max_size=max_size).map(
        lambda v: np.array(v, dtype=float))


def call(fn, *args, **kwargs):
    """The result, or None after a one-line ValueError; any other exception fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except ValueError as exc:
        text = str(exc)
        assert text and "\n" not in text, f"ValueError message not one line: {text!r}"
        return None


WL = np.arange(380.0, 781.0, 1.0)
GREEN = np.exp(-0.5 * ((WL - 517.0) / 8.0) ** 2)


def reference_eqe_percent(lum, j, wl, spectrum):
    """Independent EQE: Lambertian, CIE 1924 V(λ), trapezoids (Forrest 2003)."""
    lef = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"]
    v = np.interp(wl, lef.wavelengths, lef.values, left=0.0, right=0.0)
    photons = np.trapezoid(spectrum * wl * 1e-9 / (constants.h * constants.c), wl)
    lumens = 683.0 * np.trapezoid(spectrum * v, wl)
    return 100 * np.pi * constants.e * lum * photons / lumens / (10 * j)


@fuzz(300)
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(
    hostile_array(n, n), hostile_array(n, n))))
def test_eqe_percent_hostile_luminance_and_current(lj):
    lum, j = lj
    out = call(eqe_percent, lum, j, WL, GREEN)
    if out is None:
        return
    out = np.broadcast_to(out, lum.shape)
    good = np.isfinite(lum) & np.isfinite(j) & (j > 0)
    ref = reference_eqe_percent(lum[good], j[good], WL, GREEN)
    fin = np.isfinite(ref)
    np.testing.assert_allclose(out[good][fin], ref[fin], rtol=1e-9)
    # no number where the data carry none (J <= 0, NaN or inf inputs)
    assert not np.isfinite(out[~good]).any(), (lum[~good], j[~good], out[~good])


@fuzz(200)
@given(hostile_array(0, 60), st.sampled_from(["same", "reversed", "shuffled", "short"]))
def test_eqe_percent_hostile_spectrum_or_axis(spec, axis):
    wl = np.linspace(380.0, 780.0, max(spec.size, 1))[:spec.size]
    if axis == "reversed":
        wl = wl[::-1]
    elif axis == "shuffled":
        wl = np.random.default_rng(0).permutation(wl)
    elif axis == "short":
        wl = wl[:-1]
    out = call(eqe_percent, 100.0, 1.0, wl, spec)
    if out is None:
        return
    out = float(out)
    if math.isfinite(out):
        # a finite EQE only from a clean spectrum on a strictly increasing axis
        assert wl.size == spec.size >= 2 and np.all(np.diff(wl) > 0), (wl, spec, out)
        assert np.all(np.isfinite(spec)), (spec, out)
        assert out == pytest.approx(reference_eqe_percent(100.0, 1.0, wl, spec), rel=1e-9)


@fuzz(300)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    # δV levels as an LCR meter sets them (1 mV steps): repeated levels are hostile, 1 µV
    # spacings would only test the conditioning the docstring rules out
    st.lists(st.integers(0, 1000).map(lambda k: k / 1000), min_size=n, max_size=n).map(np.array),
    st.lists(hostile_array(n, n, st.one_of(HOSTILE, st.floats(1e-9, 2e-8))), min_size=1,
             max_size=5))))
def test_fit_drive_level_hostile_capacitance(args):
    dv, curves = args
    c = np.array(curves)
    fit = call(fit_drive_level, dv, c)
    if fit is None:
        return
    for k, row in enumerate(c):
        got = fit.coefficients[k]
        ok = np.isfinite(row)
        if np.unique(dv[ok]).size < 3:       # under-determined: no number at all
            assert np.isnan(got).all(), (dv, row, got)
        elif np.abs(row[ok]).max() < 1e100:  # (1e300 pF is no capacitance: only no crash)
            ref = np.polyfit(dv[ok], row[ok], 2)[::-1]
            np.testing.assert_allclose(got, ref, rtol=1e-5,
                                       # subnormal inputs (5e-324) have no relative precision
                                       atol=max(1e-7 * np.abs(ref).max(), 1e-300),
                                       err_msg=f"curve {row}, dv {dv}")


@fuzz(300)
@given(VALUES, VALUES, VALUES, VALUES)
def test_drive_level_density_hostile_inputs(c0, c1, area, eps_r):
    out = call(drive_level_density, c0, c1, area, eps_r)
    if out is None:
        return
    out = float(out)
    if math.isfinite(out):
        eps = eps_r * constants.epsilon_0
        a_m2 = area * 1e-4
        ref = -c0 ** 3 / (2 * constants.e * eps * a_m2 ** 2 * c1) * 1e-6     # m^-3 → cm^-3
        assert out == pytest.approx(ref, rel=1e-9), (c0, c1, area, eps_r)
        assert c0 > 0 and math.isfinite(c1) and c1 != 0 and area > 0 and eps_r > 0


@fuzz(200)
@given(st.integers(0, 40).flatmap(lambda n: st.tuples(
    hostile_array(n, n), hostile_array(n, n), hostile_array(n, n),
    st.sampled_from(["as is", "mismatch"]))))
def test_summarize_jvl_hostile_sweep(args):
    v, j, lum, how = args
    if how == "mismatch" and v.size:
        v = v[:-1]
    s = call(summarize_jvl, v, j, lum)
    if s is None:
        return
    assert v.size == j.size == lum.size
    finite_l = lum[np.isfinite(lum) & np.isfinite(v) & np.isfinite(j)]
    if math.isfinite(s.max_luminance_cd_m2):
        assert s.max_luminance_cd_m2 in finite_l
    if math.isfinite(s.turn_on_voltage_V):
        fv = v[np.isfinite(v)]
        assert fv.min() <= s.turn_on_voltage_V <= fv.max()
    if math.isfinite(s.max_current_efficiency_cd_A):
        ok = np.isfinite(lum) & np.isfinite(j) & (j > 0) & np.isfinite(v)
        ce = lum[ok] / (10 * j[ok])
        assert np.any(np.isclose(ce, s.max_current_efficiency_cd_A, rtol=1e-9))


@fuzz(60)   # each example fits stretched exponentials: ~0.3 s
@given(st.integers(0, 40).flatmap(lambda n: st.tuples(
    hostile_array(n, n, st.one_of(HOSTILE, st.floats(0, 1e6))),
    hostile_array(n, n, st.one_of(HOSTILE, st.floats(0, 1e4))),
    st.sampled_from(["sorted", "as is"]))))
def test_lifetime_summary_hostile_record(args):
    t, lum, how = args
    if how == "sorted":
        t = np.sort(t)
    out = call(lifetime_summary, t, lum)
    if out is None:
        return
    ok = np.isfinite(t) & np.isfinite(lum)
    assert out["duration_s"] == t[ok][-1] and out["n_points"] == ok.sum()
    bound = 6.0 * out["duration_s"]
    for key, value in out.items():
        if key.startswith("t") and key.endswith("_s") and not key.endswith("stderr_s"):
            if isinstance(value, float) and math.isfinite(value):
                assert 0 <= value <= bound + 1e-9 * bound, (key, value, bound)


@fuzz(150)
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(
    hostile_array(n, n), hostile_array(n, n))), VALUES, VALUES)
def test_analyze_sclc_hostile_sweep(vj, thickness_nm, eps_r):
    v, j = vj
    r = call(analyze_sclc, v, j, thickness_nm, eps_r)
    if r is None:
        return
    assert 0 < thickness_nm and 1 <= eps_r <= 1000
    if math.isfinite(r.trap_density_cm3):
        ref = (2 * eps_r * constants.epsilon_0 * r.v_tfl_V
               / (constants.e * (thickness_nm * 1e-9) ** 2) * 1e-6)
        assert r.trap_density_cm3 == pytest.approx(ref, rel=1e-9)
        fv = np.abs(v[np.isfinite(v) & np.isfinite(j)])
        assert r.v_tfl_V > 0 and fv.size


@fuzz(60)
@given(st.integers(0, 64).flatmap(lambda n: st.tuples(
    hostile_array(n, n, st.one_of(HOSTILE, st.integers(0, 5000).map(float))),
    st.sampled_from(["uniform", "unsorted", "repeated"]))), st.sampled_from([1, 2]))
def test_fit_decay_hostile_histogram(args, n_components):
    counts, axis = args
    t = np.arange(counts.size, dtype=float) * 0.1
    if axis == "unsorted" and t.size > 2:
        t[[0, 1]] = t[[1, 0]]
    elif axis == "repeated" and t.size > 2:
        t[2] = t[1]
    fit = call(fit_decay, t, counts, n_components)
    if fit is None:
        return
    assert np.all(np.isfinite(counts)) and np.all(counts >= 0)
    assert np.all(np.diff(t) > 0)
    taus = np.atleast_1d(fit.taus_ns)
    assert np.all(np.isfinite(taus) & (taus > 0)) or np.all(np.isnan(taus))


def test_hostile_strategies_reach_the_happy_path():
    """Guard against a vacuous fuzz: clean inputs give finite, truthful numbers."""
    assert float(eqe_percent(100.0, 1.0, WL, GREEN)) == pytest.approx(
        reference_eqe_percent(100.0, 1.0, WL, GREEN), rel=1e-9)
    dv = np.linspace(0.05, 0.6, 8)
    fit = fit_drive_level(dv, 1e-8 - 2e-10 * dv + 5e-11 * dv ** 2)
    np.testing.assert_allclose(fit.coefficients, [1e-8, -2e-10, 5e-11], rtol=1e-6)
    assert np.isnan(fit_drive_level([0.1, 0.1, 0.5], [1e-8, 1e-8, 2e-8]).coefficients).all()
