"""Issue 19, done when: a recipe of 2 substrates × 4 pixels × (J-V-L, DLCP on the best pixel,
a 4-channel lifetime) runs unattended on the simulated bench, survives two SIGKILLs and
finishes through ``qled recipe resume`` with nothing measured twice and nothing lost.

* ``qled recipe run`` is SIGKILLed during the first substrate's 4-channel lifetime (rows
  logged, record saying ``running``, no chance to write anything);
* the first ``qled recipe resume`` continues those four lifetime files in place (continuity
  checked, ``resume: gap``) and is SIGKILLed in turn in the middle of a J-V-L sweep of the
  second substrate;
* the second ``qled recipe resume`` keeps that partial sweep (named in the record), measures
  the pixel again and finishes the recipe.

Then: every step done; one finished run file per (substrate, block, pixel) — 8 J-V-L, 2 DLCP,
8 lifetime — and every file in the folder is named by the record (partial sweeps only); DLCP
ran on the pixel with the highest measured EQE; the batch report's J-V-L table reproduces
each pixel's truth (EQE_max, V_on from the run's own ``/truth``), the pristine substrate's
T50 its true T50; every run file ends with every output recorded off (read back off).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from acquisition.store import load_run
from qled.recipes.safety import last_output_states, last_relay_states
from reports.page import measured_pixel_index, pixel_device_truth

pytestmark = [pytest.mark.reliability,
              pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL on Linux")]

ROOT = Path(__file__).resolve().parents[2]

RECIPE = """
[recipe]
name = "issue 19 done-when"
sim = { switch = "keithley7001" }

[defaults]
operator = "done-when test"

[[substrate]]
name = "S1"
station = "sim:passivated"
pixels = [1, 2, 3, 4]

[[substrate]]
name = "S2"
station = "sim:pristine"
pixels = [1, 2, 3, 4]

[[block]]
name = "jvl"
kind = "jvl"
sim = { time_scale = 300 }
parameters = { start_voltage_V = 2.4, stop_voltage_V = 7.0, step_voltage_V = 0.1, dwell_s = 0.05, compliance_mA = 100.0, nplc = 1.0 }

[[block]]
name = "dlcp"
kind = "dlcp"
pixels = "best 1 by max_eqe_percent from jvl"
sim = { time_scale = 1000 }
parameters = { eps_r = 25.0, settle_s = 0.05 }

