"""Procedures against a bench served by ``qled sim serve --station-out`` in another process.

The README's cross-process rehearsal (``qled sim serve … --station-out bench.toml`` then
``qled run … --station bench.toml``): the run finishes, and its ``/truth`` is what the
serving process's bench reports (published in ``bench.truth.json``), the same as an
in-process bench of the same options reports, and current (the ageing a previous run caused
is in the next run's truth).
"""
from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from acquisition.runner import run_procedure
from acquisition.store import load_run
from instruments.simulated import read_served_truth
from instruments.station import Station
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure
from simulators.bench import Bench
from simulators.serve import TruthPublisher, truth_path

ROOT = Path(__file__).resolve().parents[2]
TIME_SCALE = 200.0


def assert_same_tree(got, want, path="truth"):
    """Same keys, same strings/bools, numbers within 1e-12 relative (JSON round trip)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), path
        for key in want:
            assert_same_tree(got[key], want[key], f"{path}/{key}")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), path
        for n, (g, w) in enumerate(zip(got, want)):
            assert_same_tree(g, w, f"{path}[{n}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        if math.isnan(want):
            assert math.isnan(float(got)), path
        else:
            assert float(got) == pytest.approx(want, rel=1e-12, abs=1e-300), path
    else:
        assert got == want, path


@pytest.fixture
def served(tmp_path):
    station = tmp_path / "bench.toml"
    proc = subprocess.Popen([sys.executable, "-m", "qled", "sim", "serve", "--json",
                             "--no-noise", "--time-scale", str(TIME_SCALE),
                             "--station-out", str(station)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        yield station, json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def run_jvl(station, out_dir, **values):
    base = {"station": str(station), "sample": "served", "light_route": "photodiode",
            "start_voltage_V": 2.0, "stop_voltage_V": 3.0, "step_voltage_V": 0.1,
            "dwell_s": 0.0, "nplc": 0.1, "directions": "forward"}
    base.update(values)
    proc = build_procedure(JVLProcedure, base)
    return run_procedure(proc, out_dir, flush_interval_s=0.2, handle_signals=False)


def test_jvl_against_a_served_station_records_the_served_truth(served, tmp_path):
    station, info = served
    assert info["truth_file"] == str(truth_path(station).resolve())
    assert 'truth_file = "bench.truth.json"' in station.read_text()

    first = run_jvl(station, tmp_path / "runs1")
    assert first.status == "finished", first.message
    assert first.rows == 11
    run = load_run(first.path)
    assert len(run.data) == 11 and (run.data["current_A"] > 0).all()
    assert run.attrs["simulated"] in (True, 1, "true")
    assert run.truth is not None, "the served bench's truth was not recorded"

    # The same device an in-process bench of the same options holds (fresh: nothing drove
    # the served pixel before the first run).
    with Bench(seed=0, noise=False, time_scale=TIME_SCALE, device_preset="passivated") as ref:
        want = json.loads(json.dumps(ref.truth()))
    assert run.truth["pixels"][0]["kind"] == "LEDDevice"
    assert_same_tree(run.truth["pixels"], want["pixels"])
    assert_same_tree(run.truth["photodiode"], want["photodiode"])
    assert run.truth["bench"]["selected_pixel"] == want["bench"]["selected_pixel"] == 0
    assert run.truth["bench"]["time_scale"] == TIME_SCALE
    assert run.truth["pixels"][0]["device"]["ageing_state"]["equivalent_age"] == 0.0

    # A second run right after: its truth holds the ageing the first run caused (the
    # served truth is re-read at run start, not a snapshot from when the server started).
    second = run_jvl(station, tmp_path / "runs2")
    assert second.status == "finished", second.message
    aged = load_run(second.path).truth["pixels"][0]["device"]
    assert aged["ageing_state"]["equivalent_age"] > 0.0
    assert aged["parameters"] == run.truth["pixels"][0]["device"]["parameters"]


def test_truth_file_is_refreshed_and_read_only_when_fresh(tmp_path):
    """``read_served_truth`` waits for a snapshot taken after the call; the publisher rewrites
    the file when the truth changed (the device aged)."""
    with Bench(noise=False) as bench:
        publisher = TruthPublisher(bench, tmp_path / "b.truth.json")
        publisher.create()
        with pytest.raises(FileExistsError):
            TruthPublisher(bench, publisher.path).create()       # never overwrites
        bench.pixels[0].device.age(3600.0, 1e-3)                  # an hour at 1 mA
        aged = bench.pixels[0].device.equivalent_age
        assert aged > 0

        timer = threading.Timer(0.3, publisher.publish)
        t0 = time.monotonic()
        timer.start()
        try:
            truth = read_served_truth(publisher.path)
        finally:
            timer.join()
        assert time.monotonic() - t0 >= 0.25                      # waited for the snapshot
        assert truth["pixels"][0]["device"]["ageing_state"]["equivalent_age"] == aged
        assert_same_tree(truth, json.loads(json.dumps(bench.truth())))

        # Nobody refreshing the file (the server stopped): a clear error, not a stale truth.
        with pytest.raises(RuntimeError, match="not refreshed for 0.1 s"):
            read_served_truth(publisher.path, timeout_s=0.1)


def test_no_truth_is_recorded_rather_than_failing(tmp_path):
    """A simulated station without a truth file gives None; an unreadable truth file gives
    None and a warning event (the run goes on without /truth)."""
    assert Station(simulated=True).truth() is None
    proc = build_procedure(JVLProcedure, {"station": "unused.toml", "light_route": "none"})
    emitted = []
    proc.emit = lambda topic, record: emitted.append((topic, record))   # as the run engine
    st = Station(simulated=True, truth_file=tmp_path / "gone.truth.json")
    assert proc._simulated_truth(st) is None
    assert proc._events[-1]["level"] == "warning"
    assert "no simulated truth recorded" in proc._events[-1]["message"]
    assert "gone.truth.json" in proc._events[-1]["message"]
    assert emitted == [("event", proc._events[-1])]                      # → /events
    assert proc._simulated_truth(Station(simulated=False)) is None


def test_truth_file_needs_a_simulated_station(tmp_path):
    from instruments.station import StationConfigError, load_config

    path = tmp_path / "station.toml"
    path.write_text('[station]\ntruth_file = "x.json"\n[smu]\ndriver = "keithley2400"\n'
                    'resource = "GPIB0::24::INSTR"\n')
    with pytest.raises(StationConfigError) as info:
        load_config(path, roles=("smu",))
    assert info.value.errors == ["[station] truth_file applies to a simulated bench only "
                                 "(simulated = true, as `qled sim serve --station-out` writes)"]
