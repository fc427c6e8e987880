"""The command line guides: grouped options with units and defaults, devices listed, one line
for a missing extra or display, completion, and no command lost to a failed import."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qled.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]

#: Runs ``qled`` with the Qt bindings made unimportable (as on a machine without the extra).
NO_QT = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'qtpy', 'pyqtgraph'):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
from qled.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_qled(code, *args, env=None):
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})))


def test_without_qt_every_command_is_still_there_and_gui_names_the_extra(tmp_path):
    listing = run_qled(NO_QT, "--help")
    assert listing.returncode == 0, listing.stderr
    for command in ("run", "gui", "demo", "analyze", "report", "resume", "inspect", "export",
                    "trpl", "sim", "completion", "batch"):
        assert f"    {command}" in listing.stdout, command
    done = run_qled(NO_QT, "gui", "jvl", "--out", tmp_path, env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "qled: error: qled gui needs a Qt binding, which is not installed: "
        "pip install 'qled-bench[gui]'"]


def test_gui_without_a_display_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                             "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "qled", "gui", "jvl", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=dict(env, PYTHONPATH=str(ROOT)))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("qled: error: qled gui needs a display") and "offscreen" in line


def test_run_help_groups_options_with_units_and_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["run", "jvl", "--help"])
    text = capsys.readouterr().out
    order = [text.index(f"\n{g}:") for g in ("sample and device", "sweep", "limits and safety",
                                             "instruments", "output",
                                             "simulated bench (--station sim…)")]
    assert order == sorted(order)
    assert "--step-voltage-V V" in text and "allowed 0.001 … 5 V; default 0.1" in " ".join(text.split())
    assert "sim:<passivated|pristine|uniform_junction>" in text


def test_sim_devices_lists_each_kind(capsys):
    assert main(["sim", "devices"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines}
    assert "sim:electron_only" in rows["sclc"] and "sim:pl_pristine" in rows["pl-stability"]
    assert "sim:uniform_junction" in rows["dlcp"]


def test_error_lines_carry_no_exception_class_names(tmp_path, capsys):
    bad = tmp_path / "lab.toml"
    bad.write_text("[smu]\ndriver = 'nope'\n")
    code = main(["run", "jvl", "--station", str(bad), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("qled: error: ")
    assert "Error:" not in err.splitlines()[0], err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_completion_script_knows_every_kind(capsys):
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    for kind in ("jvl", "lifetime", "dlcp", "cv", "sclc", "pl-stability"):
        assert kind in script
    assert "--step-voltage-V" in script


def test_demo_default_folder_is_not_the_current_one(monkeypatch, tmp_path):
    from qled.commands.demo import default_demo_folder

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = default_demo_folder()
    assert folder.is_relative_to(tmp_path / "data") and folder.parent.name == "demo"
    assert not folder.is_relative_to(Path.cwd())


def test_parser_has_every_kind():
    parser = build_parser()
    run = next(a for a in parser._subparsers._group_actions[0].choices["run"]._actions
               if a.dest == "kind")
    assert set(run.choices) >= {"jvl", "lifetime", "dlcp", "cv", "sclc", "pl-stability"}
