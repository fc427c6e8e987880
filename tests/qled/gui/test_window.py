"""The technician's window, offscreen, against the simulated bench (pytest-qt)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from pymeasure.display.Qt import QtCore  # noqa: E402

from acquisition.store import load_run  # noqa: E402
from procedures.base import build_procedure  # noqa: E402
from qled.kinds import kinds  # noqa: E402
from procedures.jvl import JVLProcedure  # noqa: E402
from simulators.device import LEDDevice  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def make_window(qtbot, tmp_path):
    from qled.gui.windows import QledWindow

    def make(cls=JVLProcedure, **kwargs):
        kwargs.setdefault("out_dir", tmp_path / "runs")
        window = QledWindow(cls, **kwargs)
        qtbot.addWidget(window)  # closed (runs aborted, threads joined) after the test
        window.show()
        return window
    return make


def fill_jvl(window, qtbot, **values):
    """Type the sample name and set the sweep like a technician would."""
    window.inputs.sample.clear()
    qtbot.keyClicks(window.inputs.sample, values.pop("sample", "QD-17"))
    for name, value in values.items():
        getattr(window.inputs, name).setValue(value)


def wait_for_end(qtbot, window, experiment, timeout_ms=20_000):
    qtbot.waitUntil(lambda: experiment.results.status in ("finished", "aborted", "failed")
                    and not window.manager.is_running(), timeout=timeout_ms)
    qtbot.wait(50)  # let the end-of-run slot (re-read from file, summary) run


@pytest.mark.parametrize("name", sorted(kinds()))
def test_window_opens_for_every_procedure(make_window, name):
    cls = kinds()[name].procedure
    window = make_window(cls)
    params = cls().parameter_objects()
    for pname, param in params.items():   # every parameter is an input, units shown
        widget = getattr(window.inputs, pname)
        if getattr(param, "units", None):
            assert widget.suffix().strip() == param.units
    assert window.plots.plot_items, "no live plot"
    for spec, plot in zip(window.preset.plots, window.plots.plot_items):
        assert plot.getAxis("left").labelText == spec.y_label
        assert plot.getAxis("bottom").labelText == spec.x_label
    assert window.inputs.station.value() == "sim"


def test_jvl_run_records_hdf5_and_plots_what_was_stored(no_leaked_threads, make_window, qtbot,
                                                        tmp_path, sim_station):
    probe = build_procedure(JVLProcedure, {})
    station = sim_station(probe, time_scale=300)
    window = make_window(station_object=station)
    fill_jvl(window, qtbot, start_voltage_V=2.0, stop_voltage_V=4.0, step_voltage_V=0.5,
             dwell_s=0.0)
    qtbot.mouseClick(window.queue_button, LEFT)
    assert window.last_error == ""
    experiment = window.manager.experiments[-1]
    wait_for_end(qtbot, window, experiment)
    results = experiment.results

    assert results.status == "finished", results.message
    run = load_run(results.path)
    assert run.status == "finished" and run.attrs["sample"] == "QD-17"
    v = run.data["voltage_V"].to_numpy()
    np.testing.assert_allclose(v, [2, 2.5, 3, 3.5, 4, 4, 3.5, 3, 2.5, 2], atol=1e-6)
    assert run.parameters["step_voltage_V"]["value"] == pytest.approx(0.5)

    curves = window._curves(experiment)
    x, y = curves.data("J-V")
    np.testing.assert_array_equal(x, v)
    np.testing.assert_allclose(y, np.abs(run.data["current_density_mA_cm2"]), rtol=1e-12)
    _, lum = curves.data("L-V")
    np.testing.assert_allclose(lum, run.data["luminance_cd_m2"], rtol=1e-12)
    # EQE per point against the simulated device's true EQE at the measured J: the first
    # forward points, before the pixel has aged (at 300x it loses ~2 % of L by 4 V)
    j, eqe = curves.data("EQE-J")
    fresh = LEDDevice(station.bench.pixels[0].device.params)
    lit = np.flatnonzero(np.isfinite(eqe))
    assert len(lit) >= 6
    first = lit[:3]
    np.testing.assert_allclose(eqe[first], 100 * fresh.eqe_fraction(j[first]), rtol=2e-3)
    # what is on screen is the same data (fewer points than the decimation limit)
    item = next(i for k, i in curves.items() if k == 0)
    np.testing.assert_array_equal(item.yData, y)
    np.testing.assert_allclose(10 ** item.getData()[1], y, rtol=1e-12)  # log axis

    # the record is the HDF5 file: no CSV anywhere, report figures beside the file
    assert not list(tmp_path.rglob("*.csv"))
    assert window.tabs.currentWidget() is window.summary
    assert window.summary.image_paths
    assert all(p.parent == results.path.parent and p.exists()
               for p in window.summary.image_paths)
    assert "jvl" in load_run(results.path).analysis
    assert station.bench.instrument("smu").output is False


def test_abort_switches_the_output_off_at_once(no_leaked_threads, make_window, qtbot,
                                               sim_station):
    probe = build_procedure(JVLProcedure, {})
    station = sim_station(probe, time_scale=100)   # dwell 60 s simulated = 0.6 s wall
    window = make_window(station_object=station)
    fill_jvl(window, qtbot, start_voltage_V=2.5, stop_voltage_V=5.0, step_voltage_V=0.5,
             dwell_s=60.0)
    qtbot.mouseClick(window.queue_button, LEFT)
    experiment = window.manager.experiments[-1]
    curves = window._curves(experiment)
    qtbot.waitUntil(lambda: len(curves.data("J-V")[0]) >= 1, timeout=15_000)
    smu = station.bench.instrument("smu")
    assert smu.output is True and station.bench.pixels[0].current_A > 0

    qtbot.mouseClick(window.abort_button, LEFT)
    # off now, while the worker is still inside the dwell of the next point
    assert window.manager.is_running()
    assert smu.output is False
    assert station.bench.pixels[0].current_A == 0.0

    wait_for_end(qtbot, window, experiment)
    assert experiment.results.status == "aborted", experiment.results.message
    run = load_run(experiment.results.path)
    assert run.status == "aborted"
    assert 1 <= len(run.data) < 6
    assert any("abort" in m for m in run.events["message"])


def test_bad_input_is_refused_before_anything_is_sourced(make_window, qtbot, tmp_path,
                                                         sim_station, monkeypatch):
    probe = build_procedure(JVLProcedure, {})
    station = sim_station(probe)
    calls = []
    for method in ("output_on", "set_voltage", "configure_voltage_source",
                   "source_voltage_and_measure"):
        monkeypatch.setattr(station.smu, method,
                            lambda *a, _m=method, **k: calls.append(_m))
    window = make_window(station_object=station)
    fill_jvl(window, qtbot, start_voltage_V=3.0, stop_voltage_V=3.0)
    qtbot.mouseClick(window.queue_button, LEFT)
    qtbot.wait(300)
    assert "stop_voltage_V" in window.last_error
    assert "Not queued" in window.statusBar().currentMessage()
    assert len(window.manager.experiments.queue) == 0 and not window.manager.is_running()
    assert calls == []
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    # a step larger than the span is refused with the allowed range
    fill_jvl(window, qtbot, start_voltage_V=0.0, stop_voltage_V=1.0, step_voltage_V=2.0)
    assert window.queue() is None
    assert "step_voltage_V = 2 is out of range: allowed 0.001 … 1 V" in window.last_error


def test_earlier_run_is_browsed_with_curves_and_summary(make_window, qtbot, tmp_path):
    from acquisition.runner import run_procedure

    proc = build_procedure(JVLProcedure, {"start_voltage_V": 2.0, "stop_voltage_V": 3.5,
                                          "step_voltage_V": 0.5, "dwell_s": 0.0,
                                          "directions": "forward"})
    proc.sim_overrides = {"time_scale": 1e5, "noise": False}
    result = run_procedure(proc, tmp_path / "old", handle_signals=False)
    window = make_window()
    experiment = window.open_run(result.path)
    x, y = window._curves(experiment).data("J-V")
    run = load_run(result.path)
    np.testing.assert_array_equal(x, run.data["voltage_V"])
    np.testing.assert_allclose(y, np.abs(run.data["current_density_mA_cm2"]))
    assert experiment.browser_item.text(1) == result.path.name
    assert window.summary.image_paths and window.summary._images
    with pytest.raises(ValueError, match="already open"):
        window.open_run(result.path)
