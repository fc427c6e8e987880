"""J-V-L summary against an independent synthetic device with known truth.

The synthetic device is built here, not with analysis code: the EL spectrum is a Gaussian
whose peak red-shifts with bias, EQE(J) has a known maximum and half-maximum, and the
luminance follows from the photometric relation evaluated with colour-science's own
(Sprague) interpolation of V(λ) and the CMFs on a 0.25 nm grid, while the analysis sees
spectra on a 1 nm grid and interpolates linearly.
"""

import json
import math

import colour
import numpy as np
import pytest
from scipy import optimize

from analysis.jvl import JVLSummary, jvl_curves, summarize_jvl

Q_C = 1.602176634e-19
H_JS = 6.62607015e-34
C_M_S = 299792458.0
K_M = 683.0

EQE_MAX_PERCENT = 8.0
J_PEAK_MA_CM2 = 5.0
ROLL_EXPONENT = 0.8
J_SAT_MA_CM2 = 1e-6
V_SLOPE_V = 0.25
SIGMA_NM = 8.0

FINE = np.arange(400.0, 650.0, 0.25)
_SHAPE = colour.SpectralShape(400.0, 649.75, 0.25)
V_FINE = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"].copy().align(
    _SHAPE).values
CMF_FINE = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"].copy().align(_SHAPE).values
ANALYSIS_WL = np.arange(380.0, 781.0, 1.0)


def peak_nm(v):
    return 514.0 + 1.2 * (v - 3.0)


def spectrum(wl, v):
    return np.exp(-0.5 * ((wl - peak_nm(v)) / SIGMA_NM) ** 2)


def current_density(v):
    return J_SAT_MA_CM2 * np.expm1(v / V_SLOPE_V)


def eqe_percent_true(j):
    u = j / J_PEAK_MA_CM2
    return EQE_MAX_PERCENT * 2.0 / (u**-ROLL_EXPONENT + u**ROLL_EXPONENT)


def lumens_per_photon(v):
    s = spectrum(FINE, v)
    return K_M * np.trapezoid(s * V_FINE, FINE) / np.trapezoid(s * FINE * 1e-9 / (H_JS * C_M_S), FINE)


def luminance_true(v):
    """L = EQE · (J/q) · (lm per photon) / π  (Lambertian), J in A/m²."""
    j = current_density(v)
    photons_m2_s = eqe_percent_true(j) / 100 * j * 10.0 / Q_C
    return photons_m2_s * lumens_per_photon(v) / np.pi


def xy_true(v):
    xyz = np.trapezoid(spectrum(FINE, v)[:, None] * CMF_FINE, FINE, axis=0)
    return xyz[:2] / xyz.sum()


def sweep(step_V=0.05, v_start=1.5, v_stop=5.0, spectrum_every=3, reverse_factor=1.0):
    vf = np.round(np.arange(v_start, v_stop + step_V / 2, step_V), 10)
    v = np.concatenate([vf, vf[::-1]])
    d = np.concatenate([np.ones(vf.size), -np.ones(vf.size)])
    factor = np.where(d > 0, 1.0, reverse_factor)
    j = current_density(v) * factor
    lum = np.array([luminance_true(x) for x in v]) * factor
    spectra = np.full((v.size, ANALYSIS_WL.size), np.nan)
    for i in range(0, v.size, spectrum_every):
        spectra[i] = 3.3e-4 * spectrum(ANALYSIS_WL, v[i])
    return v, j, lum, d, spectra


def solve_v(level_cd_m2, factor=1.0):
    return optimize.brentq(lambda x: factor * luminance_true(x) - level_cd_m2, 1.5, 5.0, xtol=1e-12)


@pytest.fixture(scope="module")
def synthetic():
    v, j, lum, d, spectra = sweep()
    summary = summarize_jvl(v, j, lum, wavelength_nm=ANALYSIS_WL, spectra=spectra, direction=d)
    return v, j, lum, d, spectra, summary


