"""A full disk (or an I/O error) at every write site of the store never damages what is saved
(issue 18).

Seen before: the run stopped with "rows 0..1629 are saved", then finalisation on the full
disk damaged the file (``f.attrs['status']`` raised), the post-run analysis called
``recover()`` on the still-full disk, died with a 40-line traceback and left a 0-byte
``.rebuild.tmp``; the status ``failed`` was lost.

ENOSPC is injected at each write site — skeleton creation, the journal's header, journal
append, the HDF5 commit, finalisation (no room; a torn patch), the analysis write,
recover/rebuild, export, the resume snapshot — and each test shows: one line, no traceback
(the CLI tests run ``qled`` in-process, where any escaping exception fails the test), status
``failed`` kept (in the journal, and in the file once there is room), every committed row
readable with plain h5py, no temporary file left behind. The real small filesystem (tmpfs)
and the combinatorial loop are in ``tests/reliability/test_disk_full_tmpfs.py``.
"""
from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import acquisition.store.finalise as store_finalise
import acquisition.store.readers as store_readers
import acquisition.store.recovery as store_recovery
import acquisition.store.writer as store_writer
from acquisition.store import (RunWriter, StoreError, export_csv, journal_path, load_run,
                               lock_path, recover, write_analysis)
from acquisition.store.journal import _JournalWriter, _journal_finish, _read_journal

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import writer_child as wc  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fallocate and flock of Linux")


def enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


