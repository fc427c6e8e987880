"""Catalogue cost: publishing run files to a Tiled server and a two-key query at 10^4 files.

A Tiled server (``tiled serve catalog --temp``, sqlite, API key) runs on 127.0.0.1. The run
files are copies of one quick run of each built-in kind (``tests/qled/catalogue_runs.py``),
each copy with its own name and sample (``QD-0`` … ``QD-99``), so every entry is a real file.

- baseline: the stock client path, one file at a time — ``HDF5Adapter.from_uris`` opens the
  file client-side and ``Container.new`` registers it (what ``tiled register`` does per file);
- ours: :func:`qled.catalogue.publish` — metadata lifted in one pass (root attributes and
  ``/analysis`` only), registrations posted straight to ``/register`` from N threads;
- query: ``sample == QD-7 and max_eqe_percent > 15`` (:func:`qled.catalogue.find`), median
  of repeats, at 60 entries (baseline) and at all entries.

Usage: ``python benchmarks/catalogue.py [--files 10000] [--workers 8]``; prints JSON.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "qled"))
sys.path.insert(0, str(ROOT))


def make_copies(sources: list[Path], folder: Path, n: int) -> list[Path]:
    import h5py

    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        dst = folder / f"copy{i:05d}_{src.name}"
        shutil.copyfile(src, dst)
        with h5py.File(dst, "r+") as f:
            f.attrs["sample"] = f"QD-{(i // len(sources)) % 100}"   # every kind per sample
        out.append(dst)
    return out


def stock_register(client, path: Path) -> None:
    """One file through tiled's stock client path (as ``tiled register`` does it)."""
    from tiled.adapters.hdf5 import HDF5Adapter
    from tiled.client.register import dict_or_none
    from tiled.structures.data_source import Asset, DataSource, Management
    from tiled.utils import ensure_uri

    from qled.catalogue import lift_metadata

    adapter = HDF5Adapter.from_uris(ensure_uri(str(path)))
    md = lift_metadata(path)
    client.new("container", [DataSource(
        structure_family=adapter.structure_family, mimetype="application/x-hdf5",
        structure=dict_or_none(adapter.structure()), parameters={},
        management=Management.external,
        assets=[Asset(data_uri=ensure_uri(str(path)), is_directory=False,
                      parameter="data_uris", size=path.stat().st_size)])],
        key=md["run_id"], metadata=md)


def _query_ms(url: str, key: str, repeats: int) -> tuple[float, int]:
    from qled.catalogue import find
    from qled.catalogue.client import connect

    client = connect(url, key)
    times, n = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = len(find(url, sample="QD-7", where=["max_eqe_percent > 15"], client=client))
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), n


def measure(files: int = 10_000, workers: int = 8, baseline_files: int = 200,
            repeats: int = 15) -> dict:
    from catalogue_runs import QUICK, quick_run
    from tiled_server import API_KEY, tiled_server

    from qled.catalogue import publish
    from qled.catalogue.client import connect

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "src").mkdir()
        (tmp / "runs").mkdir()
        sources = [quick_run(label, tmp / "src", sample="src") for label in QUICK]
        t0 = time.perf_counter()
        copies = make_copies(sources, tmp / "runs", files + baseline_files)
        copy_s = time.perf_counter() - t0
        stock, ours = copies[:baseline_files], copies[baseline_files:]
        with tiled_server(tmp / "runs", Path(tempfile.gettempdir()) / "qled_bench_tiled.log") as url:
            client = connect(url, API_KEY)
            t0 = time.perf_counter()
            for i, p in enumerate(stock):
                stock_register(client, p)
                if i + 1 == 60:                           # the query at 60 entries
                    pause = time.perf_counter()
                    q60_ms, n60 = _query_ms(url, API_KEY, repeats)
                    t0 += time.perf_counter() - pause
            stock_ms = (time.perf_counter() - t0) * 1e3 / len(stock)
            serial = ours[:baseline_files]
            t0 = time.perf_counter()
            publish(serial, url, key=API_KEY, workers=1)
            serial_ms = (time.perf_counter() - t0) * 1e3 / len(serial)
            rest = ours[baseline_files:]
            t0 = time.perf_counter()
            publish(rest, url, key=API_KEY, workers=workers)
            bulk_ms = (time.perf_counter() - t0) * 1e3 / max(1, len(rest))
            entries = len(client)
            q_ms, n_hits = _query_ms(url, API_KEY, repeats)
    return {"files": files, "entries": entries, "workers": workers, "copy_s": copy_s,
            "stock_serial_ms_per_file": stock_ms, "ours_serial_ms_per_file": serial_ms,
            "ours_bulk_ms_per_file": bulk_ms, "bulk_speedup_vs_stock": stock_ms / bulk_ms,
            "bulk_total_s_per_10k": bulk_ms * 10, "query_ms": q_ms, "query_hits": n_hits,
            "q60_ms": q60_ms, "n60": n60}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--baseline-files", type=int, default=200)
    args = p.parse_args(argv)
    print(json.dumps(measure(args.files, args.workers, args.baseline_files), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
