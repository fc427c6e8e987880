"""The run catalogue on a real Tiled server (loopback, temporary sqlite catalogue, API key):
every kind of run served by Tiled's stock HDF5 adapter and by xarray, queries checked
against the devices' truth, replacement on re-publish, refusal of unfinished files, CSV /
parquet output, the batch page from a query, the API key never in a run file."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tiled")
pytest.importorskip("xarray")

from acquisition.store import RunWriter, load_run, write_analysis  # noqa: E402
from qled.catalogue import RunNotFinished, find, lift_metadata, publish, run_id  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from catalogue_runs import QUICK, quick_run  # noqa: E402
from tiled_server import API_KEY, tiled_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

#: J-V-L runs: (station, sample) — two devices whose true EQE maxima are far apart.
JVL = (("sim", "QD-7"), ("sim:pristine", "QD-8"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(url, runs folder, {label: path}) — one run of every kind plus three J-V-L runs,
    published to a fresh server."""
    folder = tmp_path_factory.mktemp("runs")
    paths = {label: quick_run(label, folder, sample=f"s-{label}") for label in QUICK
             if label != "jvl"}
    for station, sample in JVL:
        paths[f"jvl {station}"] = quick_run("jvl", folder, station=station, sample=sample)
    with tiled_server(folder, tmp_path_factory.mktemp("log") / "tiled.log") as url:
        publish(sorted(paths.values()), url, key=API_KEY, workers=4)
        yield url, folder, paths


