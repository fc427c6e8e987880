"""A disk that fills up under a lifetime log, on a real small filesystem (issue 18).

``qled run lifetime`` writes into a 4 MB tmpfs while another writer fills the same disk to
the last byte at a random moment (the night someone's backup lands on the data disk). Each
round then checks what the program leaves:

* exit code 1, no traceback, and one line saying what is saved and that ``qled recover FILE``
  finishes the file once the disk has room; no analysis ran (nothing more on that disk);
* no temporary file (``.tmp``) and no lock left behind;
* the run file opens with plain ``h5py`` with its committed rows (or, if the disk filled in
  the middle of an HDF5 write, the program says it needs rebuilding and the journal holds
  them); the journal's last record is the final status ``failed``;
* after the filler is deleted, ``qled recover FILE`` finishes it: status ``failed`` in the
  file, every committed row readable with plain h5py, the journal gone, still no temporary
  file. ``qled recover`` on the still-full disk is refused in one line and leaves nothing.

Only processes and plain h5py are used, so the same file runs against older code.
"""
from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

pytestmark = [pytest.mark.reliability,
              pytest.mark.skipif(sys.platform != "linux", reason="tmpfs of Linux")]

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
ROUNDS = 8


@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); tests/acquisition/"
                    "test_disk_full.py injects ENOSPC at every write site instead")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path, stop: threading.Event) -> None:
    """Write until the disk is full, then keep taking whatever frees up."""
    with open(path, "ab", buffering=0) as fh:
        block = b"\xff" * 65536
        while not stop.is_set():
            try:
                fh.write(block)
            except OSError:
                if len(block) > 512:
                    block = block[: len(block) // 2]
                else:
                    time.sleep(0.01)


def last_journal_record(path: Path) -> tuple[bytes, bytes] | None:
    data = Path(str(path) + ".journal").read_bytes()
    head = struct.Struct("<4scQI")
    pos, last = 0, None
    while pos + head.size <= len(data):
        magic, kind, length, crc = head.unpack_from(data, pos)
        end = pos + head.size + length
        if magic != b"QLJ1" or end > len(data) or zlib.crc32(data[pos + head.size:end]) != crc:
            break
        last = (kind, data[pos + head.size:end])
        pos = end
    return last


def _rows_committed(out: Path) -> int:
    """Rows the writer has committed to the run file in ``out`` (0 while none or unreadable)."""
    for path in out.glob("*.h5"):
        try:
            with h5py.File(path, "r", locking=False) as f:
                return int(f.attrs.get("rows_committed", 0))
        except (OSError, KeyError):
            return 0
    return 0


def plain(path: Path):
    try:
        with h5py.File(path, "r") as f:
            n = int(f.attrs["rows_committed"])
            t = f["data/time_s"][:n]
            return str(f.attrs["status"]), n, t, "analysis" in f and len(f["analysis"]) > 0
    except (OSError, KeyError):
        return None


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()
                  if p.name.endswith((".tmp", ".lock")) or p.name.startswith("."))


def one_round(disk: Path, k: int, rng: random.Random) -> dict:
    out = disk / f"r{k}"
    proc = subprocess.Popen([sys.executable, "-m", "qled", "run", "lifetime", "--station", "sim",
                             "--out", str(out), "--sample", f"full{k}",
                             "--current-density-mA-cm2", "2", "--log-interval-s", "0.5",
                             "--time-scale", "100", "--max-hours", "2",
                             "--flush-interval", "0.1", "--no-noise"],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    stop = threading.Event()
    filler = disk / f"filler{k}"
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("*.h5")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        # under a lifetime *log*: its first rows are committed (before them the run reads its
        # dark current and environment, which take a loaded machine a while)
        while not _rows_committed(out) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))
        th = threading.Thread(target=fill, args=(filler, stop), daemon=True)
        th.start()
        out_text, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
    (path,) = out.glob("*.h5")
    report = {"code": proc.returncode, "out": out_text, "err": err, "path": path}
    # --- what the failed run left, on the still-full disk
    assert proc.returncode == 1, (out_text, err)
    assert "Traceback" not in err + out_text, err
    assert "disk full" in out_text + err
    assert f"qled recover {path}" in err, err
    assert "T50 h" not in out_text and "L0 cd/m2" not in out_text      # no analysis ran
    assert leftovers(out) == [], leftovers(out)
    kind, payload = last_journal_record(path)
    assert kind == b"F" and b'"status": "failed"' in payload
    state = plain(path)
    if state is None:
        assert "needs rebuilding" in err
        report["damaged"] = True
    else:
        report["damaged"] = False
        assert state[0] in ("running", "failed") and state[1] > 0
        assert np.all(np.diff(state[2]) > 0)
        report["rows_before"] = state[1]
        report["patched"] = state[0] == "failed"
    # --- recover on the full disk: one line, nothing left behind
    r = subprocess.run([sys.executable, "-m", "qled", "recover", str(path)], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=120)
    if state is None or state[0] == "running":
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
        assert "Traceback" not in r.stderr
    assert leftovers(out) == []
    # --- room again: recover finishes the file
    stop.set()
    th.join(10)
    filler.unlink()
    r = subprocess.run([sys.executable, "-m", "qled", "recover", str(path)], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    status, n, t, analysed = plain(path)
    assert status == "failed" and n > 0 and np.all(np.diff(t) > 0) and not analysed
    if not report["damaged"]:
        assert n >= report["rows_before"]
    assert not Path(str(path) + ".journal").exists() and leftovers(out) == []
    report["rows"] = n
    return report


@pytest.mark.timeout(1200)
def test_disk_filling_up_under_a_lifetime_log(tmpfs):
    rng = random.Random(18)
    summary = {"rounds": 0, "damaged": 0, "patched": 0, "left_running": 0}
    for k in range(ROUNDS):
        r = one_round(tmpfs, k, rng)
        summary["rounds"] += 1
        summary["damaged"] += r["damaged"]
        summary["patched"] += bool(r.get("patched"))
        summary["left_running"] += (not r["damaged"]) and not r.get("patched")
        for p in tmpfs.iterdir():          # next round on an empty disk
            if p.is_dir():
                for q in p.iterdir():
                    q.unlink()
                p.rmdir()
    print(f"\ndisk-full summary: {summary}", file=sys.stderr)
    assert summary["rounds"] == ROUNDS
