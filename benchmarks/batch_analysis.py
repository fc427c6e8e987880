"""Batch analysis of N run files: ``qled batch analyze`` on 2 local dask workers vs a serial
loop in one process (what a script calling ``qled analyze``'s function per file does).

The files are copies of ``qled demo --pixels 1``'s runs (every kind), cycled to N, in a
temporary folder, twice: one set for each side, so both do the same work (load, analyse,
store into ``/analysis``). The serial loop runs in this process after its imports; the batch
time includes starting the cluster and its worker processes. Every file's result must be
identical (canonical JSON) on both sides, and no file may fail, before a speed-up is reported.
On a shared machine the files go in blocks, serial and batch alternating on one cluster,
so both sides see the same neighbours; the load average before and after is reported.

Usage: python benchmarks/batch_analysis.py [N_FILES] [--workers 2] [--pairs 5] [--source DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")    # one BLAS thread per process
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]


def demo_runs(folder: Path) -> list[Path]:
    """``qled demo --pixels 1`` into ``folder`` (a fresh interpreter): its run files."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    subprocess.run([sys.executable, "-m", "qled", "demo", "--pixels", "1", "--out",
                    str(folder)], check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return sorted(folder.glob("*.h5"))


def copies(sources: list[Path], folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        dst = folder / f"{i:05d}_{src.name}"
        shutil.copyfile(src, dst)
        out.append(dst)
    return out


def _warm_worker(sources: list[str]) -> int:
    """Analyse a private copy of one run of each kind: the imports its first files would do."""
    from qled.batch import analyze_one

    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            copy = Path(tmp) / Path(src).name
            shutil.copyfile(src, copy)
            analyze_one(str(copy))
    return len(sources)


def _cpu_s() -> float:
    return time.process_time()


def _worker_cpu_s(client) -> float:
    """CPU seconds the workers have used so far (user + system, summed over workers)."""
    return sum(client.run(_cpu_s).values())


def _one_per_kind(sources: list[Path]) -> list[str]:
    seen = {}
    for p in sources:
        seen.setdefault(p.stem.rsplit("_", 1)[-1], str(p))
    return list(seen.values())


def measure(n: int = 10_000, workers: int = 2, source: Path | None = None,
            pairs: int = 5) -> dict:
    """Figures of this benchmark (seconds, files/s, the speed-up); results checked equal.

    The machine may be shared: the N files go in ``pairs`` blocks, each analysed serially
    then on the workers, alternating, and the speed-up of each pair is reported beside the
    total one (serial total over cluster start-up + batch total).
    """
    import statistics

    from qled.batch import analyze_many, analyze_one, local_client, result_json

    with tempfile.TemporaryDirectory(dir=os.environ.get("QLED_BENCH_TMP")) as tmp:
        tmp = Path(tmp)
        sources = sorted(Path(source).glob("*.h5")) if source else demo_runs(tmp / "demo")
        serial_set = copies(sources, tmp / "serial", n)
        batch_set = copies(sources, tmp / "batch", n)
        _warm_worker(_one_per_kind(sources))   # the serial side's imports: not timed

        load_before = os.getloadavg()
        t0 = time.perf_counter()
        client = local_client(workers)
        client.run(_warm_worker, _one_per_kind(sources))   # the workers': timed
        startup_s = time.perf_counter() - t0
        serial, results, failures, pair_ratios = [], {}, [], []
        serial_s = batch_s = 0.0
        try:
            step = -(-n // pairs)
            serial_cpu_s = worker_cpu_s = 0.0
            for k in range(0, n, step):
                t0, c0 = time.perf_counter(), time.process_time()
                serial += [analyze_one(str(p)) for p in serial_set[k:k + step]]
                ts = time.perf_counter() - t0
                serial_cpu_s += time.process_time() - c0
                w0 = _worker_cpu_s(client)
                t0 = time.perf_counter()
                outcome = analyze_many(batch_set[k:k + step], client=client)
                tb = time.perf_counter() - t0
                worker_cpu_s += _worker_cpu_s(client) - w0
                results.update(outcome.results)
                failures += outcome.failures
                serial_s, batch_s = serial_s + ts, batch_s + tb
                pair_ratios.append(ts / tb)
        finally:
            client.close()
            client.cluster.close()
        load_after = os.getloadavg()
        serial_failed = [(p, why) for p, _, why in serial if why is not None]
        assert not serial_failed and not failures, (serial_failed[:3], failures[:3])
        mismatched = [a.name for a, (_, r, _) in zip(batch_set, serial)
                      if result_json(results[str(a)]) != result_json(r)]
        assert not mismatched, f"{len(mismatched)} results differ, e.g. {mismatched[:3]}"
    total_s = startup_s + batch_s
    return {"files": n, "workers": workers, "source_files": len(sources),
            "serial_s": serial_s, "batch_s": total_s, "startup_s": startup_s,
            "serial_files_per_s": n / serial_s, "batch_files_per_s": n / total_s,
            "speedup": serial_s / total_s, "pair_speedups": pair_ratios,
            "median_pair_speedup": statistics.median(pair_ratios),
            "identical_results": n - len(mismatched),
            # CPU per file on each side: equal means the workers add no per-file work, and on
            # an idle machine the speed-up tends to the number of workers.
            "serial_cpu_ms_per_file": 1e3 * serial_cpu_s / n,
            "worker_cpu_ms_per_file": 1e3 * worker_cpu_s / n,
            "cpu_count": os.cpu_count(), "loadavg_before": load_before,
            "loadavg_after": load_after}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=5, help="alternating serial/batch blocks")
    parser.add_argument("--source", type=Path, default=None,
                        help="folder of run files to copy (default: a fresh qled demo)")
    args = parser.parse_args(argv)
    r = measure(args.n, args.workers, args.source, args.pairs)
    print(f"{r['files']:,} files ({r['source_files']} distinct runs): serial "
          f"{r['serial_s']:.1f} s ({r['serial_files_per_s']:.1f}/s), {r['workers']} workers "
          f"{r['batch_s']:.1f} s incl. {r['startup_s']:.1f} s start-up "
          f"({r['batch_files_per_s']:.1f}/s): speed-up {r['speedup']:.2f}× (pairs: "
          f"{', '.join(f'{x:.2f}' for x in r['pair_speedups'])}), "
          f"{r['identical_results']:,} identical results; CPU per file serial "
          f"{r['serial_cpu_ms_per_file']:.0f} ms, on a worker {r['worker_cpu_ms_per_file']:.0f} "
          "ms; load "
          f"{r['loadavg_before'][0]:.2f} → {r['loadavg_after'][0]:.2f} on {r['cpu_count']} CPUs")
    return r


if __name__ == "__main__":
    main()
