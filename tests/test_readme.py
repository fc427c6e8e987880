"""The README's promises: its two set-up commands are what CI runs, its analysis example runs."""
from __future__ import annotations

import re
from pathlib import Path

from acquisition.runner import run_procedure
from procedures.base import build_procedure
from procedures.jvl import JVLProcedure

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_first_two_commands_install_demo_and_tests_and_ci_runs_the_second():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert "qled demo" in block[0] and "pip install" in block[0]
    assert "pytest" in block[1] and ".[test]" in block[1]
    assert block[1].strip() in (ROOT / ".ci" / "run").read_text()


def test_analysis_example_runs_on_a_real_run_file(tmp_path):
    proc = build_procedure(JVLProcedure, {"start_voltage_V": 2.4, "stop_voltage_V": 4.0,
                                          "step_voltage_V": 0.1, "dwell_s": 0.0,
                                          "directions": "forward"})
    proc.sim_overrides = {"time_scale": 200.0, "noise": False}
    path = run_procedure(proc, tmp_path, handle_signals=False).path
    code = re.search(r"## The analysis API.*?```python\n(.*?)```", README, re.S).group(1)
    code = re.sub(r'load_run\("[^"]+"\)', f"load_run({str(path)!r})", code)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert 10 < namespace["summary"].to_dict()["max_eqe_percent"] < 25
    assert 1.4 < namespace["n"] < 1.6
