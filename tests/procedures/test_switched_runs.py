"""Runs on a switched simulated substrate: the right pixel's physics, and the switching rules
(one pixel per bus, one bus per pixel, relays moved only with the outputs off, every relay
open after finish, abort, exception and SIGTERM) proved from the simulator's relay log."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acquisition.runner import RunEngine
from acquisition.store import load_run
from instruments.simulated import build_device, pixel_device_spec
from instruments.station import open_station
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure
from procedures.lifetime_channels import run_channels
from reports.jvl import analyze_jvl_run
from reports.lifetime import analyze_run
from simulators.switch_matrix import violations

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: shared helpers
from bench_runs import outputs_left_on, run_on_bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
JVL = {"station": "sim", "sample": "sub", "start_voltage_V": 2.0, "stop_voltage_V": 4.5,
       "step_voltage_V": 0.05, "dwell_s": 0.0, "nplc": 0.1, "directions": "forward",
       "light_route": "photodiode", "spectrum_every": 0}


def assert_safe(bench):
    assert bench.matrix.closed() == [], "relays left closed"
    if bench._channels:                      # still serving: ask the instruments
        assert outputs_left_on(bench) == []
    assert all(p.current_A == 0.0 for p in bench.pixels), "a pixel still carries current"
    assert violations(bench.relay_log) == []
    assert bench.relay_log, "the switch never moved"


@pytest.mark.parametrize("model", ["keithley7001", "relay_box"])
def test_jvl_of_pixel_3_records_pixel_3s_truth(tmp_path, model):
    result, run, bench = run_on_bench(JVLProcedure, dict(JVL, pixel=3), tmp_path, overrides={
        "time_scale": 200.0, "noise": False, "switch": model})
    assert result.status == "finished", result.message
    routing = run.attrs["station"]["routing"]
    assert routing["pixel"] == 3 and routing["bus"] == 1 and routing["connections"] == {"1": 3}
    assert routing["model"] == model
    assert any("pixel 3 connected to bus 1" in m for m in run.events["message"])
    pixels = run.truth["pixels"]
    assert len(pixels) == 4
    mine = pixels[2]["device"]
    s = analyze_jvl_run(run)
    ce = s["max_current_efficiency_cd_A"]
    assert ce == pytest.approx(mine["current_efficiency_max_cd_A"], rel=0.03)
    assert s["turn_on_voltage_V"] == pytest.approx(mine["turn_on_voltage_V"], rel=0.01)
    # The measured I(V) is pixel 3's (noise off: to the ageing of the sweep), and pixel 2,
    # the neighbour a wrong relay would have measured, is > 3 % away (6x the tolerance).
    devices = {k: build_device(pixel_device_spec("passivated", k, 0.04)) for k in (2, 3)}
    v, i = run.data["voltage_V"].to_numpy(), run.data["current_A"].to_numpy()
    pick = (v >= 2.9) & (v <= 3.2)      # before the sweep has aged the pixel measurably
    assert i[pick] == pytest.approx(devices[3].current_A(v[pick]), rel=5e-3)
    assert (abs(devices[2].current_A(v[pick]) / i[pick] - 1) > 0.03).all()   # 6x the tolerance
    # the relay of bus 1 closed on pixel 3 only, with the output off, and opened at the end
    closes = [c for c in bench.relay_log if c.action == "close"]
    assert [(c.bus, c.pixel) for c in closes] == [(1, 3)]
    assert_safe(bench)


def _stopped_run(tmp_path, stop):
    """A J-V-L of pixel 2 on a station the test holds; ``stop(engine)`` at the 5th point."""
    station = open_station("sim", roles=("smu", "photodiode"), sim_options={
        "time_scale": 200.0, "noise": False, "switch": "keithley7001", "pixels": 4})
    bench = station.bench
    try:
        proc = build_procedure(JVLProcedure, dict(JVL, pixel=2, step_voltage_V=0.01,
                                                  stop_voltage_V=6.0), station_object=station)
        seen = []

        def on_emit(topic, record):
            if topic == "results":
                seen.append(record)
                if len(seen) == 5:
                    stop(engine)

        engine = RunEngine(proc, tmp_path, on_emit=on_emit, flush_interval_s=0.2)
        result = engine.run(handle_signals=False)
        # the procedure itself opened its bus (the station is still open)
        assert station.switch.connections() == {}
        assert_safe(bench)
    finally:
        station.close()
    assert_safe(bench)
    return result


def test_abort_opens_the_relay_after_the_output(tmp_path):
    result = _stopped_run(tmp_path, lambda engine: engine.stop())
    assert result.status == "aborted"


def test_exception_opens_the_relay_after_the_output(tmp_path):
    def fail(engine):
        raise RuntimeError("simulated failure mid-sweep")
    result = _stopped_run(tmp_path, fail)
    assert result.status == "failed"


_CHILD = """
import sys
from acquisition.runner import run_procedure
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure
values = dict(station=sys.argv[1], sample="sub", pixel=3, start_voltage_V=2.0,
              stop_voltage_V=6.0, step_voltage_V=0.002, dwell_s=0.05, nplc=0.1,
              directions="forward", light_route="photodiode", spectrum_every=0)
