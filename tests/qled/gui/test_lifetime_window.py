"""The lifetime window with several channels at once (run_channels), offscreen, simulated."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from pymeasure.display.Qt import QtCore  # noqa: E402

from acquisition.store import load_run  # noqa: E402
from procedures.lifetime import LifetimeProcedure  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def lifetime_window(qtbot, tmp_path):
    from qled.gui.windows import QledWindow

    def make(**sim):
        window = QledWindow(LifetimeProcedure, out_dir=tmp_path / "runs",
                            sim_overrides=dict(sim, noise=False))
        qtbot.addWidget(window)
        window.show()
        return window
    return make


def fill(window, **values):
    for name, value in values.items():
        getattr(window.inputs, name).setValue(value)


def wait_for_end(qtbot, window, experiment, timeout_ms=20_000):
    qtbot.waitUntil(lambda: experiment.results.status in ("finished", "aborted", "failed")
                    and not window.manager.is_running(), timeout=timeout_ms)
    qtbot.wait(50)


def test_three_channels_run_at_once_with_a_curve_each(no_leaked_threads, lifetime_window,
                                                      qtbot, tmp_path):
    window = lifetime_window(time_scale=1500.0)
    assert window.inputs.channels.value() == 1
    fill(window, current_density_mA_cm2=50.0, log_interval_s=2.0, max_hours=0.2,
         stop_fraction=0.9, channels=3)
    qtbot.mouseClick(window.queue_button, LEFT)
    assert window.last_error == ""
    experiment = window.manager.experiments[-1]
    wait_for_end(qtbot, window, experiment)
    results = experiment.results
    assert results.status == "finished", results.message

    files = sorted((tmp_path / "runs").glob("*.h5"))
    assert len(files) == 3 and sorted(results.paths) == files
    runs = [load_run(p) for p in results.paths]
    assert [r.attrs["pixel"] for r in runs] == ["1", "2", "3"]
    assert all(r.status == "finished" and len(r.data) >= 2 for r in runs)

    curves = window._curves(experiment)
    spec = window.preset.plots[0]
    assert spec.title == "L/L0-t" and spec.group_by == "channel"
    for c, run in enumerate(runs, start=1):   # one curve per channel, what was stored
        t, rel = curves.data("L/L0-t", float(c))
        np.testing.assert_array_equal(t, run.data["time_s"])
        np.testing.assert_allclose(rel, run.data["relative_luminance_fraction"])
        _, v = curves.data("V-t", float(c))
        np.testing.assert_allclose(v, run.data["voltage_V"])
    assert sorted(curves.series[0]) == [1.0, 2.0, 3.0]

    # the summary shows every channel's report
    assert window.tabs.currentWidget() is window.summary
    assert [p.channel for p in results.parts] == [1, 2, 3]
    assert all(p.report_path is not None and p.report_path.exists() for p in results.parts)
    assert all("lifetime" in load_run(p).analysis for p in results.paths)
    text = window.summary.header.text()
    assert all(p.name in text for p in files)
    assert window.summary.image_paths


def test_abort_stops_every_channel_and_switches_every_output_off(
        no_leaked_threads, lifetime_window, qtbot):
    window = lifetime_window(time_scale=100.0)
    fill(window, current_density_mA_cm2=50.0, log_interval_s=1.0, max_hours=10.0,
         stop_fraction=0.1, channels=3)
    experiment = window.queue()
    assert experiment is not None, window.last_error
    curves = window._curves(experiment)
    # live: rows of all three channels reach their own curves during the run
    qtbot.waitUntil(lambda: all(len(curves.data("L/L0-t", float(c))[0]) >= 2
                                for c in (1, 2, 3)), timeout=15_000)
    worker = experiment.results.worker
    bench = worker.station.bench
    smus = [bench.instrument("smu", c) for c in (1, 2, 3)]
    assert all(smu.output is True for smu in smus)
    assert all(p.current_A > 0 for p in bench.pixels)

    qtbot.mouseClick(window.abort_button, LEFT)
    assert all(smu.output is False for smu in smus)       # at once, from the GUI thread
    wait_for_end(qtbot, window, experiment)
    results = experiment.results
    assert results.status == "aborted", results.message
    assert len(results.paths) == 3
    for path in results.paths:
        run = load_run(path)
        assert run.status == "aborted" and len(run.data) >= 2
    assert all(smu.output is False for smu in smus)
    assert all(p.current_A == 0.0 for p in bench.pixels)


def test_channels_beyond_the_last_pixel_are_refused_before_anything_runs(
        lifetime_window, qtbot, tmp_path):
    window = lifetime_window(time_scale=1500.0)
    fill(window, current_density_mA_cm2=50.0, pixel=63, channels=3)
    assert window.queue() is None
    assert window.last_error == ("pixel = 63 with channels = 3 is out of range: channel k is "
                                 "pixel 63+k-1, so allowed 1 … 62")
    assert "Not queued" in window.statusBar().currentMessage()
    assert len(window.manager.experiments.queue) == 0 and not window.manager.is_running()
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").glob("*.h5"))


def test_one_channel_runs_the_plain_procedure(lifetime_window):
    window = lifetime_window(time_scale=1500.0)
    fill(window, current_density_mA_cm2=50.0, channels=1)
    procedure = window.make_procedure()
    assert type(procedure) is LifetimeProcedure
    fill(window, channels=2)
    several = window.make_procedure()
    assert several.channels == 2 and [v["pixel"] for v in several.channel_values] == [1, 2]
