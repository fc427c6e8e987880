"""Kills, live reading, resume and full disks: the run file stays readable."""
from __future__ import annotations

import errno
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import acquisition.store.writer as store_writer
from acquisition.store import (LiveReader, RunWriter, StoreBusy, StoreError, journal_path,
                               load_run, recover)

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import writer_child as wc  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork + SIGKILL on Linux")
FORK = mp.get_context("fork")


def _child(out, committed, rows_per_flush):
    w = wc.create(out, flush_interval_s=0.05, background_flush=False,
                  rows_per_flush=rows_per_flush)
    wc.write_forever(w, 0, rows_per_flush, committed)


def kill_writer_at_random(out: Path, rng: random.Random, rows_per_flush: int):
    """Start a writer that flushes continuously, SIGKILL it at a random moment.

    Returns (path, rows the writer had reported as flushed)."""
    out.mkdir()
    committed = FORK.RawValue("q", -1)  # lock-free: the child dies without releasing
    proc = FORK.Process(target=_child, args=(out, committed, rows_per_flush))
    proc.start()
    deadline = time.monotonic() + 20
    while committed.value < 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(rng.uniform(0.0, 0.25))
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    (path,) = out.glob("*.h5")
    return path, committed.value


def check_rows(path: Path, reported: int, status: str = "running") -> int:
    run = load_run(path)
    n = len(run.data)
    assert n >= reported > 0
    expected = wc.expected_rows(np.arange(n))
    for col, values in expected.items():
        np.testing.assert_array_equal(run.data[col].to_numpy(), values)
    for i in range(0, n, 7):
        np.testing.assert_array_equal(run.spectra[i], wc.expected_spectrum(i))
    assert np.isnan(run.spectra[1::7]).all()
    assert run.status == status  # killed: never finalised
    return n


def test_sigkill_leaves_plain_h5py_file_with_every_flushed_row(tmp_path):
    path, reported = kill_writer_at_random(tmp_path / "k", random.Random(1), 5)
    with h5py.File(path, "r") as f:  # plain open, default locking: what pandas/HDFView do
        n = int(f.attrs["rows_committed"])
        assert n >= reported
        np.testing.assert_array_equal(f["data/voltage_V"][:n], 1e-3 * np.arange(n))
    assert check_rows(path, reported) == n
    assert journal_path(path).exists()  # kept for recovery until the run is finalised


def _kill_loop(tmp_path, kills: int, seed: int):
    rng = random.Random(seed)
    rebuilt = 0
    for k in range(kills):
        # alternate small and large flushes: large ones keep the child inside HDF5 writes
        path, reported = kill_writer_at_random(tmp_path / f"k{k}", rng, 5 if k % 2 else 400)
        rebuilt += recover(path)
        check_rows(path, reported)
        with h5py.File(path, "r") as f:  # after recover(), always plainly readable
            assert int(f.attrs["rows_committed"]) >= reported
        w = RunWriter.reopen(path, background_flush=False)  # and it can be continued
        n = w.rows_flushed
        for i in range(n, n + 8):
            w.append(wc.make_row(i))
        assert w.finish() == "finished"
        check_rows(path, n + 8, status="finished")
    return rebuilt


def test_kill_loop_small(tmp_path):
    _kill_loop(tmp_path, 6, seed=7)


@pytest.mark.reliability
def test_kill_loop_reliability(tmp_path):
    rebuilt = _kill_loop(tmp_path, 60, seed=11)
    print(f"{rebuilt} of 60 killed files needed the journal")


def test_recover_rebuilds_damaged_file_from_journal(tmp_path):
    path, reported = kill_writer_at_random(tmp_path / "k", random.Random(3), 20)
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # damage the HDF5 metadata as a torn write would
        fh.seek(0)
        fh.write(b"\0" * 64)
    with pytest.raises(OSError):
        h5py.File(path, "r")
    assert recover(path) is True
    assert Path(str(path) + ".damaged").stat().st_size == size
    n = check_rows(path, reported)
    run = load_run(path)
    assert run.truth == {"seed": 1} and run.units["current_A"] == "A"
    assert run.events["message"].str.startswith("recovered:").any()
    assert recover(path) is False and n >= reported


def test_damaged_file_without_journal_is_reported(tmp_path):
    p = tmp_path / "x.h5"
    p.write_bytes(b"not hdf5")
    with pytest.raises(StoreError, match="no journal"):
        recover(p)


def test_second_process_reads_while_writing(tmp_path):
    child = subprocess.Popen([sys.executable, str(HERE / "writer_child.py"), str(tmp_path), "3"],
                             stdout=subprocess.PIPE, text=True)
    try:
        path = Path(child.stdout.readline().split(" ", 1)[1].strip())
        reader = LiveReader(path)
        seen, growth, busy = 0, 0, 0
        deadline = time.monotonic() + 30
        while growth < 10 and time.monotonic() < deadline:
            try:
                new = reader.poll()
            except StoreBusy:  # documented: retry on the next poll
                busy += 1
                continue
            if len(new):
                assert new.index[0] == seen  # contiguous, nothing skipped or repeated
                np.testing.assert_array_equal(new["voltage_V"], 1e-3 * new.index.to_numpy())
                seen += len(new)
                growth += 1
        assert growth >= 10 and reader.status == "running"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()


