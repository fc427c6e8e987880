"""Photometry against hand computations and independent colour-science / scipy routes."""

import colour
import numpy as np
import pytest
from scipy import integrate

from analysis import photometry as pm

# Typed-in CODATA values: a deliberately independent route from scipy.constants.
Q_C = 1.602176634e-19
H_JS = 6.62607015e-34
C_M_S = 299792458.0


def gaussian(wl, centre_nm, sigma_nm):
    return np.exp(-0.5 * ((wl - centre_nm) / sigma_nm) ** 2)


WL = np.arange(380.0, 781.0, 1.0)
GREEN = gaussian(WL, 517.0, 8.5)


# ------------------------------------------------------------------ EQE, CE, PE
def test_eqe_known_value_555nm_line_by_hand():
    # 1 cd/m² Lambertian at 555 nm -> exitance π lm/m² = π/683 W/m²;
    # photons = that / (hc/λ); EQE = q·photons / J with J = 1 mA/cm² = 10 A/m².
    wl = np.arange(550.0, 560.0, 0.01)
    line = gaussian(wl, 555.0, 0.05)
    photons_m2_s = (np.pi / 683.0) / (H_JS * C_M_S / 555e-9)
    expected = 100 * Q_C * photons_m2_s / 10.0
    assert expected == pytest.approx(0.020589, rel=1e-4)  # hand value, percent
    got = pm.eqe_percent(1.0, 1.0, wl, line)
    assert got == pytest.approx(expected, rel=2e-4)
    assert pm.current_efficiency_cd_A(1.0, 1.0) == pytest.approx(0.1, rel=1e-12)
    assert pm.power_efficiency_lm_W(1.0, 1.0, 2.0) == pytest.approx(np.pi * 0.1 / 2.0, rel=1e-12)


def test_eqe_to_ce_ratio_in_plausible_band_for_green_emitter():
    # Unit tripwire: π, K_m, nm->m or mA/cm² slips move this ratio by decades.
    ratio = pm.eqe_percent(500.0, 3.0, WL, GREEN) / pm.current_efficiency_cd_A(500.0, 3.0)
    assert 0.2 < ratio < 2.0
    # and it matches Table S1 of the seed paper (OTAc device: 2.75 % at 9.1 cd/A, 516 nm)
    assert ratio == pytest.approx(2.75 / 9.1, rel=0.1)


def test_eqe_independent_of_spectrum_scale_and_grid():
    fine = np.arange(400.0, 650.0, 0.1)
    a = pm.eqe_percent(1000.0, 20.0, WL, GREEN)
    b = pm.eqe_percent(1000.0, 20.0, fine, 3.7e-6 * gaussian(fine, 517.0, 8.5))
    assert a == pytest.approx(b, rel=1e-3)


def test_eqe_matches_colour_science_luminous_flux_route():
    # Independent route: colour.luminous_efficacy on a SpectralDistribution (its own grid).
    wl = np.arange(450.0, 600.0, 0.25)
    sd = colour.SpectralDistribution(gaussian(wl, 517.0, 8.5), wl)
    lm_per_w = colour.luminous_efficacy(sd)  # K_m ∫P V / ∫P with CIE 1924 V
    mean_photon_energy_j = np.trapezoid(sd.values, wl) / np.trapezoid(
        sd.values * wl * 1e-9 / (H_JS * C_M_S), wl)
    lum, j_ma_cm2 = 2000.0, 15.0
    expected = 100 * np.pi * lum / lm_per_w / mean_photon_energy_j * Q_C / (10 * j_ma_cm2)
    assert pm.eqe_percent(lum, j_ma_cm2, WL, GREEN) == pytest.approx(expected, rel=2e-3)


def test_eqe_angular_factor_replaces_pi():
    lam = pm.eqe_percent(100.0, 1.0, WL, GREEN)
    assert pm.eqe_percent(100.0, 1.0, WL, GREEN, angular_factor=2.0) == pytest.approx(
        lam * 2.0 / np.pi, rel=1e-12)
    with pytest.raises(ValueError, match="angular_factor"):
        pm.eqe_percent(100.0, 1.0, WL, GREEN, angular_factor=-1.0)


def test_eqe_vectorised_rows_match_single_calls_and_scalars_stay_scalars():
    rng = np.random.default_rng(1)
    centres = rng.uniform(460, 640, 50)
    spectra = gaussian(WL[None, :], centres[:, None], 10.0)
    lum = rng.uniform(1, 1e4, 50)
    j = rng.uniform(0.1, 100, 50)
    vec = pm.eqe_percent(lum, j, WL, spectra)
    loop = [pm.eqe_percent(lum[i], j[i], WL, spectra[i]) for i in range(50)]
    np.testing.assert_allclose(vec, loop, rtol=1e-12)
    assert isinstance(loop[0], float)
    # one spectrum for many points broadcasts too
    assert pm.eqe_percent(lum, j, WL, GREEN).shape == (50,)


