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


def _command_blocks():
    """Every fenced ``bash`` block of the README after the quick start (CI runs that one)."""
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    return [b for b in blocks[1:] if re.search(r"^\s*qled ", b, re.M)]


def test_every_fenced_readme_command_runs_as_written(tmp_path):
    """Each block runs in order, as written, in one folder, with the installed ``qled`` on the
    PATH, on the simulated bench; a window opened by ``qled gui`` closes itself after 2 s
    (QLED_GUI_EXIT_AFTER_S) and has no screen (QT_QPA_PLATFORM=offscreen)."""
    import os
    import subprocess
    import sys
    import time

    blocks = _command_blocks()
    assert len(blocks) >= 7
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QLED_GUI_EXIT_AFTER_S="2",
               PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                     os.environ.get("PATH", "")]))
    env.pop("DISPLAY", None)
    t0 = time.monotonic()
    for block in blocks:
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, f"{block}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        assert "Traceback" not in done.stderr, block + done.stderr
    assert time.monotonic() - t0 < 240
    assert len(list((tmp_path / "runs").glob("*.h5"))) >= 10