def test_recovers_truth_within_one_percent(synthetic):
    v, j, lum, d, spectra, s = synthetic
    fwd = d > 0
    ce_true = lum[fwd] / (10 * j[fwd])
    pe_true = np.pi * ce_true / v[fwd]
    assert s.max_eqe_percent == pytest.approx(EQE_MAX_PERCENT, rel=0.01)
    assert s.max_current_efficiency_cd_A == pytest.approx(ce_true.max(), rel=0.01)
    assert s.max_power_efficiency_lm_W == pytest.approx(pe_true.max(), rel=0.01)
    assert s.turn_on_voltage_V == pytest.approx(solve_v(1.0), rel=0.01)
    assert s.max_luminance_cd_m2 == pytest.approx(lum.max(), rel=1e-12)
    # EL at the EQE maximum: true peak at that point's voltage, to a tenth of a nm
    assert s.el_peak_nm == pytest.approx(peak_nm(s.voltage_at_max_eqe_V), abs=0.1)
    x, y = xy_true(s.voltage_at_max_eqe_V)
    assert s.cie_x == pytest.approx(x, abs=0.005) and s.cie_y == pytest.approx(y, abs=0.005)
    assert abs(s.cie_x - x) < 1e-3 and abs(s.cie_y - y) < 1e-3  # in fact much better
    assert s.el_fwhm_nm == pytest.approx(2 * math.sqrt(2 * math.log(2)) * SIGMA_NM, rel=0.01)
    assert s.dominant_wavelength_nm == pytest.approx(
        float(colour.dominant_wavelength(np.array([x, y]), [1 / 3, 1 / 3])[0]), abs=1.0)


def test_eqe_at_fixed_luminance_and_rolloff(synthetic):
    *_, s = synthetic
    for level, got in ((100.0, s.eqe_at_100_cd_m2_percent), (1000.0, s.eqe_at_1000_cd_m2_percent)):
        assert got == pytest.approx(eqe_percent_true(current_density(solve_v(level))), rel=0.01)
    # EQE = EQE_max/2  <=>  u^a + u^-a = 4  <=>  u = (2 + √3)^(1/a), above the maximum
    j_half = J_PEAK_MA_CM2 * (2 + math.sqrt(3)) ** (1 / ROLL_EXPONENT)
    assert s.rolloff_current_density_mA_cm2 == pytest.approx(j_half, rel=0.01)


def test_unit_tripwire_eqe_over_ce_band(synthetic):
    *_, s = synthetic
    ratio = s.max_eqe_percent / s.max_current_efficiency_cd_A
    assert 0.2 < ratio < 2.0  # green emitter; a J-unit or π/K_m slip leaves this band


def test_current_density_in_wrong_units_does_not_pass(synthetic):
    v, j, lum, d, spectra, s = synthetic
    wrong = summarize_jvl(v, j * 10.0, lum, wavelength_nm=ANALYSIS_WL, spectra=spectra, direction=d)
    assert wrong.max_eqe_percent == pytest.approx(s.max_eqe_percent / 10, rel=1e-9)
    assert wrong.max_eqe_percent != pytest.approx(EQE_MAX_PERCENT, rel=0.5)


def test_peak_shift_and_spectrum_source(synthetic):
    v, j, lum, d, spectra, s = synthetic
    assert s.eqe_spectrum_source == "nearest_measured"
    assert s.n_spectra_measured == int(np.isfinite(spectra[:, 0]).sum())
    own = np.flatnonzero((d > 0) & np.isfinite(spectra[:, 0]) & (lum >= 0.1))
    assert s.el_peak_shift_nm == pytest.approx(peak_nm(v[own[-1]]) - peak_nm(v[own[0]]), abs=0.05)
    assert s.el_peak_shift_nm > 0  # red shift with bias in this model
    curves = jvl_curves(v, j, lum, wavelength_nm=ANALYSIS_WL, spectra=spectra, direction=d)
    measured = np.isfinite(spectra[:, 0])
    assert np.array_equal(curves.spectrum_row[measured], np.flatnonzero(measured))
    assert np.all(np.abs(curves.spectrum_row - np.arange(v.size)) <= 1)


