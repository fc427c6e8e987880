"""LED pixel physics of simulators.device against closed forms and independent computations."""

import json
import math

import colour
import numpy as np
import pytest
from scipy import constants, optimize

from simulators.device import LEDDevice, LEDParameters, NoiseModel

Q, H, C, EPS0 = constants.e, constants.h, constants.c, constants.epsilon_0
V_1924 = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"]


@pytest.fixture(scope="module")
def led():
    return LEDDevice()


@pytest.fixture(scope="module")
def truth(led):
    return led.truth()


def amps(device, j_mA_cm2):
    return np.asarray(j_mA_cm2, float) * 1e-3 * device.params.area_cm2


def v_lambda(wavelength_nm):
    """V(λ) interpolated by colour-science's own interpolator (independent of the device's)."""
    sd = V_1924.copy().interpolate(colour.SpectralShape(360, 830, 0.1))
    return np.interp(wavelength_nm, sd.wavelengths, sd.values, left=0, right=0)


# ---------------------------------------------------------------------------- I-V closed form
def test_current_and_voltage_are_exact_inverses_over_the_whole_range(led):
    v = np.concatenate([np.linspace(-20, 0, 41), np.linspace(0.01, 12, 400)])
    i = led.current_A(v)
    assert np.all(np.diff(i) > 0)
    np.testing.assert_allclose(led.voltage_V(i), v, rtol=1e-9, atol=1e-12)
    currents = np.concatenate([-np.geomspace(1e-6, 1e-13, 20), np.geomspace(1e-13, 1.0, 80)])
    np.testing.assert_allclose(led.current_A(led.voltage_V(currents)), currents, rtol=1e-9)


def test_current_satisfies_the_implicit_diode_equation_solved_independently(led):
    p = led.params
    a = p.ideality_factor * constants.k * p.temperature_K / Q

    def implicit(i, v):
        vj = v - i * p.series_resistance_ohm
        return i - (p.saturation_current_A * math.expm1(vj / a) + vj / p.shunt_resistance_ohm)

    for v in (-3.0, 0.5, 2.0, 2.8, 3.5, 5.0, 8.0):
        # Bracketed root of the implicit equation: independent of the Lambert-W closed form.
        lo = min(v, 0.0) / p.shunt_resistance_ohm - 2 * p.saturation_current_A
        hi = max(v, 0.0) / p.series_resistance_ohm + 1e-15
        i_ref = optimize.brentq(implicit, lo, hi, args=(v,), xtol=1e-30, rtol=1e-15,
                                maxiter=500)
        assert float(led.current_A(v)) == pytest.approx(i_ref, rel=1e-9, abs=1e-20)


def test_huge_forward_bias_does_not_overflow_and_reverse_bias_is_leakage(led):
    p = led.params
    i = led.current_A(np.array([1e3, 1e5]))
    assert np.all(np.isfinite(i))
    # Far forward the junction voltage is a few volts: I → (V − Vj)/Rs.
    np.testing.assert_allclose(i, (np.array([1e3, 1e5]) - led.voltage_V(i)
                                   + i * p.series_resistance_ohm) / p.series_resistance_ohm)
    assert np.all(1e3 / p.series_resistance_ohm * 0.98 < i[0])
    v = -5.0
    expected = -p.saturation_current_A + v / (p.series_resistance_ohm + p.shunt_resistance_ohm)
    assert float(led.current_A(v)) == pytest.approx(expected, rel=1e-6)
    assert float(led.current_A(0.0)) == pytest.approx(0.0, abs=1e-24)


def test_differential_conductance_matches_a_finite_difference(led):
    for v in (-1.0, 1.0, 2.9, 4.0, 7.0):
        h = 1e-6
        fd = (led.current_A(v + h) - led.current_A(v - h)) / (2 * h)
        assert float(led.differential_conductance_S(v)) == pytest.approx(float(fd), rel=1e-5)


def test_vectorised_shapes(led):
    v = np.linspace(0, 5, 12).reshape(3, 4)
    assert led.current_A(v).shape == (3, 4)
    assert np.ndim(led.current_A(3.0)) == 0
    wl = np.linspace(480, 560, 7)
    assert led.spectral_radiance_W_sr_m2_nm(wl, 1e-3).shape == (7,)
    assert led.spectral_radiance_W_sr_m2_nm(wl, np.full((2, 3), 1e-3)).shape == (2, 3, 7)
    assert led.chromaticity_xy(np.array([1e-4, 1e-3])).shape == (2, 2)
    assert led.luminance_cd_m2(np.array([1e-4, 1e-3])).shape == (2,)


# ---------------------------------------------------------------------------- EQE
def test_eqe_peaks_at_exactly_the_parameter_and_rolls_off(led):
    p = led.params
    assert float(led.eqe_fraction(p.eqe_peak_current_density_mA_cm2)) == pytest.approx(
        0.187, rel=1e-12)
    j = np.geomspace(1e-4, 1e3, 20001)
    eqe = led.eqe_fraction(j)
    assert eqe.max() <= 0.187 * (1 + 1e-12)
    assert j[np.argmax(eqe)] == pytest.approx(p.eqe_peak_current_density_mA_cm2, rel=1e-3)
    k = np.argmax(eqe)
    assert np.all(np.diff(eqe[:k]) > 0) and np.all(np.diff(eqe[k + 1:]) < 0)
    assert float(led.eqe_fraction(300.0)) < 0.5 * 0.187          # roll-off at high J
    assert float(led.eqe_fraction(1e-3)) < 0.01                   # rise at low J
    assert np.all(led.eqe_fraction(np.array([0.0, -5.0])) == 0.0)