def test_eqe_large_batch_in_one_call():
    spectra = np.tile(GREEN, (10_000, 1))
    out = pm.eqe_percent(np.full(10_000, 100.0), np.full(10_000, 1.0), WL, spectra)
    assert out.shape == (10_000,)
    assert np.allclose(out, pm.eqe_percent(100.0, 1.0, WL, GREEN))


def test_efficiencies_nan_without_injection_and_for_nan_rows():
    assert np.isnan(pm.eqe_percent(10.0, 0.0, WL, GREEN))
    assert np.isnan(pm.current_efficiency_cd_A(10.0, -1.0))
    assert np.isnan(pm.power_efficiency_lm_W(10.0, 1.0, 0.0))
    spectra = np.vstack([GREEN, np.full_like(GREEN, np.nan), np.zeros_like(GREEN)])
    out = pm.eqe_percent(10.0, 1.0, WL, spectra)
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])


def test_bad_inputs_raise_one_line_value_errors():
    with pytest.raises(ValueError, match="strictly increasing"):
        pm.eqe_percent(1.0, 1.0, WL[::-1], GREEN)
    with pytest.raises(ValueError, match="spectrum must have shape"):
        pm.eqe_percent(1.0, 1.0, WL, GREEN[:-1])
    with pytest.raises(ValueError, match="broadcast"):
        pm.eqe_percent(np.ones(3), np.ones(3), WL, np.tile(GREEN, (4, 1)))
    with pytest.raises(ValueError, match="white_point"):
        pm.dominant_wavelength_nm(WL, GREEN, white_point="D50")


def test_photopic_function_is_cie_1924_not_judd_vos():
    lefs = colour.colorimetry.SDS_LEFS_PHOTOPIC
    v = pm.photopic_v(np.array([449.0, 450.0, 451.0]))
    assert v[1] == pytest.approx(lefs["CIE 1924 Photopic Standard Observer"][450], rel=1e-12)
    assert abs(v[1] - lefs["Judd-Vos Modified CIE 1978 Photopic Standard Observer"][450]) > 0.005
    assert pm.photopic_v(np.array([300.0, 310.0, 320.0])).sum() == 0.0


# ------------------------------------------------------------------ colour
def test_cie_xy_matches_colour_sd_to_xyz_on_its_own_grid():
    wl = np.arange(360.0, 831.0, 1.0)  # colour's native grid and range, unlike WL
    for centre in (460.0, 517.0, 620.0):
        sd = colour.SpectralDistribution(gaussian(wl, centre, 10.0), wl)
        xyz = colour.sd_to_XYZ(sd, colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"],
                               illuminant=colour.sd_ones(sd.shape), method="Integration")
        ref = colour.XYZ_to_xy(xyz)
        x, y = pm.cie1931_xy(WL, gaussian(WL, centre, 10.0))
        assert x == pytest.approx(ref[0], abs=5e-4)
        assert y == pytest.approx(ref[1], abs=5e-4)


def test_cie_xy_of_narrow_line_is_on_spectral_locus():
    cmfs = colour.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
    xbar, ybar, zbar = cmfs[555]
    wl = np.arange(550.0, 560.0, 0.01)
    x, y = pm.cie1931_xy(wl, gaussian(wl, 555.0, 0.05))
    assert x == pytest.approx(xbar / (xbar + ybar + zbar), abs=1e-4)
    assert y == pytest.approx(ybar / (xbar + ybar + zbar), abs=1e-4)


def test_cie_xy_2d_rows():
    spectra = np.vstack([gaussian(WL, 460, 10), gaussian(WL, 620, 10)])
    x, y = pm.cie1931_xy(WL, spectra)
    assert x.shape == (2,) and x[1] > 0.6 and y[0] < 0.15


def test_dominant_wavelength_of_narrow_lines_and_white_point_choice():
    for centre in (470.0, 530.0, 610.0):
        assert pm.dominant_wavelength_nm(WL, gaussian(WL, centre, 1.5)) == pytest.approx(
            centre, abs=0.5)
    # Adding equal-energy white moves (x, y) straight towards E: the dominant wavelength
    # relative to E is unchanged, relative to D65 it is not.
    line = gaussian(WL, 500.0, 10.0)
    washed = line + 0.2
    assert pm.dominant_wavelength_nm(WL, washed, "E") == pytest.approx(
        pm.dominant_wavelength_nm(WL, line, "E"), abs=0.2)
    assert abs(pm.dominant_wavelength_nm(WL, washed, "D65")
               - pm.dominant_wavelength_nm(WL, line, "D65")) > 2.0
    out = pm.dominant_wavelength_nm(WL, np.vstack([GREEN, np.zeros_like(GREEN)]))
    assert out[0] == pytest.approx(517.0, abs=1.5) and np.isnan(out[1])