print(run_procedure(build_procedure(JVLProcedure, values), sys.argv[2]).status, flush=True)
"""


def test_sigterm_leaves_outputs_off_and_relays_open(tmp_path):
    """A run in another process, on a bench this test serves: SIGTERM mid-sweep."""
    from simulators.bench import Bench
    from simulators.serve import station_toml

    with Bench(switch="relay_box", pixels=4, noise=False, serial_meters=False) as bench:
        station = tmp_path / "bench.toml"
        station.write_text(station_toml(bench, os.getpid()))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(station), str(tmp_path)],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                    bench.matrix.closed() == [(1, 3)] and bench.instrument("smu").output):
                time.sleep(0.02)
            assert bench.matrix.closed() == [(1, 3)], "the child never connected pixel 3"
            time.sleep(0.3)
            child.send_signal(signal.SIGTERM)
            out, _ = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
        assert "aborted" in out
        assert_safe(bench)


def test_lifetime_channels_each_connect_their_own_pixel(tmp_path):
    values = [{"station": "sim", "sample": "sub", "pixel": p, "l0_cd_m2": 1000.0,
               "log_interval_s": 5.0, "max_hours": 0.6} for p in (3, 1)]
    seen = {}
    results = run_channels(values, tmp_path, handle_signals=False,
                           overrides={"time_scale": 3000.0, "switch": "keithley7001"},
                           on_started=lambda procs, st: seen.update(bench=st.bench))
    assert [r.status for r in results] == ["finished"] * 2, [r.message for r in results]
    bench = seen["bench"]
    for bus, (r, pixel) in enumerate(zip(results, (3, 1)), start=1):
        run = load_run(r.path)
        routing = run.attrs["station"]["routing"]
        assert (routing["pixel"], routing["bus"]) == (pixel, bus)
        assert run.truth["channel_pixel_index"] == pixel - 1
        a = analyze_run(run)
        # photodiode route: an assumed line shape at the nominal peak (±1 nm → ~2-3 %)
        assert a["l0_cd_m2"] == pytest.approx(a["truth_l0_cd_m2"], rel=0.05)
        assert a["t50_h"] == pytest.approx(a["truth_t50_h"], rel=0.03)
    closes = sorted((c.bus, c.pixel) for c in bench.relay_log if c.action == "close")
    assert closes == [(1, 3), (2, 1)]
    assert_safe(bench)


_LEAVER = """
import sys
from instruments.station import open_station
st = open_station(sys.argv[1], roles=("smu",))
st.switch.connect(2)
st.smu.configure_voltage_source(0.01)
st.smu.set_voltage(3.0)
st.smu.output_on()
print("left on", flush=True)
raise SystemExit(0)          # no close: the atexit hook must switch off, then open
"""


def test_interpreter_exit_switches_off_then_opens_the_relays(tmp_path):
    from simulators.bench import Bench
    from simulators.serve import station_toml

    with Bench(switch="keithley7001", pixels=4, noise=False, serial_meters=False) as bench:
        station = tmp_path / "bench.toml"
        station.write_text(station_toml(bench, os.getpid()))
        out = subprocess.run([sys.executable, "-c", _LEAVER, str(station)], cwd=ROOT,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                             text=True, timeout=60)
        assert "left on" in out.stdout, out.stderr
        assert [(c.action, c.pixel, c.output_on) for c in bench.relay_log] == [
            ("close", 2, False), ("open", 2, False)]        # opened after the output went off
        assert_safe(bench)


def test_reports_take_the_truth_of_the_pixel_the_switch_connected(tmp_path):
    from reports.page import measured_pixel_index, pixel_device_truth

    result, run, _ = run_on_bench(JVLProcedure, dict(JVL, pixel=3, light_route="none"),
                                  tmp_path, overrides={"time_scale": 200.0, "noise": False,
                                                       "switch": "relay_box"})
    assert result.status == "finished"
    assert measured_pixel_index(run) == 2
    assert pixel_device_truth(run, "led") == run.truth["pixels"][2]["device"]
    assert pixel_device_truth(run, "led") != run.truth["pixels"][0]["device"]


def test_one_station_many_pixels_never_breaks_the_rules(tmp_path):
    """J-V-L of pixels 1 … 4 in turn on one switched station: each run closes its own
    crosspoint only, and the log of the whole session has no violation."""
    station = open_station("sim", roles=("smu",), sim_options={
        "time_scale": 200.0, "noise": False, "switch": "keithley7001", "pixels": 4})
    bench = station.bench
    try:
        for k in (1, 2, 3, 4, 2):
            proc = build_procedure(JVLProcedure, dict(JVL, pixel=k, light_route="none"),
                                   station_object=station)
            result = RunEngine(proc, tmp_path / f"p{k}", flush_interval_s=0.2).run(
                handle_signals=False)
            assert result.status == "finished", result.message
            assert load_run(result.path).attrs["station"]["routing"]["connections"] == {"1": k}
        assert [(c.action, c.pixel) for c in bench.relay_log] == [
            (a, k) for k in (1, 2, 3, 4, 2) for a in ("close", "open")]
        assert_safe(bench)
    finally:
        station.close()
    assert_safe(bench)