[[block]]
name = "life"
kind = "lifetime"
pixels = "best 4 by max_eqe_percent from jvl"
channels = true
sim = { time_scale = 50 }
parameters = { l0_cd_m2 = 1000.0, log_interval_s = 0.5, max_hours = 0.05 }
"""


def _qled(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qled", *args, "--flush-interval", "0.2"],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _record(out: Path) -> dict:
    return json.loads((out / "recipe.json").read_text())


def _wait(predicate, proc, timeout_s=300.0, what=""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"ended before {what}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _rows(path: Path) -> int:
    try:
        import h5py

        with h5py.File(path, "r", locking=False) as f:
            return int(f.attrs.get("rows_committed", 0))
    except (OSError, KeyError):
        return 0


def _report_rows(page: Path) -> dict:
    """(sample, pixel) → (V_on, EQE_max) from the J-V-L batch page's runs table."""
    text = page.read_text()
    runs = text[text.index("## Runs"):]
    header = next(ln for ln in runs.splitlines() if ln.startswith("| Sample | Pixel"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    out = {}
    for line in runs.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(cols) and cells[1].isdigit():
            row = dict(zip(cols, cells))
            out[(row["Sample"], int(row["Pixel"]))] = (float(row["V_on (V)"]),
                                                       float(row["EQE_max (%)"]))
    return out


@pytest.mark.timeout(900)
def test_recipe_survives_two_sigkills_and_finishes_with_nothing_measured_twice(tmp_path):
    recipe = tmp_path / "done_when.toml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    t0 = time.monotonic()

    # 1. killed during the first substrate's 4-channel lifetime, rows logged
    proc = _qled("recipe", "run", str(recipe), "--out", str(out), "--no-report")
    life = lambda: sorted(out.glob("*_S1_lifetime_ch*.h5"))       # noqa: E731
    _wait(lambda: len(life()) == 4 and all(_rows(p) >= 5 for p in life()), proc,
          what="the S1 lifetime logging")
    _kill(proc)
    rec = _record(out)
    states = [(s["substrate"], s["block"], s["state"]) for s in rec["steps"]]
    assert ("S1", "life", "running") in states and rec["state"] == "running"
    killed_life = [p.name for p in life()]
    rows_at_kill = {p.name: len(load_run(p, spectra=False).data) for p in life()}

    # 2. the first resume is killed in the middle of an S2 J-V-L sweep
    s2_jvl_before = set(out.glob("*_S2_jvl.h5"))
    proc = _qled("recipe", "resume", str(out), "--no-report")
    _wait(lambda: len(set(out.glob("*_S2_jvl.h5")) - s2_jvl_before) >= 2, proc,
          what="the second S2 J-V-L")
    time.sleep(0.5)
    _kill(proc)

    # 3. the second resume finishes the recipe (and writes the batch report)
    proc = _qled("recipe", "resume", str(out))
    proc.wait(600)
    err = proc.stderr.read()
    assert proc.returncode == 0, err[-3000:]
    wall_s = time.monotonic() - t0

    rec = _record(out)
    steps = rec["steps"]
    assert rec["state"] == "finished"
    assert [s["command"] for s in rec["sessions"]] == ["run", "resume", "resume"]
    assert rec["sessions"][0]["ended"] is None and rec["sessions"][2]["exit"] == 0
    assert all(s["state"] == "done" for s in steps), [(s["id"], s["state"]) for s in steps]

    # one finished run file per (substrate, block, pixel); every file named by the record
    measured = {}
    for s in steps:
        files = [out / n for n in s["run_files"]]
        assert len(files) == len(s["pixels"]), s
        for f in files:
            run = load_run(f, spectra=False)
            key = (run.attrs["sample"], s["block"], int(run.attrs["pixel"]))
            assert key not in measured, f"measured twice: {key}"
            assert run.status == "finished" and key[0] == s["substrate"]
            measured[key] = run
            for inst, state in last_output_states(run.events["message"]).items():
                assert state == ("off", "off"), (f.name, inst, state)
            # the pixel was wired through the switch, and the run ended with its bus open
            messages = [str(m) for m in run.events["message"]]
            assert any(m.startswith(f"pixel {key[2]} connected to bus") for m in messages), f.name
            relays = last_relay_states(messages)
            assert relays and set(relays.values()) == {"open"}, (f.name, relays)
        assert "safety" not in s
    blocks = [k[1] for k in measured]
    assert (blocks.count("jvl"), blocks.count("dlcp"), blocks.count("life")) == (8, 2, 8)
    on_disk = sorted(p.name for p in out.glob("*.h5"))
    partial = [n for s in steps for n in s["partial_files"]]
    assert on_disk == sorted([n for s in steps for n in s["run_files"]] + partial)
    assert len(partial) >= 1 and all("_S2_jvl" in n for n in partial)    # the killed sweep
    for n in partial:
        assert load_run(out / n, spectra=False).status != "finished"

    # the killed lifetimes were continued in place, nothing of them lost
    for name in killed_life:
        run = load_run(out / name, spectra=False)
        assert name in [n for s in steps for n in s["run_files"]]
        assert run.events["message"].str.startswith("resume: gap").any()
        t = run.data["time_s"].to_numpy()
        assert len(t) > rows_at_kill[name] and np.all(np.diff(t) > 0)

    # DLCP on the best pixel by measured EQE; the figures the condition used are recorded
    for sub in ("S1", "S2"):
        eqe = {k[2]: r.analysis["jvl"]["max_eqe_percent"] for k, r in measured.items()
               if k[0] == sub and k[1] == "jvl"}
        (dlcp,) = [s for s in steps if s["substrate"] == sub and s["block"] == "dlcp"]
        assert dlcp["pixels"] == [max(eqe, key=eqe.get)]
        assert {int(p): v for p, v in dlcp["figures"].items()} == pytest.approx(eqe)
        (life_step,) = [s for s in steps if s["substrate"] == sub and s["block"] == "life"]
        assert life_step["pixels"] == sorted(eqe, key=lambda p: -eqe[p])

    # the batch report reproduces each pixel's truth
    table = _report_rows(out / "report" / "jvl" / "batch_report.md")
    assert len(table) == 8
    for (sub, pixel), (v_on, eqe) in table.items():
        run = measured[(sub, "jvl", pixel)]
        assert measured_pixel_index(run) == pixel - 1        # the switch wired this pixel
        truth = pixel_device_truth(run, "led")               # the truth of that pixel
        assert eqe == pytest.approx(truth["eqe_max_percent"], rel=0.05), (sub, pixel)
        assert v_on == pytest.approx(truth["turn_on_voltage_V"], abs=0.06), (sub, pixel)
    for k, run in measured.items():
        if k[0] == "S2" and k[1] == "life":           # pristine: T50 within the test
            a = run.analysis["lifetime"]
            assert a["t50_h"] == pytest.approx(a["truth_t50_h"], rel=0.03), k
    index = (out / "report" / "index.md").read_text()
    assert "J-V-L batch comparison (8 runs)" in index
    for s in steps:
        for n in s["run_files"]:
            assert "_jvl" in n or f"{s['kind']}: {n} →" in index, f"{n} missing from the report"
    assert not any(n in index for n in partial)       # the report covers the record's runs
    print(f"\nrecipe done-when: {len(measured)} runs, {len(partial)} partial sweep(s) kept, "
          f"wall {wall_s:.1f} s", file=sys.stderr)
