"""Every driver against the simulated bench over its real transports (TCP sockets, ptys),
checked against the devices' truth."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from instruments.hp import HP4284ALCRMeter
from instruments.keithley2450 import Keithley2450SourceMeter
from instruments.photo_research import PR655LightMeter
from instruments.station import open_station
from instruments.transport import session_socket


@pytest.fixture(scope="module")
def station():
    st = open_station("sim", roles=("smu", "light_meter", "photodiode", "lcr"),
                      sim_options=dict(noise=False, time_scale=50.0, seed=3))
    yield st
    st.close()


def test_station_shape_and_record(station):
    assert station.simulated and station.clock is station.bench.clock
    # the environment roles are optional: opened because the simulated bench has them
    assert set(station.identities) == {"smu", "light_meter", "photodiode", "lcr",
                                       "thermometer", "ambient"}
    assert "MODEL 2400" in station.identities["smu"]
    json.dumps(station.config)                       # storable with a run
    assert station.config["lcr_level_convention"] == "rms"
    assert station.truth()["pixels"][0]["kind"] == "LEDDevice"
    # The simulated station runs the CS-2000 in fast mode (a dark reading ~17 s, not ~4 min).
    assert station.config["light_meter"]["speed"] == "fast"
    assert station.bench.instrument("spectroradiometer").speed_mode[0] == 1


def test_tcp_nodelay_is_set_on_the_visa_socket(station):
    sock = session_socket(station.smu.driver.adapter)
    import socket
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_point_loop_matches_device_truth_and_sweep(station):
    smu, pixel = station.smu, station.bench.pixels[0]
    smu.configure_voltage_source(compliance_A=0.02)
    smu.output_on()
    volts = [0.5, 2.0, 2.6, 3.2]
    points = [smu.source_voltage_and_measure(v) for v in volts]
    truth = [float(pixel.device.current_A(v)) for v in volts]
    for p, t, v in zip(points, truth, volts):
        assert p.voltage_V == pytest.approx(v, abs=1e-9)
        assert p.current_A == pytest.approx(t, rel=1e-3, abs=1e-12)
    sweep = smu.sweep_voltage(volts, delay_s=0.0)
    np.testing.assert_allclose(sweep.current_A, [p.current_A for p in points], rtol=2e-3,
                               atol=1e-12)
    assert smu.level == 3.2 and not sweep.in_compliance.any()
    # A 1 µA limit clamps at 3.2 V (≈ mA): the status word flags it.
    smu.configure_voltage_source(compliance_A=1e-6)
    limited = smu.source_voltage_and_measure(3.2)
    assert limited.in_compliance and abs(limited.current_A) == pytest.approx(1e-6, rel=1e-3)
    smu.output_off()


def test_cs2000_and_photodiode_route_agree_with_truth(station):
    smu, pixel = station.smu, station.bench.pixels[0]
    smu.configure_voltage_source(compliance_A=0.02)
    smu.output_on()
    smu.set_voltage(3.3)
    reading = station.light_meter.measure()
    true_l = pixel.luminance_cd_m2()
    assert reading.luminance_cd_m2 == pytest.approx(true_l, rel=0.01)
    assert reading.wavelength_nm.size == 401
    assert reading.spectral_radiance_W_sr_m2_nm.max() > 0
    # Photodiode route, converted with the CS-2000's spectrum shape: the same luminance.
    i_pd = station.photodiode.read_photocurrent_A()
    assert i_pd > 0
    area_cm2 = pixel.area_m2 * 1e4
    l_pd = station.photodiode.calibration.luminance_cd_m2(
        i_pd, reading.wavelength_nm, reading.spectral_radiance_W_sr_m2_nm, area_cm2=area_cm2)
    assert l_pd == pytest.approx(reading.luminance_cd_m2, rel=0.01)
    smu.output_off()


def test_e4980a_capacitance_matches_truth_and_bias_rules(station):
    lcr, pixel = station.lcr, station.bench.pixels[0]
    lcr.configure(function="CPG", frequency_Hz=1e4, level_Vrms=0.03)
    lcr.set_bias(-2.0)                                   # option 001 on the bench
    c_F, g_S = lcr.measure()
    c_true, g_true = pixel.device.capacitance(1e4, -2.0, 0.03)
    assert c_F == pytest.approx(float(c_true), rel=1e-3)
    assert g_S == pytest.approx(float(g_true), rel=1e-3, abs=1e-12)
    lcr.bias_off()


def test_keithley2450_over_tcp(bench):
    bench.select_pixel(0)
    with Keithley2450SourceMeter.open(bench.resources["smu2450"]) as smu:
        smu.configure_voltage_source(compliance_A=0.01)
        smu.output_on()
        point = smu.source_voltage_and_measure(3.0)
        sweep = smu.sweep_voltage([2.0, 3.0], 0.0)
    truth = float(bench.pixels[0].device.current_A(3.0))
    assert point.current_A == pytest.approx(truth, rel=1e-3)
    assert sweep.current_A[1] == pytest.approx(truth, rel=2e-3)
    assert bench.instrument("smu2450").output is False      # closed → output off


def test_keithley6485_photodiode_and_4284a(make_bench):
    with open_station("sim", roles=("smu", "photodiode"),
                      sim_options=dict(noise=False, photodiode="6485", time_scale=50.0)) as st:
        assert "MODEL 6485" in st.identities["photodiode"]
        st.smu.configure_voltage_source(compliance_A=0.02)
        st.smu.output_on()
        st.smu.set_voltage(3.2)
        load = st.bench._channels[0].photodiode_load
        assert st.photodiode.read_photocurrent_A() == pytest.approx(load.photocurrent_A(),
                                                                   rel=1e-3)
        with HP4284ALCRMeter.open(st.bench.resources["lcr4284"], option_001=True) as lcr:
            lcr.configure(function="CPD", frequency_Hz=1e3, level_Vrms=0.05)
            lcr.set_bias(-1.0)
            reading = lcr.measure()
        c_true, g_true = st.bench.pixels[0].device.capacitance(1e3, -1.0, 0.05)
        assert reading.capacitance_F == pytest.approx(float(c_true), rel=1e-3)
        d_true = float(g_true) / (2 * np.pi * 1e3 * float(c_true))
        assert reading.dissipation == pytest.approx(d_true, rel=1e-3)


def test_pr655_over_pty(make_bench):
    bench = make_bench(time_scale=50.0)
    bench.pixels[0].apply("VOLT", 3.4, 0.05, True)
    with PR655LightMeter.open(bench.resources["pr655"], timeout_ms=3000) as meter:
        assert meter.idn.startswith("PR-655")
        reading = meter.measure()
    assert reading.wavelength_nm[0] == 380 and reading.wavelength_nm[-1] == 780
    assert reading.luminance_cd_m2 == pytest.approx(bench.pixels[0].luminance_cd_m2(), rel=0.01)


def test_light_meters_state_their_wavelength_axis(station, make_bench):
    """The LightMeter role's ``wavelength_nm``: known before a measurement, and the axis of
    the spectra the meter then returns (CS-2000 380–780 nm at 1 nm, PR-655 at 4 nm)."""
    from instruments.roles import LightMeter

    cs2000 = station.light_meter
    assert isinstance(cs2000, LightMeter)
    np.testing.assert_array_equal(cs2000.wavelength_nm, np.arange(380.0, 781.0, 1.0))
    cs2000.wavelength_nm[:] = 0                          # a copy: the adapter's axis stays
    assert cs2000.wavelength_nm[0] == 380.0
    bench = make_bench(time_scale=50.0)
    bench.pixels[0].apply("VOLT", 3.4, 0.05, True)
    with PR655LightMeter.open(bench.resources["pr655"], timeout_ms=3000) as pr655:
        assert isinstance(pr655, LightMeter)
        axis = pr655.wavelength_nm
        np.testing.assert_array_equal(axis, np.arange(380.0, 781.0, 4.0))
        reading = pr655.measure()
    np.testing.assert_array_equal(reading.wavelength_nm, axis)
    assert reading.spectral_radiance_W_sr_m2_nm.size == axis.size == 101


def test_pr655_spectrum_off_its_axis_is_refused(make_bench, monkeypatch):
    """A spectrum on another grid (a PR-670, another set-up) would be stored against the
    wrong axis: the adapter says so instead."""
    from instruments.photo_research import PR655
    from instruments.roles import InstrumentError

    measure_spectrum = PR655.measure_spectrum

    def two_nm(self):
        wl, radiance = measure_spectrum(self)
        fine = np.arange(380.0, 781.0, 2.0)
        return fine, np.interp(fine, wl, radiance)

    monkeypatch.setattr(PR655, "measure_spectrum", two_nm)
    bench = make_bench(time_scale=50.0)
    bench.pixels[0].apply("VOLT", 3.4, 0.05, True)
    with PR655LightMeter.open(bench.resources["pr655"], timeout_ms=3000) as pr655:
        with pytest.raises(InstrumentError, match="201 wavelengths .*not the PR-655 axis"):
            pr655.measure()


def test_visa_asrl_resource_for_a_serial_meter(make_bench):
    from instruments.konica_minolta import CS2000LightMeter

    bench = make_bench(time_scale=50.0)
    resource = f"ASRL{bench.resources['spectroradiometer']}::INSTR"
    with CS2000LightMeter.open(resource) as meter:
        assert meter.idn.startswith("CS-2000")


def test_toml_station_served_by_another_process(tmp_path):
    out = tmp_path / "station.toml"
    # The server behind `qled sim serve` (tests/simulators/test_serve.py runs the CLI itself).
    proc = subprocess.Popen([sys.executable, "-m", "simulators.serve", "--json",
                             "--no-noise", "--time-scale", "50", "--station-out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        info = json.loads(line)
        with open_station(out, roles=("smu", "light_meter", "photodiode", "lcr")) as st:
            assert st.simulated and st.bench is None
            assert st.clock.time_scale == 50.0
            assert st.truth_file == out.with_suffix(".truth.json")
            assert st.truth()["pixels"][0]["kind"] == "LEDDevice"   # published by the server
            assert st.config["photodiode_calibration"]["source"] == "si_default"
            st.smu.configure_voltage_source(compliance_A=0.02)
            st.smu.output_on()
            point = st.smu.source_voltage_and_measure(3.2)
            assert 1e-6 < point.current_A < 0.02
            assert st.photodiode.read_photocurrent_A() > 0
            assert st.light_meter.measure().luminance_cd_m2 > 1
            assert st.config["light_meter"]["speed"] == "fast"
        assert info["smu"] in out.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
