"""``qled batch analyze``: run files of every kind analysed on dask.distributed workers on
loopback end exactly as ``qled analyze FILE`` leaves them (result JSON and stored
``/analysis``); damaged, foreign, running and locked files end in the failure list; bad arguments
are one line, exit code 2; an existing scheduler is used when given."""
from __future__ import annotations

import csv
import json
import shutil
import sys

import h5py
import pytest

pytest.importorskip("distributed")

from acquisition.runner import run_procedure  # noqa: E402
from acquisition.store import load_run, run_lock  # noqa: E402
from procedures.base import build_procedure  # noqa: E402
from procedures.jvl import JVLProcedure  # noqa: E402
from procedures.lifetime import LifetimeProcedure  # noqa: E402
from qled.batch import analyze_many, collect_paths, result_json  # noqa: E402
from qled.cli import main  # noqa: E402
from qled.kinds import kind_of_run, kinds  # noqa: E402

pytestmark = pytest.mark.timeout(240)

#: Every built-in kind with an analysis (C-V comes with the DLCP demo).
KINDS = {"jvl", "lifetime", "dlcp", "cv", "sclc", "pl-stability"}


def _canonical(text: str) -> str:
    return json.dumps(json.loads(text), sort_keys=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A folder of finished, not yet analysed run files of every kind (simulated bench)."""
    folder = tmp_path_factory.mktemp("batch_runs")
    jvl = build_procedure(JVLProcedure, {
        "station": "sim", "sample": "batch", "start_voltage_V": 2.0, "stop_voltage_V": 4.0,
        "step_voltage_V": 0.1, "dwell_s": 0.0, "nplc": 0.1, "directions": "forward",
        "light_route": "photodiode", "spectrum_every": 0})
    jvl.sim_overrides = {"time_scale": 200.0, "noise": False}
    life = build_procedure(LifetimeProcedure, {
        "station": "sim", "sample": "batch", "current_density_mA_cm2": 5.0,
        "log_interval_s": 2.0, "max_hours": 0.02})
    life.sim_overrides = {"time_scale": 600.0, "noise": False}
    for proc in (jvl, life):
        result = run_procedure(proc, folder, flush_interval_s=0.2, handle_signals=False)
        assert result.status == "finished" and result.rows > 5, result.message
    for name in ("dlcp", "sclc", "pl-stability"):    # dlcp's demo makes C-V runs too
        kinds()[name].demo(folder, progress=lambda _: None)
    for path in folder.glob("*.h5"):    # the demos analyse their runs: start from none
        with h5py.File(path, "r+") as f:
            for name in list(f["analysis"]):
                del f["analysis"][name]
    paths = sorted(folder.glob("*.h5"))
    assert {kind_of_run(load_run(p, spectra=False)).name for p in paths} == KINDS
    return paths


@pytest.fixture(scope="module")
def reference(runs, tmp_path_factory):
    """``qled analyze FILE --json`` of a copy of every run: (stdout JSON, stored analysis)."""
    folder = tmp_path_factory.mktemp("reference")
    out = {}
    for path in runs:
        copy = folder / path.name
        shutil.copy2(path, copy)
        code, stdout = _qled_json(copy)
        assert code == 0
        out[path.name] = (_canonical(stdout), result_json(load_run(copy).analysis))
    return out


def _qled_json(path):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["analyze", str(path), "--json"])
    return code, buffer.getvalue()


def _copy_with_bad_files(runs, folder):
    for path in runs:
        shutil.copy2(path, folder / path.name)
    (folder / "foreign.h5").write_text("not an HDF5 file\n")
    damaged = folder / "damaged.h5"
    shutil.copy2(runs[0], damaged)
    with open(damaged, "r+b") as fh:
        fh.truncate(damaged.stat().st_size // 3)
    running = folder / "running.h5"
    shutil.copy2(runs[-1], running)
    with h5py.File(running, "r+") as f:
        f.attrs["status"] = "running"
    shutil.copy2(runs[0], folder / "locked.h5")     # another writer holds it (below)
    return {"foreign.h5", "damaged.h5", "running.h5", "locked.h5"}


def test_batch_on_two_local_workers_matches_qled_analyze(runs, reference, tmp_path, capsys):
    bad = _copy_with_bad_files(runs, tmp_path)
    failures_csv = tmp_path / "failures.csv"
    with run_lock(tmp_path / "locked.h5", "qled resume (test)"):
        code = main(["batch", "analyze", str(tmp_path), "--workers", "2",
                     "--failures-csv", str(failures_csv)])
    out, err = capsys.readouterr()
    assert code == 1, err                       # some failed: exit code 1, no crash
    assert "Traceback" not in out + err
    assert f"analysed {len(runs)} of {len(runs) + len(bad)} run files; 4 failed:" in out
    listed = {line.split(":")[0].strip().rsplit("/", 1)[-1]
              for line in out.splitlines() if line.startswith("  ")}
    assert listed == bad
    rows = list(csv.DictReader(failures_csv.open()))
    reasons = {r["file"].rsplit("/", 1)[-1]: r["reason"] for r in rows}
    assert set(reasons) == bad and all("\n" not in r for r in reasons.values())
    assert "cannot be opened as HDF5" in reasons["foreign.h5"]
    assert "not a readable run file" in reasons["damaged.h5"]
    assert "interrupted" in reasons["running.h5"] and "not stored" in reasons["running.h5"]
    assert "is being written by pid" in reasons["locked.h5"]          # one writer per file
    assert "qled resume (test)" in reasons["locked.h5"]
    for path in runs:                           # the stored /analysis, as `qled analyze` left it
        stored = load_run(tmp_path / path.name).analysis
        assert result_json(stored) == reference[path.name][1], path.name
    assert load_run(tmp_path / "running.h5").analysis == {}
    assert load_run(tmp_path / "locked.h5").analysis == {}


def test_existing_scheduler_is_used_and_results_equal_qled_analyze_json(runs, reference,
                                                                      tmp_path):
    import logging

    from distributed import LocalCluster

    for path in runs:
        shutil.copy2(path, tmp_path / path.name)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        outcome = analyze_many(collect_paths([tmp_path]), scheduler=cluster.scheduler_address)
    assert outcome.failures == []
    assert len(outcome.results) == len(runs)
    for path, result in outcome.results.items():
        name = path.rsplit("/", 1)[-1]
        assert _canonical(result_json(result)) == reference[name][0], name


@pytest.mark.parametrize("args, words", [
    (["--workers", "0", "."], "--workers = 0 is out of range"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786", "."], "--workers applies"),
    (["--scheduler", "127.0.0.1", "."], "is not a scheduler address"),
    (["/nonexistent/folder"], "does not exist"),
    ([], "give run files or folders"),
    (["--from-catalogue", "sample=QD-7"], "cannot be reached"),     # not a URL
])
def test_bad_arguments_are_one_line_exit_2(args, words, capsys):
    code = main(["batch", "analyze", *args])
    out, err = capsys.readouterr()
    assert code == 2
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_empty_folder_is_one_line(tmp_path, capsys):
    code = main(["batch", "analyze", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "holds no run files" in err and len(err.strip().splitlines()) == 1


def test_missing_extra_names_it(runs, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    code = main(["batch", "analyze", str(runs[0])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("qled: error: this command needs distributed, which is not "
                           "installed: pip install 'qled-bench[batch]'")
