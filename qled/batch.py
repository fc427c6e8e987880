"""Batch analysis on dask.distributed: many run files, each analysed as ``qled analyze FILE``.

Tasks carry paths, never open HDF5 handles: a worker opens, analyses and closes each file
itself through :func:`qled.actions.analyze_file`, so a file's ``/analysis`` ends up exactly
as ``qled analyze`` leaves it (its write takes the file's run lock: one writer per file; the
paths are de-duplicated so two tasks never write one file). A file that cannot be analysed,
is still running (analysed, not stored) or whose analysis could not be stored is a failure
with a one-line reason, never a crash of the batch.

By default a :class:`distributed.LocalCluster` of worker *processes* (the GIL would cap
threads) bound to 127.0.0.1, without a dashboard; ``scheduler`` uses an existing scheduler
(its workers must have qled-bench installed and see the same paths). Files go to the workers
in small chunks so the per-task overhead of the scheduler stays small beside the analysis.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BatchOutcome", "analyze_one", "analyze_chunk", "analyze_many", "collect_paths",
           "check_scheduler_address", "write_failures_csv",
           "MAX_WORKERS", "result_json", "local_client"]

#: Upper bound of ``--workers`` (a LocalCluster on one computer).
MAX_WORKERS = 256

_ADDRESS = re.compile(r"^(tcp|tls|inproc|ws|wss|ucx)://[^\s/]+(:\d{1,5})?$")


@dataclass
class BatchOutcome:
    """What a batch did: each analysed file's result (by path), the failures (path, reason)."""
    results: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.results) + len(self.failures)


def _reason(text: str, default: str) -> str:
    """The lines ``analyze_file`` printed as one line without the ``qled:`` prefixes."""
    lines = [line.strip().removeprefix("qled:").strip() for line in text.splitlines()]
    return "; ".join(line for line in lines if line) or default


def analyze_one(path: str) -> tuple[str, dict | None, str | None]:
    """Analyse one run file as ``qled analyze`` does → (path, result, failure reason).

    The result is None when nothing could be analysed; the reason is None when the result
    was analysed *and* stored in the file's ``/analysis``.
    """
    from qled.actions import analyze_file

    lines = io.StringIO()
    try:
        result = analyze_file(path, stream=lines)
    except Exception as exc:     # noqa: BLE001 – one file's failure must not stop the batch
        text = " ".join(str(exc).split()) or type(exc).__name__
        return path, None, _reason(lines.getvalue(), "") or text
    said = lines.getvalue()
    if result is None:
        return path, None, _reason(said, "analysis not possible")
    if any(line.startswith("qled:") for line in said.splitlines()):
        return path, result, _reason(said, "analysis not stored")    # running, or not stored
    return path, result, None


def analyze_chunk(paths: list[str]) -> list[tuple[str, dict | None, str | None]]:
    """:func:`analyze_one` for each path of a chunk (one task on a worker)."""
    return [analyze_one(p) for p in paths]


def collect_paths(sources) -> list[Path]:
    """Run files named by ``sources``: files as given, folders by their ``*.h5`` (sorted), each
    file once. A missing path, or a folder without run files, is a one-line error."""
    paths, seen = [], set()
    for source in sources:
        src = Path(source)
        if src.is_dir():
            found = sorted(src.glob("*.h5"))
            if not found:
                raise FileNotFoundError(f"DIR = {str(source)!r} holds no run files (*.h5)")
        elif src.exists():
            found = [src]
        else:
            raise FileNotFoundError(f"FILES = {str(source)!r} does not exist")
        for p in found:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                paths.append(p)
    return paths


def check_scheduler_address(address: str) -> str:
    """``tcp://host:port`` (or another dask protocol); anything else is a one-line error."""
    if not _ADDRESS.match(address or ""):
        raise ValueError(f"--scheduler = {address!r} is not a scheduler address "
                         "(expected e.g. tcp://10.0.0.5:8786)")
    return address


def _chunks(paths: list[str], workers: int) -> list[list[str]]:
    # About 20 chunks per worker (a progress bar that moves), at most 10 files per chunk (a
    # balanced end: a file takes 0.05-0.3 s, a task costs the scheduler about 1 ms).
    size = max(1, min(10, len(paths) // max(1, workers * 20)))
    return [paths[i:i + size] for i in range(0, len(paths), size)]


#: Worker settings of the local cluster: no statistical profiler (it samples every thread's
#: stack every 10 ms: measured here +25 % CPU per file) and no disk-I/O monitor.
_QUIET_WORKERS = {"distributed.worker.profile.enabled": False,
                  "distributed.admin.system-monitor.disk": False}


def _local_cluster(workers: int):
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set(_QUIET_WORKERS):     # the nannies hand this config to the workers
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            host="127.0.0.1", dashboard_address=None,
                            silence_logs=logging.ERROR, protocol="tcp")


def local_client(workers: int = 2):
    """A :class:`distributed.Client` of a new loopback LocalCluster of ``workers`` processes
    (closing the client does not stop the cluster: close ``client.cluster`` too)."""
    from distributed import Client

    return Client(_local_cluster(workers))


def analyze_many(paths, *, workers: int = 2, scheduler: str | None = None,
                 progress=None, client=None) -> BatchOutcome:
    """Analyse ``paths`` on a dask cluster (a new loopback LocalCluster of ``workers``
    processes, the existing ``scheduler``, or an open ``client``, left open) →
    :class:`BatchOutcome`.

    ``progress``: an object with ``advance(n)`` (a :class:`qled.progress.Progress`), told of
    every file done.
    """
    from distributed import Client, as_completed

    names = [str(p) for p in paths]
    outcome = BatchOutcome()
    if not names:
        return outcome
    cluster = None
    own = client is None
    if own and scheduler is None:
        cluster = _local_cluster(workers)
        client = Client(cluster)
    elif own:
        client = Client(check_scheduler_address(scheduler), timeout="10s")
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        chunks = _chunks(names, n_workers)
        futures = client.map(analyze_chunk, chunks, pure=False)
        chunk_of = {f.key: c for f, c in zip(futures, chunks)}
        for future in as_completed(futures):
            try:
                done = future.result()
            except Exception as exc:    # noqa: BLE001 – a worker died: its files failed
                text = " ".join(str(exc).split()) or type(exc).__name__
                done = [(p, None, f"worker failed: {text}") for p in chunk_of[future.key]]
            for path, result, reason in done:
                if reason is None:
                    outcome.results[path] = result
                else:
                    outcome.failures.append((path, reason))
            if progress is not None:
                progress.advance(len(done))
    finally:
        if own:
            client.close()
        if cluster is not None:
            cluster.close()
    order = {p: i for i, p in enumerate(names)}
    outcome.failures.sort(key=lambda item: order.get(item[0], 0))
    outcome.results = {p: outcome.results[p] for p in names if p in outcome.results}
    return outcome


def write_failures_csv(failures, out: Path) -> Path:
    """The failure list as CSV (``file,reason``)."""
    out = Path(out)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "reason"])
        writer.writerows(failures)
    return out


def result_json(result) -> str:
    """A result as canonical JSON (how batch and ``qled analyze`` results are compared)."""
    from qled.actions import json_default

    return json.dumps(result, default=json_default, sort_keys=True)