# ------------------------------------------------------------------ line shape
def test_peak_wavelength_subsample_resolution():
    assert pm.peak_wavelength_nm(WL, gaussian(WL, 517.3, 8.5)) == pytest.approx(517.3, abs=0.02)
    rows = np.vstack([gaussian(WL, 512.6, 9.0), gaussian(WL, 520.2, 9.0)])
    np.testing.assert_allclose(pm.peak_wavelength_nm(WL, rows), [512.6, 520.2], atol=0.02)


def test_fwhm_gaussian_and_meV():
    sigma = 8.5
    expected_nm = 2 * np.sqrt(2 * np.log(2)) * sigma
    assert pm.fwhm_nm(WL, GREEN) == pytest.approx(expected_nm, rel=2e-3)
    approx_meV = 1e3 * 1239.84 * expected_nm / 517.0**2
    assert pm.fwhm_meV(WL, GREEN) == pytest.approx(approx_meV, rel=3e-3)


def test_fwhm_triangle_exact_and_dark_subtraction():
    # Triangle peak 10 at 520, base 500..560: half maximum at 510 and 540 -> 30 nm exactly.
    tri = np.clip(np.where(WL < 520, (WL - 500) / 20, (560 - WL) / 40), 0, None) * 10
    assert pm.fwhm_nm(WL, tri) == pytest.approx(30.0, abs=1e-9)
    offset = tri + 2.0
    assert pm.fwhm_nm(WL, offset) > 35.0  # baseline inflates it
    assert pm.fwhm_nm(WL, offset, dark=2.0) == pytest.approx(30.0, abs=1e-9)


def test_fwhm_nan_when_not_resolved():
    edge = gaussian(WL, 379.0, 10.0)  # peak falls off the blue end of the axis
    assert np.isnan(pm.fwhm_nm(WL, edge))
    assert np.isnan(pm.fwhm_nm(WL, np.full_like(WL, np.nan)))


def test_photon_weighted_mean_energy_is_harmonic_not_power_weighted():
    wl = np.arange(400.0, 700.0, 0.01)
    two_lines = gaussian(wl, 450.0, 0.1) + gaussian(wl, 650.0, 0.1)
    e1, e2 = (H_JS * C_M_S / Q_C / np.array([450e-9, 650e-9]))
    expected = 2.0 / (1 / e1 + 1 / e2)  # equal power: photon-weighted = harmonic mean
    got = pm.photon_weighted_mean_energy_eV(wl, two_lines)
    assert got == pytest.approx(expected, rel=1e-4)
    assert abs(got - (e1 + e2) / 2) > 0.02  # the known bug would give the arithmetic mean


# ------------------------------------------------------------------ photodiode route
def test_collection_fraction_equals_lambertian_integral():
    r, d = 5.0, 20.0
    alpha = np.arctan(r / d)
    # Lambertian: I(θ) ∝ cosθ; fraction = ∫0^α cosθ sinθ dθ / ∫0^(π/2) cosθ sinθ dθ
    num, _ = integrate.quad(lambda t: np.cos(t) * np.sin(t), 0, alpha)
    assert pm.photodiode_collection_fraction(r, d) == pytest.approx(num / 0.5, rel=1e-10)
    with pytest.raises(ValueError, match="radius_mm"):
        pm.photodiode_collection_fraction(0.0, 10.0)


def test_photodiode_route_recovers_luminance_and_eqe_of_forward_model():
    # Forward model of a Lambertian pixel: L, area, spectrum -> detector current.
    lum, area_cm2, j_ma_cm2 = 1500.0, 0.04, 12.0
    resp = 0.05 + 0.3 * (WL - 380) / 400  # A/W, rising with λ like Si
    r_mm, d_mm = 5.64, 30.0
    sd = colour.SpectralDistribution(GREEN, WL)
    flux_lm = np.pi * lum * area_cm2 * 1e-4
    power_w = flux_lm / colour.luminous_efficacy(sd)
    collected_w = power_w * r_mm**2 / (r_mm**2 + d_mm**2)
    i_pd = collected_w * np.trapezoid(GREEN * resp, WL) / np.trapezoid(GREEN, WL)

    got_l = pm.photodiode_luminance_cd_m2(i_pd, area_cm2, WL, GREEN, resp, r_mm, d_mm)
    assert got_l == pytest.approx(lum, rel=2e-3)
    i_dev = j_ma_cm2 * 1e-3 * area_cm2
    got_eqe = pm.photodiode_eqe_percent(i_pd, i_dev, WL, GREEN, resp, r_mm, d_mm)
    assert got_eqe == pytest.approx(pm.eqe_percent(lum, j_ma_cm2, WL, GREEN), rel=2e-3)
    n = pm.photodiode_photon_flux_per_s(i_pd, WL, GREEN, resp, r_mm, d_mm)
    assert Q_C * n / i_dev * 100 == pytest.approx(got_eqe, rel=1e-12)
    with pytest.raises(ValueError, match="responsivity_A_W"):
        pm.photodiode_luminance_cd_m2(i_pd, area_cm2, WL, GREEN, -resp, r_mm, d_mm)
