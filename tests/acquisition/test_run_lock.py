"""One writer per run file for its whole life (issue 18): the run lock beside the file.

Seen before: ``qled resume FILE`` twice 1.5 s apart both succeeded and appended two
interleaved histories; started at the same instant the second died on a rename race of the
journal. Now the lock is taken before the first row (or before a resume reads the file) and
held until the run ends; a second writer is refused in one line naming the holder; a stale
lock of a dead process of this host is taken over with an event saying so; a lock file
naming another host is never broken.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import h5py
import pytest

from acquisition.store import RunLocked, RunWriter, StoreError, load_run, lock_path, run_lock

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import writer_child as wc  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock semantics of Linux")


def _interrupted(tmp_path) -> Path:
    """A run file as a killed writer leaves it: rows committed, status running, no lock."""
    w = wc.create(tmp_path, background_flush=False)
    for i in range(20):
        w.append(wc.make_row(i))
    w.flush()
    path = w.path
    # what a SIGKILL leaves: no finish; the kernel frees the flock with the process
    w.lock.release()
    w._journal_close(delete=False)
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _child_reopen(path: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from acquisition.store import RunWriter, RunLocked\n"
            "try:\n"
            f"    w = RunWriter.reopen({str(path)!r}, background_flush=False)\n"
            "except RunLocked as exc:\n"
            "    print(exc); sys.exit(3)\n"
            "w.finish('aborted')\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_a_second_process_cannot_reopen_a_file_being_written(tmp_path):
    w = wc.create(tmp_path, background_flush=False)
    w.append(wc.make_row(0))
    w.flush()
    holder = json.loads(lock_path(w.path).read_text())
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    r = _child_reopen(w.path)
    assert r.returncode == 3, r.stdout + r.stderr
    line = r.stdout.strip()
    assert "\n" not in line and f"pid {os.getpid()} on host {socket.gethostname()}" in line
    assert holder["since"] in line and w.path.name in line
    w.append(wc.make_row(1))
    assert w.finish() == "finished"
    assert not lock_path(w.path).exists()              # released and removed at the end
    run = load_run(w.path)
    assert len(run.data) == 2 and run.attrs["resume_count"] == 0   # nobody else appended


def test_two_resumes_one_writer(tmp_path):
    path = _interrupted(tmp_path)
    first = RunWriter.reopen(path, background_flush=False)
    r = _child_reopen(path)
    assert r.returncode == 3 and f"pid {os.getpid()}" in r.stdout, r.stdout + r.stderr
    first.append(wc.make_row(20))
    first.finish()
    run = load_run(path)
    assert run.attrs["resume_count"] == 1 and len(run.data) == 21
    assert (run.events["message"].str.startswith("resume: gap")).sum() == 1


def test_another_thread_of_the_same_process_is_refused(tmp_path):
    path = _interrupted(tmp_path)
    w = RunWriter.reopen(path, background_flush=False)
    errors = []

    def second():
        try:
            RunWriter.reopen(path, background_flush=False)
        except RunLocked as exc:
            errors.append(str(exc))
    th = threading.Thread(target=second)
    th.start()
    th.join()
    assert len(errors) == 1 and "being written by" in errors[0]
    w.finish()


def test_stale_lock_of_a_dead_process_is_taken_over_with_an_event(tmp_path):
    path = _interrupted(tmp_path)
    pid = _dead_pid()
    lock_path(path).write_text(json.dumps({"host": socket.gethostname(), "pid": pid,
                                           "since": "2026-12-07T01:02:03Z",
                                           "command": "qled run lifetime"}))
    w = RunWriter.reopen(path, background_flush=False)
    w.finish()
    messages = load_run(path).events["message"]
    stale = messages[messages.str.startswith("lock: took over a stale lock")]
    assert len(stale) == 1
    assert f"pid {pid} on host {socket.gethostname()} since 2026-12-07T01:02:03Z" in stale.iloc[0]
    assert not lock_path(path).exists()


def test_lock_file_of_another_host_is_never_broken(tmp_path):
    path = _interrupted(tmp_path)
    content = json.dumps({"host": "lab-pc-7", "pid": 4242, "since": "2026-12-07T01:02:03Z",
                          "command": "qled resume"})
    lock_path(path).write_text(content)
    with pytest.raises(RunLocked) as info:
        RunWriter.reopen(path, background_flush=False)
    message = str(info.value)
    assert "\n" not in message
    assert "pid 4242 on host lab-pc-7 since 2026-12-07T01:02:03Z" in message
    assert "never broken" in message and str(lock_path(path)) in message
    assert lock_path(path).read_text() == content          # left exactly as it was
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "running" and f.attrs["resume_count"] == 0


def test_qled_resume_refuses_a_held_file_in_one_line(tmp_path):
    path = _interrupted(tmp_path)
    with run_lock(path, "another qled resume"):
        r = subprocess.run([sys.executable, "-m", "qled", "resume", str(path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("qled: error: ") and f"pid {os.getpid()}" in r.stderr
    assert "(another qled resume)" in r.stderr
    assert load_run(path).attrs["resume_count"] == 0


def test_lock_is_reentrant_in_one_thread_and_released_by_the_last_holder(tmp_path):
    path = _interrupted(tmp_path)
    outer = run_lock(path, "outer")
    inner = run_lock(path, "inner")
    assert inner is outer
    inner.release()
    assert lock_path(path).exists()
    outer.release()
    assert not lock_path(path).exists()
    outer.release()                                       # idempotent


def test_new_files_are_locked_before_they_have_a_name(tmp_path, monkeypatch):
    # Another writer holds the name a new run would take: it takes the next one.
    import datetime as dt
    monkeypatch.setattr("acquisition.store.writer._local_now",
                        lambda: dt.datetime(2024, 1, 2, 3, 4, 5))
    taken = tmp_path / "20240102-030405_s_jvl.h5"
    with run_lock(taken, "someone creating it"):
        th_result = []
        th = threading.Thread(target=lambda: th_result.append(RunWriter.create(
            tmp_path, procedure="m:JVLProcedure", sample="s", columns=["voltage_V"],
            background_flush=False)))
        th.start()
        th.join()
    (w,) = th_result
    assert w.path.name == "20240102-030405_s_jvl-2.h5"
    w.finish()


def test_unwritable_lock_file_is_one_line(tmp_path, monkeypatch):
    path = _interrupted(tmp_path)
    real_open = os.open

    def no_space(p, *a, **k):
        if str(p).endswith(".lock"):
            raise OSError(28, "No space left on device")
        return real_open(p, *a, **k)
    monkeypatch.setattr(os, "open", no_space)
    with pytest.raises(StoreError) as info:
        RunWriter.reopen(path, background_flush=False)
    assert "lock file" in str(info.value) and "\n" not in str(info.value)
