"""``qled report DIR``: an index whose links reach existing pages with their PNG figures, a
reason listed for every file that cannot be reported, one line for a bad argument."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from acquisition.runner import run_procedure
from acquisition.store import RunWriter
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure
from procedures.sclc import SCLCProcedure

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
LINK = re.compile(r"(!?)\[[^\]]*\]\(([^)\s]+)\)")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def qled(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "qled", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=ENV)


def links(page: Path):
    """``(is_image, target path)`` of every relative Markdown link on ``page``."""
    return [(bang == "!", (page.parent / target).resolve())
            for bang, target in LINK.findall(page.read_text(encoding="utf-8"))
            if "://" not in target]


def assert_page_with_figures(page: Path, min_figures: int = 1) -> None:
    assert page.is_file() and page.suffix == ".md", page
    assert page.with_suffix(".html").is_file()
    figures = [t for is_image, t in links(page) if is_image]
    assert len(figures) >= min_figures, f"{page.name} shows no figure"
    for fig in figures:
        assert fig.suffix == ".png" and fig.is_file(), fig
        assert fig.read_bytes()[:8] == PNG_MAGIC and fig.stat().st_size > 1000


def _junk_and_mystery(folder: Path):
    """A file that is not HDF5 and a run of a kind no report exists for."""
    (folder / "junk.h5").write_text("not an HDF5 file\n")
    w = RunWriter.create(folder, procedure="tests.mystery:MysteryProcedure", sample="odd",
                         columns=["time_s", "voltage_V"], background_flush=False)
    w.append({"time_s": 0.0, "voltage_V": 1.0})
    w.finish()
    return w.path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    jvl = build_procedure(JVLProcedure, {
        "station": "sim", "sample": "rep", "start_voltage_V": 2.0, "stop_voltage_V": 4.0,
        "step_voltage_V": 0.1, "dwell_s": 0.0, "nplc": 0.1, "directions": "forward",
        "light_route": "photodiode", "spectrum_every": 0})
    jvl.sim_overrides = {"time_scale": 200.0, "noise": False}
    sclc = build_procedure(SCLCProcedure, {
        "station": "sim:electron_only", "sample": "rep", "thickness_nm": 50.0, "eps_r": 25.0,
        "area_cm2": 0.01, "dwell_s": 0.05, "points_per_decade": 8, "max_voltage_V": 8.0})
    sclc.sim_overrides = {"time_scale": 500.0, "noise": False}
    paths = {}
    for kind, proc in (("jvl", jvl), ("sclc", sclc)):
        result = run_procedure(proc, folder, flush_interval_s=0.2, handle_signals=False)
        assert result.status == "finished" and result.rows > 5, result.message
        paths[kind] = result.path
    paths["mystery"] = _junk_and_mystery(folder)
    paths["junk"] = folder / "junk.h5"
    return folder, paths


def test_report_index_links_pages_and_figures(runs):
    folder, paths = runs
    done = qled("report", folder)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    index = folder / "report" / "index.md"
    assert done.stdout.strip() == str(index)
    text = index.read_text(encoding="utf-8")
    entries = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(entries) == 4, text           # J-V-L batch, SCLC page, two reasons

    targets = [t for is_image, t in links(index) if not is_image]
    assert len(targets) == 2, text
    assert all(t.is_file() for t in targets), targets
    batch, sclc = sorted(targets, key=lambda t: t.parent.name)
    assert batch.name == "batch_report.md" and batch.parent.name == "jvl"
    assert sclc.parent.name == "sclc" and sclc.stem == paths["sclc"].stem
    assert f"{paths['sclc'].name} → [" in text

    # the batch page: its figures, and a link to the J-V-L run's own page with its figures
    assert_page_with_figures(batch, min_figures=3)
    (run_page,) = [t for is_image, t in links(batch) if not is_image]
    assert run_page.stem == paths["jvl"].stem and run_page.parent.name == "runs"
    assert_page_with_figures(run_page, min_figures=2)
    assert_page_with_figures(sclc)

    # files that cannot be reported: listed with their reason, not a crash
    (mystery,) = [e for e in entries if paths["mystery"].name in e]
    assert "no report (runs of kind 'mystery' (procedure" in mystery
    (junk,) = [e for e in entries if "junk.h5" in e]
    assert "no report (not a readable run file:" in junk and "cannot be opened as HDF5" in junk


def test_report_with_no_comparable_jvl_run_still_writes_the_index(tmp_path):
    # a J-V-L run without a luminance column cannot be compared: the batch is not written,
    # the index says why, and the other files still get their line
    w = RunWriter.create(tmp_path, procedure="procedures.jvl:JVLProcedure", sample="dark",
                         columns=["time_s", "voltage_V", "current_A"], background_flush=False)
    w.append({"time_s": 0.0, "voltage_V": 2.0, "current_A": 1e-6})
    w.finish("aborted", "stopped by the operator")
    _junk_and_mystery(tmp_path)
    out = tmp_path / "elsewhere"
    done = qled("report", tmp_path, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    text = (out / "index.md").read_text(encoding="utf-8")
    assert "J-V-L batch comparison (1 runs): not written (" in text
    assert "runs of kind 'mystery' (procedure" in text and "belong to no installed kind" in text
    assert "junk.h5: no report (not a readable run file:" in text
    assert all(t.is_file() for _, t in links(out / "index.md"))


@pytest.mark.parametrize("make, fragment", [
    (lambda d: d / "run.h5", "is not a folder"),            # a file, not a folder
    (lambda d: d / "missing", "is not a folder"),
    (lambda d: d / "empty", "no run files (*.h5) to report on in"),
])
def test_report_refuses_a_bad_argument_in_one_line(tmp_path, make, fragment):
    (tmp_path / "run.h5").write_text("x")
    (tmp_path / "empty").mkdir()
    target = make(tmp_path)
    done = qled("report", target, "--out", tmp_path / "out", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qled: error: ") and fragment in lines[0]
    assert target.name in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_page_that_fails_unexpectedly_is_listed_not_fatal(runs, monkeypatch):
    # A report function meeting content it did not expect (KeyError, say) must cost only
    # that run its page: the reason goes in the index, one line.
    from reports.index import _report_one
    _, paths = runs

    def broken(run, out_dir, **options):
        raise KeyError("luminance_cd_m2")

    reason = _report_one((broken, str(paths["sclc"]), "unused", {}))
    assert reason == "report failed: KeyError: 'luminance_cd_m2'"