# ---------------------------------------------------------------------------- photometry
def test_luminance_is_km_times_the_v_weighted_radiance_integrated_independently(led):
    currents = amps(led, [0.05, 1.0, 2.0, 30.0, 150.0])
    for i in currents:
        wl = np.arange(360.0, 830.0, 0.5)
        sd = colour.SpectralDistribution(
            dict(zip(wl, led.spectral_radiance_W_sr_m2_nm(wl, i))))
        reference = colour.luminous_flux(sd, V_1924, K_m=683)       # colour's own integrator
        assert float(led.luminance_cd_m2(i)) == pytest.approx(reference, rel=1e-3)


def test_eqe_is_recovered_from_luminance_current_density_and_spectrum(led):
    """metrology.md: EQE = π·q·L/(K_m·J) · ∫P·λ/(hc)dλ / ∫P·V dλ (Lambertian)."""
    wl = np.arange(430.0, 610.0, 0.25)
    for j in (0.02, 2.0, 40.0, 200.0):
        i = float(amps(led, j))
        spectrum = led.spectral_radiance_W_sr_m2_nm(wl, i)
        lum = float(led.luminance_cd_m2(i))
        j_a_m2 = j * 10.0
        eqe = (math.pi * Q * lum / (683.0 * j_a_m2)
               * np.trapezoid(spectrum * wl * 1e-9 / (H * C), wl)
               / np.trapezoid(spectrum * v_lambda(wl), wl))
        assert eqe == pytest.approx(float(led.eqe_fraction(j)), rel=1e-3)


def test_photon_count_of_the_radiance_is_eqe_times_electron_count(led):
    i = float(amps(led, 5.0))
    wl = np.arange(400.0, 650.0, 0.1)
    radiance = led.spectral_radiance_W_sr_m2_nm(wl, i)
    area_m2 = led.params.area_cm2 * 1e-4
    photons = math.pi * area_m2 * np.trapezoid(radiance * wl * 1e-9 / (H * C), wl)
    assert photons == pytest.approx(float(led.eqe_fraction(5.0)) * i / Q, rel=1e-9)


def test_eqe_to_current_efficiency_ratio_is_that_of_a_green_led(truth):
    ratio = truth["eqe_max_percent"] / truth["current_efficiency_max_cd_A"]
    assert 0.2 < ratio < 0.5            # %/(cd/A); a cd/cm² slip would give 1e-4 of this
    assert truth["current_efficiency_max_cd_A"] == pytest.approx(62.5, rel=0.02)


def test_chromaticity_agrees_with_colour_science(led):
    i = float(amps(led, 2.0))
    wl = np.arange(360.0, 781.0, 1.0)
    sd = colour.SpectralDistribution(dict(zip(wl, led.spectral_radiance_W_sr_m2_nm(wl, i))))
    xy = colour.XYZ_to_xy(colour.sd_to_XYZ(sd, method="Integration"))
    np.testing.assert_allclose(led.chromaticity_xy(i), xy, atol=2e-4)
    assert 0.05 < xy[0] < 0.12 and 0.7 < xy[1] < 0.82            # saturated green


def test_spectrum_peak_and_fwhm_measured_on_a_fine_grid(led, truth):
    wl = np.arange(480.0, 560.0, 0.01)
    s = led.spectral_radiance_W_sr_m2_nm(wl, float(amps(led, 2.0)))
    assert wl[np.argmax(s)] == pytest.approx(517.0, abs=0.01)
    above = wl[s >= 0.5 * s.max()]
    assert above[-1] - above[0] == pytest.approx(18.0, abs=0.03)
    assert truth["el_peak_nm"] == pytest.approx(517.0, abs=1e-3)
    assert truth["el_fwhm_nm"] == pytest.approx(18.0, abs=1e-3)
    # ΔE ≈ 1239.84·Δλ/λ² (metrology.md), within the approximation's own error.
    assert truth["el_fwhm_meV"] == pytest.approx(1239.84e3 * 18 / 517 ** 2, rel=2e-3)


def test_optional_red_shift_moves_the_peak_by_the_set_amount_per_decade():
    dev = LEDDevice(LEDParameters(el_redshift_nm_per_decade=2.0))
    i_ref = float(amps(dev, 1.0))
    peaks = dev.el_peak_wavelength_nm(np.array([0.1, 1.0, 10.0, 100.0]) * i_ref)
    np.testing.assert_allclose(peaks, [517.0, 517.0, 519.0, 521.0])
    wl = np.arange(490.0, 560.0, 0.01)
    s = dev.spectral_radiance_W_sr_m2_nm(wl, 100 * i_ref)
    assert wl[np.argmax(s)] == pytest.approx(521.0, abs=0.01)
    assert float(LEDDevice().el_peak_wavelength_nm(100 * i_ref)) == 517.0   # off by default


