"""The house plan is enforced: the import-linter contracts of pyproject.toml hold, and a wrong
import (one per rule) makes them fail."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("qled", "reports", "procedures", "acquisition", "instruments", "analysis",
            "simulators")
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_layer_contracts_hold():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 kept, 0 broken" in done.stdout


@pytest.fixture(scope="module")
def copy_of_the_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    return root


#: (module that gets the bad import, the import line, the contract it breaks)
VIOLATIONS = [
    ("analysis/jvl.py", "import h5py", "analysis holds functions of arrays"),
    ("analysis/photometry.py", "import reports.page", "data walks one way"),
    ("simulators/bench.py", "import instruments.roles", "data walks one way"),
    ("instruments/keysight.py", "import simulators.e4980a", "instruments import simulators only"),
    ("procedures/jvl.py", "import simulators.device", "never the simulators"),
    ("reports/sclc.py", "import instruments.station", "reports read runs through acquisition"),
    ("acquisition/runner.py", "import procedures.base", "data walks one way"),
    ("acquisition/runner.py", "import analysis.jvl", "acquisition (store, run engine)"),
    ("procedures/cv.py", "import procedures.jvl\nimport procedures.sclc", None),
    ("analysis/sclc.py", "import analysis.trpl", None),
]


@pytest.mark.parametrize("module, line, contract", VIOLATIONS,
                         ids=[f"{m}:{l.split()[1]}" for m, l, _ in VIOLATIONS])
def test_a_deliberately_bad_import_is_caught(copy_of_the_tree, module, line, contract):
    path = copy_of_the_tree / module
    original = path.read_text()
    if contract is None:            # an import circle: make the target import back
        target = line.split()[-1].replace(".", "/") + ".py"
        back = f"import {module[:-3].replace('/', '.')}"
        target_path = copy_of_the_tree / target
        target_original = target_path.read_text()
        target_path.write_text(target_original + f"\n{back}\n")
        contract = "no import circle"
    try:
        path.write_text(original + f"\n{line}\n")
        done = lint(copy_of_the_tree)
    finally:
        path.write_text(original)
        if contract == "no import circle":
            target_path.write_text(target_original)
    assert done.returncode != 0, done.stdout
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken.split()), done.stdout