def leftovers(folder: Path) -> list[str]:
    """Temporary files and locks: none may be left behind."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name.endswith((".tmp", ".lock")) or p.name.startswith("."))


def writer_with_rows(folder: Path, n: int = 10) -> RunWriter:
    w = wc.create(folder, background_flush=False)
    for i in range(n):
        w.append(wc.make_row(i))
    w.flush()
    return w


def plain_rows(path: Path) -> tuple[str, int]:
    """(status, rows) as plain h5py (default locking) reads them; every row checked."""
    with h5py.File(path, "r") as f:
        n = int(f.attrs["rows_committed"])
        np.testing.assert_array_equal(f["data/voltage_V"][:n], 1e-3 * np.arange(n))
        return str(f.attrs["status"]), n


def journal_status(path: Path) -> str | None:
    final = _journal_finish(_read_journal(journal_path(path)))
    return None if final is None else final["status"]


def one_line(exc) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


# ------------------------------------------------------------------ creation
def test_site_skeleton_creation(tmp_path, monkeypatch):
    def half_skeleton(f, **kw):
        f.create_group("parameters")
        enospc()
    monkeypatch.setattr(store_writer, "_write_skeleton", half_skeleton)
    with pytest.raises(StoreError) as info:
        wc.create(tmp_path, background_flush=False)
    assert "disk full" in one_line(info.value) and "nothing was recorded" in str(info.value)
    assert list(tmp_path.iterdir()) == []                  # no half file, no tmp, no lock


def test_site_journal_header_at_creation(tmp_path, monkeypatch):
    monkeypatch.setattr(_JournalWriter, "_journal_write", enospc)
    with pytest.raises(StoreError) as info:
        wc.create(tmp_path, background_flush=False)
    assert "disk full" in one_line(info.value)
    assert list(tmp_path.iterdir()) == []                  # the new, empty file went too


# ------------------------------------------------------------------ during the run
def test_site_journal_append(tmp_path, monkeypatch):
    w = writer_with_rows(tmp_path)
    real_put = _JournalWriter._journal_put

    def torn_put(self, record, reserve=True):
        if record[4:5] == b"B":                 # half a batch record reaches the disk
            os.pwrite(self._journal_fd, record[: len(record) // 2], self._journal_end)
            enospc()
        return real_put(self, record, reserve)
    monkeypatch.setattr(_JournalWriter, "_journal_put", torn_put)
    for i in range(10, 15):
        w.append(wc.make_row(i))
    with pytest.raises(StoreError) as info:
        w.flush()
    assert "disk full" in one_line(info.value) and "rows 0..9 are saved" in str(info.value)
    assert w.finish() == "failed"
    assert plain_rows(w.path) == ("failed", 10)
    assert journal_status(w.path) == "failed"              # the torn record was overwritten
    assert "rows 0..9 are saved" in w.saved_note
    assert leftovers(tmp_path) == []


def test_site_hdf5_commit(tmp_path, monkeypatch):
    w = writer_with_rows(tmp_path)

    def torn_append(f, batch):                  # one dataset extended, then the disk is full
        f["data/time_s"].resize((int(f.attrs["rows_committed"]) + batch.n_rows,))
        enospc()
    monkeypatch.setattr(store_writer, "_append_to_file", torn_append)
    for i in range(10, 15):
        w.append(wc.make_row(i))
    with pytest.raises(StoreError, match="disk full"):
        w.flush()
    monkeypatch.undo()
    assert w.finish() == "failed"
    assert plain_rows(w.path) == ("failed", 10)
    assert journal_status(w.path) == "failed"
    # the batch reached the journal: the note says so, and recover adds it
    assert "journal also holds rows 10..14" in w.saved_note and "qled recover" in w.saved_note
    assert recover(w.path) is True
    assert plain_rows(w.path) == ("failed", 15)
    assert not journal_path(w.path).exists()
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------ finalisation
def test_site_finalise_without_room(tmp_path, monkeypatch):
    w = writer_with_rows(tmp_path)
    for i in range(10, 15):
        w.append(wc.make_row(i))
    usage = store_writer.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(store_writer.shutil, "disk_usage",
                        lambda p: usage._replace(free=4096))     # the disk filled up
    assert w.finish("finished") == "failed"
    # nothing was patched on the full disk: committed rows intact, readable as they are
    assert plain_rows(w.path) == ("running", 10)
    assert journal_status(w.path) == "failed"              # the status went to the journal
    assert "status still running" in w.saved_note and "qled recover" in w.saved_note
    assert not lock_path(w.path).exists()
    # recover refuses to work on a disk that has no room, and leaves nothing behind
    with open(w.path, "r+b") as fh:
        fh.write(b"\0" * 64)                                # even when it would need to rebuild
    with pytest.raises(StoreError) as info:
        recover(w.path)
    assert "not enough free space" in one_line(info.value)
    assert leftovers(tmp_path) == []
    monkeypatch.undo()                                       # room again
    assert recover(w.path) is True
    assert plain_rows(w.path) == ("failed", 10)
    assert load_run(w.path).attrs["end_time"]
    assert leftovers(tmp_path) == []


def test_site_finalise_torn_patch(tmp_path, monkeypatch):
    w = writer_with_rows(tmp_path)
    real_open = store_finalise._open_h5

    def damaging_open(path, mode):
        if mode == "r+":                        # the attribute write tears the metadata
            with open(path, "r+b") as fh:
                fh.write(b"\0" * 64)
            enospc()
        return real_open(path, mode)
    monkeypatch.setattr(store_finalise, "_open_h5", damaging_open)
    w.error = StoreError(errno.ENOSPC, "disk full (rows 0..9 are saved; run stopped)")
    assert w.finish("failed") == "failed"
    assert journal_status(w.path) == "failed"               # kept: the file needs it
    assert "needs rebuilding" in w.saved_note and "rows 0..9" in w.saved_note
    monkeypatch.undo()
    assert recover(w.path) is True
    assert plain_rows(w.path) == ("failed", 10)
    assert Path(str(w.path) + ".damaged").exists()
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------ after the run
def finished_run(folder: Path) -> Path:
    w = writer_with_rows(folder)
    w.finish()
    return w.path


def test_site_analysis_write(tmp_path, monkeypatch):
    path = finished_run(tmp_path)
    before = path.read_bytes()
    monkeypatch.setattr(store_readers, "_write_tree", enospc)
    with pytest.raises(StoreError) as info:
        write_analysis(path, "demo", {"a": 1.0})
    assert "disk full" in one_line(info.value) and "unchanged" in str(info.value)
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_site_recover_rebuild(tmp_path, monkeypatch):
    w = writer_with_rows(tmp_path)
    w.lock.release()
    w._journal_close(delete=False)                  # killed: file + journal
    with open(w.path, "r+b") as fh:
        fh.write(b"\0" * 64)
    damaged, journal = w.path.read_bytes(), journal_path(w.path).read_bytes()

    def half_replay(f, columns, records):
        f["data/time_s"].resize((5,))
        enospc()
    monkeypatch.setattr(store_recovery, "_replay", half_replay)
    with pytest.raises(StoreError) as info:
        recover(w.path)
    assert "disk full" in one_line(info.value)
    assert w.path.read_bytes() == damaged and journal_path(w.path).read_bytes() == journal
    assert leftovers(tmp_path) == []                        # no .rebuild.tmp
    monkeypatch.undo()
    assert recover(w.path) is True and plain_rows(w.path) == ("running", 10)


def test_site_export(tmp_path, monkeypatch):
    path = finished_run(tmp_path)
    import pandas as pd
    real = pd.DataFrame.to_csv

    def half_csv(self, fh, **kw):
        fh.write("0.1,0.2\n")
        enospc()
    monkeypatch.setattr(pd.DataFrame, "to_csv", half_csv)
    with pytest.raises(StoreError) as info:
        export_csv(path)
    assert "disk full" in one_line(info.value) and "no CSV written" in str(info.value)
    assert not path.with_suffix(".csv").exists() and leftovers(tmp_path) == []
    monkeypatch.setattr(pd.DataFrame, "to_csv", real)
    assert export_csv(path).exists()


def test_site_resume_snapshot(tmp_path, monkeypatch):
    w = writer_with_rows(tmp_path)
    w.lock.release()
    w._journal_close(delete=False)
    journal = journal_path(w.path).read_bytes()
    monkeypatch.setattr("acquisition.store.journal._batch_record", enospc)
    with pytest.raises(StoreError) as info:
        RunWriter.reopen(w.path, background_flush=False)
    assert "disk full" in one_line(info.value)
    assert journal_path(w.path).read_bytes() == journal     # the old journal still holds all
    assert plain_rows(w.path)[1] == 10 and leftovers(tmp_path) == []


# ------------------------------------------------------------------ the program
LIFETIME = ["run", "lifetime", "--station", "sim", "--sample", "full",
            "--current-density-mA-cm2", "2", "--log-interval-s", "1", "--time-scale", "1000",
            "--max-hours", "0.2", "--flush-interval", "0.05", "--no-noise"]


def qled(capsys, *args):
    from qled.cli import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


def fill_disk_after(monkeypatch, commits: int, module=store_writer):
    """From the ``commits``-th commit on, the disk is full (as seen by every free-space check
    and by the HDF5 write)."""
    usage = store_writer.shutil.disk_usage("/")
    calls = [0]
    real_commit = RunWriter._commit

    def commit(self, batch, lock_timeout_s=None):
        calls[0] += 1
        if calls[0] >= commits:
            monkeypatch.setattr(store_writer.shutil, "disk_usage",
                                lambda p: usage._replace(free=1024))
        return real_commit(self, batch, lock_timeout_s)
    monkeypatch.setattr(RunWriter, "_commit", commit)


def test_cli_run_on_a_disk_that_fills_up_says_what_is_saved(tmp_path, monkeypatch, capsys):
    # The first commits may hold events only (station, the photodiode's dark reading):
    # the disk fills once rows have been committed too.
    fill_disk_after(monkeypatch, 5)
    code, out, err = qled(capsys, *LIFETIME, "--out", tmp_path)
    assert code == 1
    (path,) = tmp_path.glob("*.h5")
    status, n = plain_rows_any(path)
    assert status == "running" and n > 0                    # nothing patched on a full disk
    assert journal_status(path) == "failed"
    print(out + err)
    assert "disk full" in out + err and f"qled recover {path}" in err
    assert "L0 cd/m2" not in out                           # no analysis on that disk
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    code, out, err = qled(capsys, "recover", path)
    assert code == 0 and f"recovered: {path}: status failed, {n} rows" in out
    assert plain_rows_any(path) == ("failed", n)
    assert not journal_path(path).exists() and leftovers(tmp_path) == []


def plain_rows_any(path: Path) -> tuple[str, int]:
    with h5py.File(path, "r") as f:
        n = int(f.attrs["rows_committed"])
        assert np.all(np.isfinite(f["data/time_s"][:n]))
        return str(f.attrs["status"]), n


def test_cli_recover_on_a_full_disk_is_one_line(tmp_path, monkeypatch, capsys):
    w = writer_with_rows(tmp_path)
    w.lock.release()
    w._journal_close(delete=False)
    with open(w.path, "r+b") as fh:
        fh.write(b"\0" * 64)
    usage = store_writer.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(store_writer.shutil, "disk_usage", lambda p: usage._replace(free=0))
    code, out, err = qled(capsys, "recover", w.path)
    assert code == 1 and err.count("\n") == 1 and "not enough free space" in err
    assert leftovers(tmp_path) == []


def test_cli_export_and_analyze_on_a_full_disk(tmp_path, monkeypatch, capsys):
    code, out, err = qled(capsys, *LIFETIME, "--out", tmp_path)
    assert code == 0, err
    (path,) = tmp_path.glob("*.h5")
    before = path.read_bytes()
    usage = store_writer.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(store_writer.shutil, "disk_usage", lambda p: usage._replace(free=0))
    code, out, err = qled(capsys, "export", path, "--csv")
    assert code == 1 and err.count("\n") == 1 and "disk full" in err
    code, out, err = qled(capsys, "analyze", path)
    assert "not enough free space to store the analysis" in err and err.count("\n") == 1
    assert path.read_bytes() == before and leftovers(tmp_path) == []
    assert not path.with_suffix(".csv").exists()


def test_status_line_and_journal_of_a_clean_run_are_gone(tmp_path):
    w = writer_with_rows(tmp_path)
    assert w.finish() == "finished" and w.saved_note == ""
    assert not journal_path(w.path).exists() and leftovers(tmp_path) == []
    assert json.loads(json.dumps(load_run(w.path).attrs["status"])) == "finished"


def test_inspect_tells_the_status_the_journal_kept(tmp_path, monkeypatch, capsys):
    w = writer_with_rows(tmp_path)
    usage = store_writer.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(store_writer.shutil, "disk_usage", lambda p: usage._replace(free=4096))
    w.error = StoreError(errno.ENOSPC, "disk full")
    w.finish("failed")
    monkeypatch.undo()
    code, out, err = qled(capsys, "inspect", w.path)
    assert code == 0
    status = next(line for line in out.splitlines() if line.startswith("status"))
    assert "running" in status and "journal records the end: failed" in status
    assert f"qled recover {w.path}" in status