def test_resume_after_sigkill_continues_same_file_with_gap_event(tmp_path):
    path, reported = kill_writer_at_random(tmp_path / "k", random.Random(5), 10)
    committed = len(load_run(path).data)
    time.sleep(0.2)
    w = RunWriter.reopen(path, background_flush=False)
    # reopen also replays rows the journal holds beyond the file's last commit (a kill
    # between the journal write and the HDF5 flush): never fewer than the file showed.
    n0 = w.rows_flushed
    assert committed <= n0 <= committed + 10 and n0 >= reported and w.gap_s >= 0.2
    for i in range(n0, n0 + 30):
        w.append(wc.make_row(i))
    assert w.finish() == "finished"
    run = load_run(path)
    assert len(run.data) == n0 + 30 and run.status == "finished"
    np.testing.assert_array_equal(run.data["voltage_V"], 1e-3 * np.arange(n0 + 30))
    resume = run.events[run.events["message"].str.startswith("resume:")]
    assert len(resume) == 1
    gap = float(resume["message"].iloc[0].split("gap ")[1].split(" s")[0])
    assert 0.2 <= gap < 30
    assert run.attrs["resume_count"] == 1
    assert not journal_path(path).exists()


def test_disk_full_injected_stops_cleanly(tmp_path, monkeypatch):
    w = wc.create(tmp_path, background_flush=False)
    for i in range(10):
        w.append(wc.make_row(i))
    w.flush()

    def failing_append(f, batch):  # half of the batch reaches HDF5, then ENOSPC
        data = f["data"]
        n0 = int(f.attrs["rows_committed"])
        data["time_s"].resize((n0 + batch.n_rows,))
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(store_writer, "_append_to_file", failing_append)
    for i in range(10, 15):
        w.append(wc.make_row(i))
    with pytest.raises(StoreError, match="disk full") as info:
        w.flush()
    assert "\n" not in str(info.value) and "rows 0..9 are saved" in str(info.value)
    with pytest.raises(StoreError):
        w.append(wc.make_row(15))  # the run must stop
    monkeypatch.undo()
    assert w.finish("finished") == "failed"
    with h5py.File(w.path, "r") as f:
        assert f.attrs["status"] == "failed" and int(f.attrs["rows_committed"]) == 10
    run = load_run(w.path)
    np.testing.assert_array_equal(run.data["voltage_V"], 1e-3 * np.arange(10))
    assert journal_path(w.path).exists()  # holds the failed batch for inspection


def test_low_free_space_refuses_flush_before_touching_file(tmp_path, monkeypatch):
    w = wc.create(tmp_path, background_flush=False)
    w.append(wc.make_row(0))
    w.flush()
    usage = store_writer.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(store_writer.shutil, "disk_usage",
                        lambda p: usage._replace(free=100_000))
    w.append(wc.make_row(1))
    with pytest.raises(StoreError, match="disk full"):
        w.flush()
    monkeypatch.undo()
    assert w.finish() == "failed"
    assert len(load_run(w.path).data) == 1


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the injected tests cover it")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_full_disk_run_stops_with_readable_failed_file(small_tmpfs):
    from acquisition.runner import run_procedure
    import demo_procedures as dp
    dp.CALLS.clear()
    proc = dp.RampProcedure(n_points=10**7, dwell_s=2e-4)  # would need far more than 1 MB
    result = run_procedure(proc, small_tmpfs, flush_interval_s=0.05, handle_signals=False)
    assert result.status == "failed" and "disk full" in result.message
    assert "\n" not in result.message
    assert dp.CALLS[-1] == "shutdown"
    with h5py.File(result.path, "r") as f:
        assert f.attrs["status"] == "failed"
        n = int(f.attrs["rows_committed"])
    run = load_run(result.path)
    assert n == len(run.data) == result.rows > 200
    np.testing.assert_allclose(run.data["voltage_V"], 0.01 * np.arange(n), rtol=1e-12)


def test_unwritable_folder_fails_before_startup(tmp_path):
    from acquisition.runner import run_procedure
    import demo_procedures as dp
    if os.geteuid() == 0:  # root ignores permissions: use a read-only mount instead
        ro = tmp_path / "ro"
        ro.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                           capture_output=True)
        if r.returncode:
            pytest.skip("root without mount permission: cannot make a folder unwritable")
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
    dp.CALLS.clear()
    try:
        with pytest.raises(PermissionError, match="is not writable") as info:
            run_procedure(dp.RampProcedure(), ro, handle_signals=False)
        assert "\n" not in str(info.value)
        assert dp.CALLS == []  # no instrument was touched
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(ro)], check=False)
