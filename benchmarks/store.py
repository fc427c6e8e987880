"""Run-store benchmarks: µs per row vs PyMeasure's CSV Results, RSS over 24 h at 10 Hz,
live-reader refresh at 10^6 rows.  Run: ``python benchmarks/store.py [--quick]``."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from queue import Queue

import numpy as np
import pandas as pd
import psutil

from acquisition.store import LiveReader, RunWriter, load_run

COLUMNS = ["time_s", "voltage_V", "current_A", "current_density_mA_cm2", "luminance_cd_m2",
           "cie_x"]


def rows(n):
    rng = np.random.default_rng(0)
    vals = rng.random((n, len(COLUMNS)))
    return [dict(zip(COLUMNS, map(float, r))) for r in vals]


def store_us_per_row(folder, data):
    t0 = time.perf_counter()
    w = RunWriter.create(folder, procedure="bench:P", sample="bench", columns=COLUMNS)
    for r in data:
        w.append(r)
    w.finish()
    return (time.perf_counter() - t0) / len(data) * 1e6, w.path


def pymeasure_us_per_row(folder, data):
    from pymeasure.experiment import Procedure, Results
    from pymeasure.experiment.listeners import Recorder

    class P(Procedure):
        DATA_COLUMNS = COLUMNS
    path = Path(folder) / "pm.csv"
    t0 = time.perf_counter()
    results = Results(P(), str(path))
    recorder = Recorder(results, Queue())  # what Worker.handle_record calls per record
    recorder.start()
    for r in data:
        recorder.handle(r)
    recorder.stop()
    return (time.perf_counter() - t0) / len(data) * 1e6, path


def rss_growth_mb(folder, n):
    me = psutil.Process()
    w = RunWriter.create(folder, procedure="bench:P", sample="rss", columns=COLUMNS)
    row = dict.fromkeys(COLUMNS, 1.0)
    for i in range(20_000):
        row["time_s"] = i * 0.1
        w.append(row)
    base = me.memory_info().rss
    peak = base
    for i in range(20_000, n):
        row["time_s"] = i * 0.1
        w.append(row)
        if i % 50_000 == 0:
            peak = max(peak, me.memory_info().rss)
    w.finish()
    return (max(peak, me.memory_info().rss) - base) / 1e6


def refresh(folder, n, csv_path):
    w = RunWriter.create(folder, procedure="bench:P", sample="live", columns=COLUMNS,
                         background_flush=False)
    block = {c: np.random.default_rng(1).random(100_000) for c in COLUMNS}
    for _ in range(n // 100_000):
        w.append_batch(block)
        w.flush()
    reader = LiveReader(w.path)
    reader.poll()
    times = []
    for k in range(20):
        w.append_batch({c: np.arange(10.0) for c in COLUMNS})
        w.flush()
        t0 = time.perf_counter()
        new = reader.poll()
        times.append(time.perf_counter() - t0)
        assert len(new) == 10
    t0 = time.perf_counter()
    load_run(w.path)
    full = time.perf_counter() - t0
    t0 = time.perf_counter()
    pd.read_csv(csv_path, comment="#")
    csv = time.perf_counter() - t0
    w.finish()
    return float(np.median(times)) * 1e3, full * 1e3, csv * 1e3


def _row_pool(size: int = 10_000) -> list[dict]:
    # A pool of distinct rows reused cyclically: the figure is the store's cost per row, not
    # the cost of building 864,000 dicts (both writers copy a row's values at once).
    return rows(size)


def _timed_with_rss(write_rows, n: int, pool: list[dict]) -> tuple[float, float]:
    """(µs per row, RSS growth in MB) of ``write_rows(row_iterator)`` over ``n`` rows.

    The baseline RSS is taken after the first 20,000 rows (buffers, chunk caches and the
    flush thread exist by then); the peak is sampled every 50,000 rows and at the end.
    """
    me = psutil.Process()
    state = {"base": None, "peak": 0}

    def feed():
        size = len(pool)
        for i in range(n):
            if i == 20_000:
                state["base"] = state["peak"] = me.memory_info().rss
            elif i % 50_000 == 0 and state["base"] is not None:
                state["peak"] = max(state["peak"], me.memory_info().rss)
            yield pool[i % size]

    t0 = time.perf_counter()
    write_rows(feed())
    elapsed = time.perf_counter() - t0
    base = state["base"] if state["base"] is not None else me.memory_info().rss
    peak = max(state["peak"], me.memory_info().rss)
    return elapsed / n * 1e6, (peak - base) / 1e6


def qled_store_run(folder, n: int, pool: list[dict]) -> tuple[float, float]:
    """``RunWriter`` (default 1 s flush interval, journal on): (µs/row, RSS growth MB)."""
    def write(it):
        w = RunWriter.create(folder, procedure="bench:P", sample="rss", columns=COLUMNS)
        for r in it:
            w.append(r)
        w.finish()
    return _timed_with_rss(write, n, pool)


def pymeasure_csv_run(folder, n: int, pool: list[dict], name: str = "pm") -> tuple[float, float]:
    """PyMeasure 0.16 ``Results`` + ``Recorder`` (what ``Worker`` does per record)."""
    from pymeasure.experiment import Procedure, Results
    from pymeasure.experiment.listeners import Recorder

    class P(Procedure):
        DATA_COLUMNS = COLUMNS

    def write(it):
        results = Results(P(), str(Path(folder) / f"{name}.csv"))
        recorder = Recorder(results, Queue())
        recorder.start()
        for r in it:
            recorder.handle(r)
        recorder.stop()
    return _timed_with_rss(write, n, pool)


def measure(n_rows: int = 864_000, repeats: int = 3) -> dict:
    """Store cost and RSS growth over ``n_rows`` rows (24 h at 10 Hz) vs PyMeasure's CSV.

    The two writers alternate ``repeats`` times (a load burst on the shared machine hits
    both alike); figures are medians, the ratio is the median of per-pair ratios.
    """
    import statistics

    pool = _row_pool()
    ours, csv, ratios = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            sub = Path(tmp) / f"r{k}"
            sub.mkdir()
            if k % 2:
                c = pymeasure_csv_run(sub, n_rows, pool)
                o = qled_store_run(sub, n_rows, pool)
            else:
                o = qled_store_run(sub, n_rows, pool)
                c = pymeasure_csv_run(sub, n_rows, pool)
            ours.append(o)
            csv.append(c)
            ratios.append(o[0] / c[0])
            for f in sub.iterdir():   # keep the temporary folder small between repeats
                f.unlink()
    med = statistics.median
    return {"rows": n_rows, "repeats": repeats,
            "qled_us_per_row": med(o[0] for o in ours),
            "csv_us_per_row": med(c[0] for c in csv),
            "qled_over_csv_median_of_pairs": med(ratios),
            "qled_rss_growth_MB": max(o[1] for o in ours),
            "csv_rss_growth_MB": max(c[1] for c in csv)}


def main(quick=False):
    n_rows = 50_000 if quick else 200_000
    n_rss = 100_000 if quick else 864_000
    n_live = 200_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        data = rows(n_rows)
        pm, _ = pymeasure_us_per_row(tmp, data)
        us, _ = store_us_per_row(tmp, data)
        print(f"{'measure':44s} {'value':>10s}   target")
        print(f"{'store µs/row (' + str(n_rows) + ' rows, 6 cols)':44s} {us:10.2f}")
        print(f"{'PyMeasure CSV Results µs/row (Recorder)':44s} {pm:10.2f}")
        print(f"{'ratio store / CSV':44s} {us / pm:10.2f}   <= 0.5")
        growth = rss_growth_mb(tmp, n_rss)
        print(f"{'RSS growth over ' + str(n_rss) + ' rows [MB]':44s} {growth:10.1f}   < 50")
        big_csv = Path(tmp) / "big.csv"
        pd.DataFrame(np.random.default_rng(2).random((n_live, 6)), columns=COLUMNS).to_csv(
            big_csv, index=False)
        poll_ms, full_ms, csv_ms = refresh(tmp, n_live, big_csv)
        print(f"{'LiveReader.poll at ' + str(n_live) + ' rows [ms]':44s} {poll_ms:10.2f}   <= 20")
        print(f"{'load_run (full re-read) [ms]':44s} {full_ms:10.1f}")
        print(f"{'pandas re-read of CSV [ms]':44s} {csv_ms:10.1f}")
        print(f"{'ratio full HDF5 re-read / poll':44s} {full_ms / poll_ms:10.0f}")
        print(f"{'ratio CSV re-read / poll':44s} {csv_ms / poll_ms:10.0f}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
