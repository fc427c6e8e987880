"""Resident memory of a long lifetime log through the CLI: ``qled run lifetime`` on the
simulated bench (fast clock, a row every 0.1 s of stress), RSS sampled from outside.

The store alone stays flat (``store.py``); this measures everything else a week-long run
keeps per row: the procedure's live buffers, events, the engine, the status line, the bench.
The child runs until it has logged ``rows`` rows; RSS is read with psutil every 0.5 s and the
rows from the run file's ``rows_committed`` (plain h5py, no lock needed: between flushes the
file is closed). Growth is RSS at the end minus RSS at ``warmup_rows`` (imports, bench,
caches and the first chunks are in place by then), and the slope per row between them.

Run: ``python benchmarks/cli_memory.py [--rows N] [--json]``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

#: Stress time per row [s] and the bench clock: a row costs ~1 ms of wall time in exchanges,
#: 0.1 s of stress at this scale, so rows come as fast as the bench answers and well inside the
#: 1.15 s of stress time that would count as a gap in the log. The cap is far away: the child
#: is stopped (SIGTERM: outputs off, file finalised) once it has logged ``rows`` rows.
LOG_INTERVAL_S = 0.1
TIME_SCALE = 100.0


def _rows_committed(folder: Path) -> int:
    import h5py

    files = sorted(folder.glob("*.h5"))
    if not files:
        return 0
    try:
        with h5py.File(files[0], "r", locking=False) as f:
            return int(f.attrs["rows_committed"])
    except (OSError, KeyError):      # in the middle of a commit: ask again
        return -1


def measure(rows: int = 1_000_000, warmup_rows: int = 50_000, timeout_s: float = 7200.0) -> dict:
    """Run the CLI until ``rows`` rows are stored → RSS figures (MB, bytes per row)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs"
        cmd = [sys.executable, "-m", "qled", "run", "lifetime", "--station", "sim:passivated",
               "--out", str(out), "--sample", "mem", "--current-density-mA-cm2", "0.2",
               "--stop-fraction", "0.01", "--log-interval-s", str(LOG_INTERVAL_S),
               "--max-hours", "10000", "--time-scale", str(TIME_SCALE), "--no-noise"]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        ps = psutil.Process(proc.pid)
        samples: list[tuple[int, int]] = []     # (rows, rss)
        base = None
        try:
            deadline = time.monotonic() + timeout_s
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
                n = _rows_committed(out)
                if n < 0:
                    continue
                try:
                    rss = ps.memory_info().rss
                except psutil.NoSuchProcess:
                    break
                if rss == 0:                  # exited, not yet reaped
                    break
                samples.append((n, rss))
                if base is None and n >= warmup_rows:
                    base = (n, rss)
                if n >= rows:
                    break
        finally:
            if proc.poll() is None:
                proc.terminate()              # SIGTERM: outputs off, file finalised
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(30)
            stderr = proc.stderr.read().decode(errors="replace")
            proc.stderr.close()
        wall = time.perf_counter() - t0
    if base is None or not samples:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the lifetime run stored fewer than {warmup_rows} rows: {tail}")
    end_rows, end_rss = samples[-1]
    peak = max(r for n, r in samples if n >= base[0])
    growth = peak - base[1]
    span = max(1, end_rows - base[0])
    return {"rows": end_rows, "warmup_rows": base[0], "rss_at_warmup_MB": base[1] / 1e6,
            "rss_end_MB": end_rss / 1e6, "rss_growth_MB": growth / 1e6,
            "bytes_per_row": growth / span, "wall_s": wall,
            "rows_per_s": end_rows / wall if wall > 0 else float("nan"),
            "samples": len(samples)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--warmup-rows", type=int, default=50_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    r = measure(args.rows, args.warmup_rows)
    if args.json:
        print(json.dumps(r, indent=1))
    else:
        print(f"{r['rows']:,} rows in {r['wall_s']:.0f} s ({r['rows_per_s']:.0f} rows/s): RSS "
              f"{r['rss_at_warmup_MB']:.1f} MB at {r['warmup_rows']:,} rows → "
              f"{r['rss_end_MB']:.1f} MB; growth {r['rss_growth_MB']:.2f} MB "
              f"({r['bytes_per_row']:.1f} bytes/row)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
