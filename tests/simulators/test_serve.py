"""``qled sim serve --json`` in a subprocess: parse, talk, SIGTERM, clean exit."""
import json
import signal
import socket
import subprocess
import sys

import pytest


def test_serve_json_and_station(tmp_path):
    station = tmp_path / "station.toml"
    proc = subprocess.Popen([sys.executable, "-m", "qled", "sim", "serve", "--json",
                             "--no-noise", "--time-scale", "10", "--station-out", str(station)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["pid"] == proc.pid and info["channels"] == 1 and info["time_scale"] == 10
        _, host, port, _ = info["smu"].split("::")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"*IDN?\n")
            assert s.makefile("rb").readline().startswith(b"KEITHLEY")
        import tomllib
        cfg = tomllib.loads(station.read_text())
        assert cfg["smu"]["resource"] == info["smu"] and cfg["lcr"]["option_001"] is True
        assert cfg["photodiode"]["radius_mm"] == 5.0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()


def test_station_out_refuses_overwrite(tmp_path):
    # Refused before any bench starts (the qled CLI turns the error into exit code 2).
    from simulators.serve import main
    station = tmp_path / "exists.toml"
    station.write_text("x")
    with pytest.raises(FileExistsError, match="exists.toml already exists: choose a new file name"):
        main(["--json", "--station-out", str(station)])
    assert station.read_text() == "x"


def test_serve_with_bias_tee_writes_a_smu_biased_lcr_station(tmp_path):
    """--lcr-bias-tee: a standard E4980A biased by the 2400 through a tee, across processes."""
    import tomllib

    from instruments.station import open_station

    station = tmp_path / "tee.toml"
    proc = subprocess.Popen([sys.executable, "-m", "qled", "sim", "serve", "--json",
                             "--no-noise", "--time-scale", "100", "--lcr-bias-tee",
                             "--station-out", str(station)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        json.loads(proc.stdout.readline())
        cfg = tomllib.loads(station.read_text())
        assert cfg["lcr"]["option_001"] is False and cfg["lcr"]["bias_source"] == "smu"
        with open_station(station, roles=("smu", "lcr")) as st:
            assert st.lcr.bias_source == "external"
            st.lcr.configure(function="CPG", frequency_Hz=1e5, level_Vrms=0.02)
            c0 = st.lcr.measure().capacitance_F
            st.lcr.set_bias(-1.0)                # through the SMU: allowed on a standard unit
            c_reverse = st.lcr.measure().capacitance_F
            st.lcr.bias_off()
        assert 0 < c_reverse < c0                # reverse bias widens the depletion region
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