def qled(*args, key=API_KEY):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("QLED_TILED_API_KEY", None)
    if key is not None:
        env["QLED_TILED_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "qled", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env)


def _walk(node, where: str) -> list[str]:
    """Everything Tiled serves under ``node``: metadata of each node, every array read."""
    problems = []
    dict(node.metadata)
    if type(node).__name__ == "Container":
        for key in list(node):
            try:
                problems += _walk(node[key], f"{where}/{key}")
            except Exception as exc:            # noqa: BLE001 - collected and reported
                problems.append(f"{where}/{key}: {exc!r}"[:300])
    else:
        node.read()
    return problems


def test_every_kind_served_by_tiled_and_xarray(lab):
    from tiled.client import from_uri
    import xarray as xr

    from concurrent.futures import ThreadPoolExecutor

    url, _, paths = lab
    client = from_uri(url, api_key=API_KEY)
    kinds = {label: p for label, p in paths.items() if label != "jvl sim:pristine"}
    with ThreadPoolExecutor(4) as pool:        # one request per node: walk files at once
        problems = sum(pool.map(lambda item: _walk(client[run_id(item[1])], item[0]),
                                kinds.items()), [])
    nulls = 0
    for label, path in kinds.items():
        groups = ["/"]
        with h5py.File(path) as f:
            f.visititems(lambda n, o: groups.append(n) if isinstance(o, h5py.Group) else None)
            nulls += sum("null_attrs" in f[g].attrs for g in groups[1:])
        for group in groups:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")       # h5netcdf's phony_dims notice
                    with xr.open_dataset(path, engine="h5netcdf", group=group) as ds:
                        ds.load()
            except Exception as exc:            # noqa: BLE001
                problems.append(f"{label} xarray {group}: {exc!r}"[:300])
    assert not problems, "\n".join(problems)
    assert nulls >= len(kinds)           # every kind stores None somewhere: the case at stake
    assert {lift_metadata(p)["kind"] for p in kinds.values()} >= {
        "jvl", "lifetime", "dlcp", "cv", "sclc", "pl-stability"}


def test_empty_attribute_of_an_older_file_still_reads_none(tmp_path):
    from acquisition.store.encoding import _read_tree

    with h5py.File(tmp_path / "old.h5", "w") as f:
        g = f.create_group("truth")
        g.attrs["missing"] = h5py.Empty("f")
        g.attrs["x"] = 1.5
        assert _read_tree(g) == {"missing": None, "x": 1.5}


def test_find_by_eqe_threshold_matches_the_truth(lab):
    url, _, paths = lab
    truth = {run_id(p): load_run(p, spectra=False).truth["pixels"][0]["device"]
             ["eqe_max_percent"] for label, p in paths.items() if label.startswith("jvl")}
    values = sorted(truth.values())
    assert values[0] * 1.2 < values[1], values    # far apart
    for threshold in (values[0] / 2, (values[0] + values[1]) / 2, values[1] * 2):
        table = find(url, key=API_KEY, kind="jvl", where=[f"max_eqe_percent > {threshold}"])
        assert set(table["run_id"]) == {r for r, v in truth.items() if v > threshold}
        # measured figure of merit within 5 % of truth (a unit error is 100×)
        for _, row in table.iterrows():
            assert row["max_eqe_percent"] == pytest.approx(truth[row["run_id"]], rel=0.05)
    two_keys = find(url, key=API_KEY, sample="QD-7", kind="jvl",
                    where=[f"max_eqe_percent > {values[0] / 2}"], since="2000-01-01")
    assert list(two_keys["run_id"]) == [run_id(paths["jvl sim"])]
    assert find(url, key=API_KEY, kind="jvl", since="2999-01-01").empty
    assert len(find(url, key=API_KEY, kind="sclc")) == 1


def test_republish_replaces_the_entry(lab, tmp_path):
    url, _, paths = lab
    path = paths["sclc"]
    analysis = load_run(path, spectra=False).analysis["sclc"]
    write_analysis(path, "sclc", {**analysis, "catalogue_test_marker": 42.0})  # re-analysis
    publish([path], url, key=API_KEY)
    table = find(url, key=API_KEY, kind="sclc")
    assert len(table) == 1 and table["catalogue_test_marker"].iloc[0] == 42.0


def test_unfinished_file_is_refused_in_one_line(lab):
    url, folder, _ = lab
    w = RunWriter.create(folder, procedure="procedures.jvl:JVLProcedure", sample="live",
                         columns=["time_s", "voltage_V"], background_flush=False)
    try:
        w.append({"time_s": 0.0, "voltage_V": 1.0})
        w.flush()
        with pytest.raises(RunNotFinished, match="journal|running"):
            publish([w.path], url, key=API_KEY)
        out = qled("publish", w.path, "--to", url)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert "only finished files are published" in out.stderr
    finally:
        w.finish()
        w.path.unlink()
    assert find(url, key=API_KEY, sample="live").empty


def test_cli_publish_find_csv_parquet_and_key_never_in_the_file(lab, tmp_path):
    url, _, paths = lab
    key_file = tmp_path / "key"
    key_file.write_text(API_KEY + "\n")
    path = paths["dlcp"]
    out = qled("publish", path, "--to", url, "--api-key-file", key_file, key=None)
    assert out.returncode == 0 and "published 1 run" in out.stdout, out.stderr
    assert API_KEY.encode() not in path.read_bytes()
    out = qled("find", "--from", url, "--kind", "jvl", "--where", "max_eqe_percent > 1",
               "--csv", tmp_path / "t.csv", "--parquet", tmp_path / "t.parquet")
    assert out.returncode == 0, out.stderr
    csv, parquet = pd.read_csv(tmp_path / "t.csv"), pd.read_parquet(tmp_path / "t.parquet")
    assert len(csv) == len(parquet) == len(JVL)
    np.testing.assert_allclose(sorted(csv["max_eqe_percent"]),
                               sorted(parquet["max_eqe_percent"]))
    shown = qled("find", "--from", url, "--sample", "QD-8", "--kind", "jvl")
    assert shown.returncode == 0 and "QD-8" in shown.stdout and "QD-7" not in shown.stdout
    no_key = qled("find", "--from", url, key=None)
    assert no_key.returncode == 2 and "API key" in no_key.stderr
    assert no_key.stderr.count("\n") == 1
    bad = qled("find", "--from", url, "--where", "max_eqe_percent ~ 3")
    assert bad.returncode == 2 and "--where" in bad.stderr and "Traceback" not in bad.stderr


def test_report_from_catalogue(lab, tmp_path):
    url, _, _ = lab
    out = qled("report", "--from-catalogue", url, "--kind", "jvl", "--out", tmp_path / "rep")
    assert out.returncode == 0, out.stderr
    index = Path(out.stdout.strip().splitlines()[-1])
    assert index.is_file()
    assert f"J-V-L batch comparison ({len(JVL)} runs)" in index.read_text(encoding="utf-8")
    batch = (index.parent / "jvl" / "batch_report.md").read_text(encoding="utf-8")
    assert all(sample in batch for sample in ("QD-7", "QD-8")) and "s-sclc" not in batch


def test_copy_to_share_is_atomic_and_never_overwrites(lab, tmp_path):
    from qled.catalogue import copy_to_share

    _, _, paths = lab
    path = paths["cv"]
    share = tmp_path / "share"
    share.mkdir()
    copy = copy_to_share(path, share)
    assert copy.read_bytes() == path.read_bytes() and copy_to_share(path, share) == copy
    assert not list(share.glob(".*part"))
    other = tmp_path / "other"
    other.mkdir()
    (other / path.name).write_bytes(b"a different file")
    with pytest.raises(FileExistsError, match="not overwritten"):
        copy_to_share(path, other)
    assert (other / path.name).read_bytes() == b"a different file"


def test_batch_and_status_take_their_runs_from_a_catalogue_query(lab, tmp_path):
    """``qled batch analyze --from-catalogue URL`` and ``qled status --from-catalogue URL``
    work on exactly the run files the query selects (the registered paths)."""
    url, _, _ = lab
    out = qled("batch", "analyze", "--from-catalogue", url, "--kind", "jvl", "--workers", "1",
               "--failures-csv", tmp_path / "failed.csv")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "failed.csv").read_text().strip() in ("", "file,reason")
    page = tmp_path / "status.html"
    out = qled("status", "--from-catalogue", url, "--kind", "jvl", "--html", page)
    assert out.returncode == 0, out.stderr
    html = page.read_text(encoding="utf-8")
    assert html.count('data-state="finished"') == len(JVL) and "sclc" not in html.lower()
    none = qled("batch", "analyze", "--from-catalogue", url, "--sample", "no-such-sample")
    assert none.returncode == 2 and none.stderr.count("\n") == 1 and "no runs match" in none.stderr
