"""Photodiode calibration math (against analysis.photometry and hand values) and station TOML
validation (each error one clear line)."""

import math

import numpy as np
import pytest
from scipy import constants

from instruments.photodiode import (PhotodiodeCalibration, collection_fraction,
                                    si_default_responsivity_A_W)
from instruments.station import StationConfigError, load_config


def test_collection_fraction_hand_value():
    # r = 5 mm, d = 20 mm: 25 / 425
    assert collection_fraction(5.0, 20.0) == pytest.approx(25 / 425, rel=1e-12)
    with pytest.raises(ValueError, match="radius_mm = 0 is out of range"):
        collection_fraction(0, 20)


def test_monochromatic_photon_flux_and_power_by_hand():
    # Narrow line at 550 nm, flat R = 0.3 A/W: P = I/(f R), N = P λ/(hc).
    wl = np.linspace(540, 560, 2001)
    s = np.exp(-0.5 * ((wl - 550) / 0.5) ** 2)
    cal = PhotodiodeCalibration(np.array([300.0, 1100.0]), np.array([0.3, 0.3]), 5.0, 20.0)
    i_pd = 2e-7
    power = i_pd / (25 / 425) / 0.3
    assert cal.optical_power_W(i_pd, wl, s) == pytest.approx(power, rel=1e-9)
    assert cal.photon_flux_per_s(i_pd, wl, s) == pytest.approx(
        power * 550e-9 / (constants.h * constants.c), rel=1e-4)
    # Luminance: K_m·V(550)·P/(π A); V(550 nm) = 0.994950 (CIE 1924), A = 4 mm².
    lum = cal.luminance_cd_m2(i_pd, wl, s, area_cm2=0.04)
    assert lum == pytest.approx(683 * 0.99495 * power / (math.pi * 4e-6), rel=2e-3)


def test_luminance_matches_analysis_photometry():
    from analysis import photometry

    cal = PhotodiodeCalibration.si_default(radius_mm=4.0, distance_mm=15.0)
    wl = np.arange(420.0, 700.0, 0.5)
    s = np.exp(-0.5 * ((wl - 517) / 9) ** 2)
    resp = cal.responsivity(wl)
    assert cal.luminance_cd_m2(3e-7, wl, s, area_cm2=0.1) == pytest.approx(
        photometry.photodiode_luminance_cd_m2(3e-7, 0.1, wl, s, resp, 4.0, 15.0), rel=1e-9)
    assert cal.photon_flux_per_s(3e-7, wl, s) == pytest.approx(
        photometry.photodiode_photon_flux_per_s(3e-7, wl, s, resp, 4.0, 15.0), rel=1e-9)


def test_si_default_is_the_benchs_detector_and_physical():
    from simulators.bench import si_photodiode_responsivity_A_W

    wl = np.arange(300.0, 1101.0, 7.0)
    np.testing.assert_allclose(si_default_responsivity_A_W(wl),
                               si_photodiode_responsivity_A_W(wl), rtol=1e-12)
    # Below the ideal photodiode R = qλ/hc (100 % QE) everywhere: a unit check (A/W not mA/W).
    ideal = constants.e * wl * 1e-9 / (constants.h * constants.c)
    assert np.all(si_default_responsivity_A_W(wl) <= ideal)
    assert 0.3 < float(si_default_responsivity_A_W(550.0)) < 0.45


def test_responsivity_csv_and_unit_trap(tmp_path):
    good = tmp_path / "cert.csv"
    good.write_text("# certificate 123\nwavelength_nm,responsivity_A_W\n400,0.2\n800,0.5\n")
    cal = PhotodiodeCalibration.from_csv(good, radius_mm=5, distance_mm=20)
    assert cal.responsivity(600.0) == pytest.approx(0.35)
    assert cal.responsivity(1000.0) == 0.0
    bad = tmp_path / "mA.csv"
    bad.write_text("400,200\n800,500\n")     # mA/W by mistake
    with pytest.raises(ValueError, match="responsivity_A_W is out of range"):
        PhotodiodeCalibration.from_csv(bad, radius_mm=5, distance_mm=20)


