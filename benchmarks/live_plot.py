"""Live-plot refresh at 10^6 rows: qled's incremental + decimated path vs PyMeasure's CSV path.

qled (``qled.gui``): each refresh appends the new rows to the curve's buffer, takes
the min/max decimation of the new buckets (cached for the old ones) and hands at most
``DISPLAY_POINTS`` points to pyqtgraph, then the plot repaints.

PyMeasure 0.16 (``ManagedWindow``): each 0.2 s refresh reads ``Results.data`` from the run's
CSV and calls ``setData`` with every row. Two variants are timed: a full re-read of the CSV
(``Results.reload``, as when a run is (re)loaded) and the incremental read PyMeasure does
while a run grows (``read_csv(skiprows=n)`` still scans the n old lines, then a ``concat``
copies the frame), each followed by ``setData`` of all rows and a repaint.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/live_plot.py [--rows N]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


def _plot(app):
    import pyqtgraph as pg

    widget = pg.PlotWidget()
    widget.resize(1000, 600)
    widget.show()
    item = widget.plot(pen=pg.mkPen("b"))
    app.processEvents()
    return widget, item


def time_qled(app, n_rows: int, new_per_refresh: int, refreshes: int) -> list[float]:
    from qled.gui.live import DecimatedSeries

    widget, item = _plot(app)
    rng = np.random.default_rng(0)
    t = np.arange(n_rows + new_per_refresh * refreshes, dtype=float)
    y = np.exp(-t / 3e6) + 1e-3 * rng.normal(size=len(t))
    series = DecimatedSeries()
    series.extend(t[:n_rows], y[:n_rows])
    item.setData(*series.display())  # the run so far is on screen
    app.processEvents()
    times = []
    for k in range(refreshes):
        a = n_rows + k * new_per_refresh
        t0 = time.perf_counter()
        series.extend(t[a:a + new_per_refresh], y[a:a + new_per_refresh])
        item.setData(*series.display())
        widget.viewport().repaint()
        times.append(time.perf_counter() - t0)
    widget.close()
    return times


def _csv_results(path: Path, n_rows: int):
    import pandas as pd
    from pymeasure.experiment import Procedure, Results

    class Demo(Procedure):
        DATA_COLUMNS = ["time_s", "voltage_V", "current_A", "luminance_cd_m2"]

    results = Results(Demo(), str(path))  # writes the commented header and the labels
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.random(n_rows) for c in Demo.DATA_COLUMNS})
    frame["time_s"] = np.arange(n_rows, dtype=float)
    frame.to_csv(path, mode="a", header=False, index=False)
    return results, Demo.DATA_COLUMNS


def time_pymeasure(app, n_rows: int, new_per_refresh: int, refreshes: int, folder: Path):
    path = folder / "pymeasure.csv"
    results, cols = _csv_results(path, n_rows)
    widget, item = _plot(app)
    full, incremental = [], []
    for _ in range(refreshes):
        t0 = time.perf_counter()
        results.reload()
        data = results._data
        item.setData(data["time_s"].to_numpy(), data["luminance_cd_m2"].to_numpy())
        widget.viewport().repaint()
        full.append(time.perf_counter() - t0)
    rng = np.random.default_rng(1)
    for k in range(refreshes):
        with open(path, "a") as f:  # the Recorder appends rows as they come
            block = rng.random((new_per_refresh, len(cols)))
            np.savetxt(f, block, delimiter=",", fmt="%.9g")
        t0 = time.perf_counter()
        data = results.data
        item.setData(data["time_s"].to_numpy(), data["luminance_cd_m2"].to_numpy())
        widget.viewport().repaint()
        incremental.append(time.perf_counter() - t0)
    widget.close()
    return full, incremental


def time_qled_from_store(app, n_rows: int, new_per_refresh: int, refreshes: int,
                         folder: Path) -> list[float]:
    """The whole live path while a run grows: the run file holds ``n_rows`` rows, a writer
    commits ``new_per_refresh`` more before each refresh (not timed), and each timed refresh
    is ``LiveReader.poll`` (new rows only) + decimated ``extend`` + ``setData`` + repaint."""
    from acquisition.store import LiveReader, RunWriter
    from qled.gui.live import DecimatedSeries

    cols = ["time_s", "voltage_V", "current_A", "luminance_cd_m2"]
    writer = RunWriter.create(folder, procedure="bench:Live", sample="live", columns=cols,
                              background_flush=False)
    rng = np.random.default_rng(0)
    block = 100_000
    for a in range(0, n_rows, block):
        m = min(block, n_rows - a)
        writer.append_batch({"time_s": np.arange(a, a + m, dtype=float),
                             "voltage_V": rng.random(m), "current_A": rng.random(m),
                             "luminance_cd_m2": np.exp(-np.arange(a, a + m) / 3e6)})
        writer.flush()
    widget, item = _plot(app)
    reader = LiveReader(writer.path)
    series = DecimatedSeries()
    first = reader.poll()                    # the run so far is on screen
    series.extend(first["time_s"].to_numpy(), first["luminance_cd_m2"].to_numpy())
    item.setData(*series.display())
    app.processEvents()
    times = []
    t_next = float(n_rows)
    try:
        for _ in range(refreshes):
            t = t_next + np.arange(new_per_refresh, dtype=float)
            t_next += new_per_refresh
            writer.append_batch({"time_s": t, "luminance_cd_m2": np.exp(-t / 3e6)})
            writer.flush()
            t0 = time.perf_counter()
            new = reader.poll()
            series.extend(new["time_s"].to_numpy(), new["luminance_cd_m2"].to_numpy())
            item.setData(*series.display())
            widget.viewport().repaint()
            times.append(time.perf_counter() - t0)
            assert len(new) == new_per_refresh
    finally:
        writer.finish()
        widget.close()
    return times


def measure(rows: int = 1_000_000, new: int = 100, refreshes: int = 20) -> dict:
    """Median refresh times [ms] at ``rows`` rows: ours (from the growing run file, and
    in-memory only) vs PyMeasure's CSV full re-read and incremental read."""
    from pymeasure.display.Qt import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        store = time_qled_from_store(app, rows, new, refreshes, Path(tmp))
        memory = time_qled(app, rows, new, refreshes)
        full, incr = time_pymeasure(app, rows, new, max(3, refreshes // 4), Path(tmp))
    return {"rows": rows, "new_rows_per_refresh": new,
            "qled_store_to_screen_ms": med(store) * 1e3,
            "qled_store_to_screen_max_ms": max(store) * 1e3,
            "qled_in_memory_ms": med(memory) * 1e3,
            "csv_full_reread_ms": med(full) * 1e3,
            "csv_incremental_read_ms": med(incr) * 1e3}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=100, help="rows added per refresh")
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args(argv)
    from pymeasure.display.Qt import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    ours = time_qled(app, args.rows, args.new, args.refreshes * 5)
    with tempfile.TemporaryDirectory() as tmp:
        full, incr = time_pymeasure(app, args.rows, args.new, max(3, args.refreshes // 4),
                                    Path(tmp))
    med = statistics.median
    q = med(ours) * 1e3
    print(f"rows on screen: {args.rows:,} (+{args.new} per refresh)")
    print(f"qled incremental + min/max decimation: median {q:7.2f} ms, "
          f"max {max(ours) * 1e3:7.2f} ms  (budget 20 ms)")
    print(f"PyMeasure CSV, full re-read + setData: median {med(full) * 1e3:7.1f} ms "
          f"-> ratio {med(full) * 1e3 / q:6.0f}x")
    print(f"PyMeasure CSV, incremental read + setData: median {med(incr) * 1e3:7.1f} ms "
          f"-> ratio {med(incr) * 1e3 / q:6.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