def test_every_point_measured_and_reference_spectrum_routes():
    v, j, lum, d, spectra = sweep(step_V=0.1, spectrum_every=1)
    full = summarize_jvl(v, j, lum, wavelength_nm=ANALYSIS_WL, spectra=spectra, direction=d)
    assert full.eqe_spectrum_source == "measured"
    v_max = full.voltage_at_max_eqe_V
    ref = summarize_jvl(v, j, lum, wavelength_nm=ANALYSIS_WL,
                        reference_spectrum=spectrum(ANALYSIS_WL, v_max), direction=d)
    assert ref.eqe_spectrum_source == "reference" and ref.n_spectra_measured == 0
    assert ref.max_eqe_percent == pytest.approx(full.max_eqe_percent, rel=1e-3)
    assert ref.el_peak_nm == pytest.approx(peak_nm(v_max), abs=0.05)
    # a reference taken at another bias (1 nm bluer) biases the EQE by several % on the
    # steep green flank of V(λ): why per-point spectra matter
    stale = summarize_jvl(v, j, lum, wavelength_nm=ANALYSIS_WL,
                          reference_spectrum=spectrum(ANALYSIS_WL, v_max - 1.0 / 1.2), direction=d)
    assert stale.max_eqe_percent > 1.02 * full.max_eqe_percent
    assert math.isnan(ref.el_peak_shift_nm)
    none = summarize_jvl(v, j, lum, direction=d)
    assert none.eqe_spectrum_source == "none" and math.isnan(none.max_eqe_percent)
    assert none.max_current_efficiency_cd_A == pytest.approx(full.max_current_efficiency_cd_A)
    as_json = json.loads(json.dumps(none.to_dict(), allow_nan=False))
    assert as_json["max_eqe_percent"] is None and as_json["cie_x"] is None


def test_to_dict_has_the_cli_keys(synthetic):
    d = synthetic[-1].to_dict()
    for key in ("turn_on_voltage_V", "max_luminance_cd_m2", "max_current_efficiency_cd_A",
                "max_power_efficiency_lm_W", "max_eqe_percent", "el_peak_nm", "el_fwhm_nm",
                "cie_x", "cie_y", "eqe_at_100_cd_m2_percent", "eqe_at_1000_cd_m2_percent",
                "rolloff_current_density_mA_cm2", "el_fwhm_meV", "el_peak_shift_nm",
                "dominant_wavelength_nm", "turn_on_threshold_cd_m2",
                "hysteresis_turn_on_difference_V"):
        assert key in d
    json.dumps(d, allow_nan=False)


def test_hysteresis_metrics_against_known_offset():
    v, j, lum, d, spectra = sweep(step_V=0.05, reverse_factor=1.1)
    s = summarize_jvl(v, j, lum, wavelength_nm=ANALYSIS_WL, spectra=spectra, direction=d)
    assert s.hysteresis_max_relative_current_density_difference == pytest.approx(0.1, rel=0.01)
    assert s.hysteresis_max_relative_luminance_difference == pytest.approx(0.1, rel=0.02)
    expected = solve_v(1.0, factor=1.1) - solve_v(1.0)
    assert s.hysteresis_turn_on_difference_V == pytest.approx(expected, rel=0.03)
    assert expected < 0
    same = summarize_jvl(*sweep(step_V=0.1)[:3], direction=sweep(step_V=0.1)[3])
    assert same.hysteresis_max_relative_current_density_difference == pytest.approx(0, abs=1e-9)
    fwd_only = summarize_jvl(v[d > 0], j[d > 0], lum[d > 0])
    assert math.isnan(fwd_only.hysteresis_turn_on_difference_V)


def test_direction_inferred_from_voltage_maximum():
    v, j, lum, d, spectra = sweep(step_V=0.1, reverse_factor=1.1)
    inferred = summarize_jvl(v, j, lum)
    given = summarize_jvl(v, j, lum, direction=d)
    # the peak voltage appears twice; inference counts the first as forward, the second reverse
    assert inferred.turn_on_voltage_V == pytest.approx(given.turn_on_voltage_V, rel=1e-12)
    assert inferred.hysteresis_max_relative_current_density_difference == pytest.approx(
        0.1, rel=0.01)


def test_threshold_choice_and_unreached_levels():
    v, j, lum, d, spectra = sweep(step_V=0.05)
    low = summarize_jvl(v, j, lum, direction=d, turn_on_threshold_cd_m2=0.1)
    assert low.turn_on_voltage_V == pytest.approx(solve_v(0.1), rel=0.01)
    assert low.turn_on_threshold_cd_m2 == 0.1
    short = (v <= 3.4) & (d > 0)  # never reaches 1000 cd/m² nor the roll-off
    s = summarize_jvl(v[short], j[short], lum[short])
    assert math.isnan(s.eqe_at_1000_cd_m2_percent)
    assert math.isnan(s.rolloff_current_density_mA_cm2)
    late = (v >= 3.5) & (d > 0)  # already above threshold at the first point: not bracketed
    assert math.isnan(summarize_jvl(v[late], j[late], lum[late]).turn_on_voltage_V)