def test_turn_on_near_2_8_V_solved_exactly(led, truth):
    assert 2.7 < truth["turn_on_voltage_V"] < 2.9
    i_on = float(led.current_A(truth["turn_on_voltage_V"]))
    assert float(led.luminance_cd_m2(i_on)) == pytest.approx(1.0, rel=1e-9)


def test_maximum_luminance_about_2e4_below_8_V(led, truth):
    v = np.linspace(0.0, 8.0, 8001)
    grid_max = led.luminance_cd_m2(led.current_A(v)).max()
    l_max = truth["max_luminance_below_8V_cd_m2"]
    assert 1.5e4 < l_max < 3e4
    assert truth["max_luminance_voltage_V"] < 8.0
    assert grid_max <= l_max * (1 + 1e-9)
    assert grid_max == pytest.approx(l_max, rel=1e-5)


def test_power_efficiency_truth_is_the_maximum_of_pi_l_over_jv(led, truth):
    j = np.geomspace(1e-3, 300, 4001)
    i = amps(led, j)
    pe = math.pi * led.luminance_cd_m2(i) / (j * 10.0 * led.voltage_V(i))
    assert pe.max() <= truth["power_efficiency_max_lm_W"] * (1 + 1e-9)
    assert pe.max() == pytest.approx(truth["power_efficiency_max_lm_W"], rel=1e-5)


def test_pristine_preset_is_the_worse_device_of_the_paper():
    pristine = LEDDevice(LEDParameters.pristine()).truth()
    passivated = LEDDevice(LEDParameters.passivated()).truth()
    assert pristine["eqe_max_percent"] == pytest.approx(7.7)
    assert pristine["lifetime"]["t50_s_at_ref"] == pytest.approx(1.4 * 60)
    assert passivated["lifetime"]["t50_s_at_ref"] == pytest.approx(30 * 60)
    assert pristine["max_luminance_below_8V_cd_m2"] < 0.5 * passivated[
        "max_luminance_below_8V_cd_m2"]
    assert 0.02 < abs(pristine["turn_on_voltage_V"] - passivated["turn_on_voltage_V"]) < 0.3


def test_truth_is_json_and_carries_the_figures(truth):
    back = json.loads(json.dumps(truth))
    assert back["eqe_max_percent"] == pytest.approx(18.7)
    for key in ("current_efficiency_max_cd_A", "power_efficiency_max_lm_W", "turn_on_voltage_V",
                "max_luminance_below_8V_cd_m2", "el_peak_nm", "el_fwhm_nm", "cie_x", "cie_y",
                "area_cm2", "epsilon_r", "lifetime", "junction", "parameters"):
        assert key in back
    assert len(back["junction"]["trap_density_cm3"]) == len(back["junction"]["profile_depth_nm"])


def test_pixels_drawn_with_a_seed_vary_reproducibly_and_truth_follows():
    a = LEDDevice(rng=np.random.default_rng(7))
    b = LEDDevice(rng=np.random.default_rng(7))
    c = LEDDevice(rng=np.random.default_rng(8))
    assert a.params == b.params and a.params != c.params
    assert a.truth()["eqe_max_percent"] == pytest.approx(100 * a.params.eqe_max_fraction)
    assert abs(a.params.eqe_max_fraction / 0.187 - 1) < 0.2


@pytest.mark.parametrize("changes, name", [
    (dict(area_cm2=-1.0), "area_cm2"),
    (dict(eqe_max_fraction=1.5), "eqe_max_fraction"),
    (dict(el_fwhm_nm=0.0), "el_fwhm_nm"),
    (dict(eqe_peak_current_density_mA_cm2=500.0, eqe_rolloff_exponent=2.0),
     "eqe_peak_current_density_mA_cm2"),
    (dict(trap_density_cm3=(1.0,)), "trap_density_cm3"),
])
def test_bad_parameters_raise_one_line_naming_the_parameter(changes, name):
    with pytest.raises(ValueError) as err:
        LEDParameters(**changes)
    message = str(err.value)
    assert message.startswith(name) and "allowed" in message and "\n" not in message


# ---------------------------------------------------------------------------- noise
def test_noise_model_is_seeded_scaled_and_zero_preset_is_exact():
    a, b = NoiseModel(seed=3), NoiseModel(seed=3)
    values = np.full(20000, 2e-3)
    da, db = a.apply(values, "current"), b.apply(values, "current")
    np.testing.assert_array_equal(da, db)
    sigma = math.hypot(a.current_relative * 2e-3, a.current_floor_A)
    assert np.std(da - values) == pytest.approx(sigma, rel=0.03)
    assert abs(np.mean(da - values)) < 5 * sigma / math.sqrt(values.size)
    assert NoiseModel.zero().apply(1.234, "capacitance") == 1.234
    assert isinstance(NoiseModel(seed=1).apply(1.0, "voltage"), float)
    with pytest.raises(ValueError, match="kind"):
        a.apply(1.0, "temperature")