def test_example_lab_toml_is_valid():
    from pathlib import Path

    import instruments

    path = Path(instruments.__file__).parent / "stations" / "example_lab.toml"
    config = load_config(path, roles=("smu", "light_meter", "photodiode", "lcr", "channel"))
    assert config["lcr"]["bias_source"] == "smu"
    assert config["channel"][0]["photodiode"]["radius_mm"] == 5.0
    assert config["switch"]["model"] == "keithley7001" and config["switch"]["pixels"] == 8


@pytest.mark.parametrize("text, roles, expected", [
    ('[smu]\ndriver = "keithley9999"\nresource = "GPIB0::24::INSTR"\n', ("smu",),
     "[smu] unknown driver 'keithley9999': known drivers for smu are keithley2400, keithley2450"),
    ('[smu]\ndriver = "keithley2400"\nresource = "GPIB0::banana::INSTR"\n', ("smu",),
     "[smu] resource = 'GPIB0::banana::INSTR' has GPIB primary address 'banana': allowed 0 … 30"),
    ('[smu]\ndriver = "keithley2400"\nresource = "GPIB0::24::INSTR"\n', ("smu", "light_meter"),
     "[light_meter] is missing: this procedure needs a light_meter (drivers: cs2000, pr655)"),
    ('[smu]\ndriver = "keithley2400"\nresource = "GPIB0::24::INSTR"\ntimeout_ms = 0\n', ("smu",),
     "[smu] timeout_ms = 0 is out of range: allowed 1 … 600000"),
    ('[smu]\ndriver = "keithley2400"\nresource = "GPIB0::24::INSTR"\nnplcc = 1\n', ("smu",),
     "[smu] unknown key 'nplcc'"),
    ('[light_meter]\ndriver = "cs2000"\nresource = "/dev/ttyUSB0"\nbaud_rate = 115201\n',
     ("light_meter",), "[light_meter] baud_rate = 115201 is not allowed"),
    ('[light_meter]\ndriver = "cs2000"\nresource = "/dev/ttyUSB0"\nspeed = "turbo"\n',
     ("light_meter",), "[light_meter] speed = 'turbo' is not allowed: use one of 'normal', "
                       "'fast'"),
    ('[light_meter]\ndriver = "pr655"\nresource = "/dev/ttyACM0"\nspeed = "fast"\n',
     ("light_meter",), "[light_meter] speed applies to driver 'cs2000' only (not 'pr655')"),
    ('[photodiode]\ndriver = "keithley6485"\nresource = "GPIB0::4::INSTR"\nradius_mm = 5.0\n',
     ("photodiode",), "[photodiode] distance_mm is missing"),
    ('[photodiode]\ndriver = "keithley6485"\nresource = "GPIB0::4::INSTR"\nradius_mm = 5.0\n'
     'distance_mm = 20\nresponsivity = "nope.csv"\n', ("photodiode",),
     "[photodiode] responsivity = 'nope.csv': no such file"),
    ('[lcr]\ndriver = "e4980a"\nresource = "GPIB0::17::INSTR"\nbias_source = "smu"\n', ("lcr",),
     "[lcr] bias_source = 'smu' needs an [smu] table"),
    ('[[channel]]\nphotodiode = { driver = "keithley2400", resource = "GPIB0::3::INSTR", '
     'radius_mm = 5.0, distance_mm = 20.0 }\n', ("channel",), "[[channel]] #1 smu is missing"),
    ('[smu\n', ("smu",), "not valid TOML"),
])
def test_bad_station_files_give_one_clear_line_each(tmp_path, text, roles, expected):
    path = tmp_path / "station.toml"
    path.write_text(text)
    with pytest.raises(StationConfigError) as info:
        load_config(path, roles=roles)
    assert any(expected in line for line in info.value.errors), info.value.errors
    for line in str(info.value).splitlines():
        assert line.startswith(str(path) + ": ")


def test_all_errors_reported_together(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('[smu]\ndriver = "k"\nresource = "x"\n[lcr]\ndriver = "e4980a"\n')
    with pytest.raises(StationConfigError) as info:
        load_config(path, roles=("smu", "lcr", "light_meter"))
    assert len(info.value.errors) == 4   # driver, resource, lcr resource missing, light_meter