def test_noise_floor_excludes_noisy_efficiencies():
    v = np.array([1.0, 1.5, 2.0, 2.5, 3.0])
    j = np.array([1e-6, 1e-4, 0.01, 0.1, 1.0])
    lum = np.array([0.05, 0.02, 2.0, 30.0, 200.0])  # first point: detector noise, huge "CE"
    s = summarize_jvl(v, j, lum, luminance_noise_floor_cd_m2=0.1)
    assert s.max_current_efficiency_cd_A == pytest.approx(30.0 / (10 * 0.1))
    s0 = summarize_jvl(v, j, lum, luminance_noise_floor_cd_m2=0.0)
    assert s0.max_current_efficiency_cd_A == pytest.approx(0.05 / 1e-5)
    assert s.luminance_noise_floor_cd_m2 == 0.1


def test_nan_rows_dropped_and_bad_inputs_raise():
    v, j, lum, d, spectra = sweep(step_V=0.1)
    lum_nan = lum.copy()
    lum_nan[5] = np.nan
    s = summarize_jvl(v, j, lum_nan, wavelength_nm=ANALYSIS_WL, spectra=spectra, direction=d)
    assert s.n_points == v.size - 1 and math.isfinite(s.max_eqe_percent)
    with pytest.raises(ValueError, match="same length"):
        summarize_jvl(v, j[:-1], lum)
    with pytest.raises(ValueError, match="direction"):
        summarize_jvl(v, j, lum, direction=np.zeros(v.size))
    with pytest.raises(ValueError, match="turn_on_threshold_cd_m2"):
        summarize_jvl(v, j, lum, turn_on_threshold_cd_m2=0)
    with pytest.raises(ValueError, match="spectra must have shape"):
        summarize_jvl(v, j, lum, wavelength_nm=ANALYSIS_WL, spectra=spectra[:-1])
    with pytest.raises(ValueError, match="wavelength_nm is required"):
        summarize_jvl(v, j, lum, spectra=spectra)
    with pytest.raises(ValueError, match="no finite point"):
        summarize_jvl([np.nan], [1.0], [1.0])
    with pytest.raises(ValueError, match="white_point"):
        summarize_jvl(v, j, lum, white_point="A")
    assert isinstance(s, JVLSummary)


def test_recovers_simulated_device_truth():
    """A noise-free sweep of the simulator's default pixel, analysed like a measurement."""
    device_mod = pytest.importorskip("simulators.device")
    dev = device_mod.LEDDevice()
    truth = dev.truth()
    vf = np.round(np.arange(2.0, 5.0 + 1e-9, 0.01), 6)
    v = np.concatenate([vf, vf[::-1]])
    d = np.concatenate([np.ones(vf.size), -np.ones(vf.size)])
    current = dev.current_A(v)
    j = dev.current_density_mA_cm2(current)
    lum = dev.luminance_cd_m2(current)
    wl = np.arange(400.0, 651.0, 1.0)
    spectra = dev.spectral_radiance_W_sr_m2_nm(wl, current)
    assert spectra.shape == (v.size, wl.size)
    s = summarize_jvl(v, j, lum, wavelength_nm=wl, spectra=spectra, direction=d)
    assert s.max_eqe_percent == pytest.approx(truth["eqe_max_percent"], rel=0.01)
    assert s.max_current_efficiency_cd_A == pytest.approx(truth["current_efficiency_max_cd_A"], rel=0.01)
    assert s.max_power_efficiency_lm_W == pytest.approx(truth["power_efficiency_max_lm_W"], rel=0.01)
    assert s.turn_on_voltage_V == pytest.approx(truth["turn_on_voltage_V"], rel=0.01)
    assert s.el_peak_nm == pytest.approx(truth["el_peak_nm"], rel=0.01)
    assert s.el_fwhm_nm == pytest.approx(truth["el_fwhm_nm"], rel=0.01)
    assert s.cie_x == pytest.approx(truth["cie_x"], abs=0.005)
    assert s.cie_y == pytest.approx(truth["cie_y"], abs=0.005)
    # and no hysteresis in a static, noise-free device
    assert s.hysteresis_max_relative_current_density_difference == pytest.approx(0, abs=1e-9)
