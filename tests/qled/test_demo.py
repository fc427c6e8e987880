"""``qled demo`` pieces that a full (~1 min) session would otherwise be the only test of:
every run ends with its analysis recorded, and the closing summary prints each kind's
headline figures from it."""
import re

from acquisition.store import load_run
from qled.actions import lookup
from qled.commands import demo
from qled.kinds import kind_of_run, kinds


def run_kind(run):
    return kind_of_run(run).key


def test_every_demo_run_is_analysed_and_summarised(tmp_path, capsys):
    paths = kinds()["dlcp"].demo(tmp_path, progress=lambda _: None)   # DLCP + C-V, 2 devices
    assert len(paths) == 4
    demo._analyse_missing(paths)
    runs = [load_run(p) for p in paths]
    for run in runs:
        assert run_kind(run) in run.analysis, run.path
    capsys.readouterr()
    demo._print_summary(runs)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  ")]
    assert len(lines) == 4
    for run, line in zip(runs, lines):
        kind = run_kind(run)
        result = run.analysis[kind]
        if kind == "dlcp":
            low = float(re.search(r"N_DL lowest f cm-3 (\S+)", line).group(1))
            high = float(re.search(r"N_DL highest f cm-3 (\S+)", line).group(1))
            assert abs(low / result["n_dl_cm3"][0] - 1) < 1e-2
            assert abs(high / result["n_dl_cm3"][-1] - 1) < 1e-2
            assert low > 2 * high                 # traps answer only at low frequency
            assert "trap cutoff Hz" in line
        else:
            n_cv = float(re.search(r"N_CV median \(reverse\) cm-3 (\S+)", line).group(1))
            expected = result["per_frequency"][0]["median_n_cv_reverse_cm3"]
            assert abs(n_cv / expected - 1) < 1e-2


def test_lookup_walks_nested_results():
    result = {"up": {"v_tfl_V": 1.5}, "n": [1, 2, 3], "f": [{"x": 4}]}
    assert lookup(result, "up.v_tfl_V") == 1.5
    assert lookup(result, "n.-1") == 3
    assert lookup(result, "f.0.x") == 4
    assert lookup(result, "n.7") is None
    assert lookup(result, "down.v_tfl_V") is None
