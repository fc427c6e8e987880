"""Recipes: parsing and whole-recipe validation (one line per problem, nothing written), the
plan (defaults, per-pixel and per-channel overrides, substrates), conditions, and a short
recipe run on the simulated bench with a stop in the middle and its resume."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acquisition.store import load_run
from qled.cli import main
from qled.recipes import (RecipeError, RecipeRunner, check_recipe, parse_condition,
                          parse_recipe, plan_steps, start_recipe, reopen_recipe)
from qled.recipes.check import known_parameters
from qled.recipes.plan import select_pixels
from qled.recipes.safety import last_output_states, last_relay_states, relays_open_recorded

ROOT = Path(__file__).resolve().parents[2]

#: A short J-V-L (coarse steps, fast clock) and a DLCP on the best pixel.
SMALL = """
[recipe]
name = "small"
sim = { time_scale = 1000, noise = false }

[defaults]
operator = "tests"

[[substrate]]
name = "A"
station = "sim:passivated"
pixels = [1, 2]

[[block]]
name = "jvl"
kind = "jvl"
parameters = { start_voltage_V = 2.5, stop_voltage_V = 5.0, step_voltage_V = 0.5, dwell_s = 0.01, compliance_mA = 100.0 }

[[block]]
name = "dlcp"
kind = "dlcp"
pixels = "best 1 by max_eqe_percent from jvl"
parameters = { eps_r = 25.0, settle_s = 0.01 }
"""


def _problems(text: str) -> list[str]:
    try:
        recipe = parse_recipe(text, "r.toml")
    except RecipeError as exc:
        return exc.problems
    return check_recipe(recipe)


def test_condition_grammar():
    c = parse_condition("best 2 by max_eqe_percent from jvl")
    assert (c.count, c.metric, c.source, c.descending) == (2, "max_eqe_percent", "jvl", True)
    assert parse_condition("lowest 1 by turn_on_voltage_V from jvl").descending is False
    for bad in ("best by x from y", "best 0 by x from jvl", "top 2 of jvl"):
        with pytest.raises(ValueError, match="pixels ="):
            parse_condition(bad)


def test_small_recipe_is_valid_and_planned_in_order():
    recipe = parse_recipe(SMALL, "r.toml")
    assert check_recipe(recipe) == []
    steps = plan_steps(recipe, known_parameters)
    assert [(s["block"], s["pixels"]) for s in steps] == [("jvl", [1]), ("jvl", [2]),
                                                          ("dlcp", None)]
    v = steps[1]["parameters"][0]
    assert v["operator"] == "tests" and v["sample"] == "A" and v["pixel"] == 2
    assert v["station"] == "sim:passivated" and v["step_voltage_V"] == 0.5
    assert steps[0]["sim"] == {"time_scale": 1000.0, "noise": False}


def test_precedence_defaults_block_substrate_per_pixel_per_channel():
    text = SMALL.replace('pixels = [1, 2]', 'pixels = [1, 2]\nparameters = { dwell_s = 0.02 }')
    text = text.replace('compliance_mA = 100.0 }', 'compliance_mA = 100.0 }\n'
                        'per_pixel = { "2" = { compliance_mA = 50.0 }, "A/1" = { nplc = 0.5 } }')
    text += """
[[block]]
name = "life"
kind = "lifetime"
pixels = [1, 2]
channels = true
per_channel = [{ l0_cd_m2 = 1000.0 }, { l0_cd_m2 = 2000.0 }]
"""
    recipe = parse_recipe(text, "r.toml")
    assert check_recipe(recipe) == []
    steps = plan_steps(recipe, known_parameters)
    p1, p2 = steps[0]["parameters"][0], steps[1]["parameters"][0]
    assert p1["dwell_s"] == 0.02 == p2["dwell_s"]            # substrate over block
    assert p2["compliance_mA"] == 50.0 and p1["compliance_mA"] == 100.0
    assert p1["nplc"] == 0.5 and "nplc" not in p2
    life = steps[-1]
    assert life["pixels"] == [1, 2] and [v["l0_cd_m2"] for v in life["parameters"]] == \
        [1000.0, 2000.0]
    assert "eps_r" not in life["parameters"][0]                # defaults only where known


@pytest.mark.parametrize("edit, expected", [
    (("kind = \"dlcp\"", "kind = \"dlcpx\""), "block 'dlcp': kind = 'dlcpx' is not known"),
    (("step_voltage_V = 0.5", "step_voltage_V = 50"), "block 'jvl': step_voltage_V = 50"),
    (("from jvl", "from dlcp"), "block 'dlcp' is this block"),
    (("max_eqe_percent", "max_eqe"), "'max_eqe' is not a metric of kind 'jvl': allowed"),
    (("sim:passivated", "sim:nonsense"), "station = 'sim:nonsense' is not allowed"),
    (("pixels = [1, 2]", "pixels = [1, 99]"), "pixel 99 is out of range: allowed 1 … 64"),
    (("operator = \"tests\"", "operatr = \"tests\""), "[defaults]: 'operatr' is a parameter"),
    (("eps_r = 25.0", "eps_r = 25.0, pixel = 3"), "parameters.pixel is set by the recipe"),
])
def test_each_problem_is_one_line_naming_block_and_range(edit, expected):
    problems = _problems(SMALL.replace(*edit))
    assert problems, edit
    assert all(p.startswith("r.toml: ") and "\n" not in p for p in problems)
    assert any(expected in p for p in problems), problems


def test_every_problem_is_reported_at_once():
    text = SMALL.replace("step_voltage_V = 0.5", "step_voltage_V = 50") \
        .replace("max_eqe_percent", "max_eqe").replace("eps_r = 25.0", "eps_r = -1")
    problems = _problems(text)
    assert len(problems) == 3, problems
    assert _problems("[[block]]\nname = 'x'\n")[0] == \
        "r.toml: [[substrate]]: a recipe needs at least one substrate"
    assert _problems("not toml [")[0].startswith("r.toml: not valid TOML")


def test_check_command_exit_2_and_nothing_written(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace("step_voltage_V = 0.5", "step_voltage_V = 50")
                   .replace("from jvl", "from nowhere"))
    assert main(["recipe", "check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("qled: error: bad.toml: block '") for line in err)
    out = tmp_path / "out"
    assert main(["recipe", "run", str(bad), "--out", str(out)]) == 2
    assert not out.exists()                                  # nothing written
    good = tmp_path / "good.toml"
    good.write_text(SMALL)
    assert main(["recipe", "check", str(good)]) == 0
    assert "3 steps planned" in capsys.readouterr().out


def test_select_pixels_ranks_done_steps_and_says_why_others_are_out():
    cond = parse_condition("best 2 by max_eqe_percent from jvl")
    steps = [{"substrate": "A", "block": "jvl", "pixels": [p], "state": s,
              "results": {str(p): r}} for p, s, r in
             [(1, "done", {"max_eqe_percent": 10.0}), (2, "failed", {}),
              (3, "done", {"max_eqe_percent": 12.0}), (4, "done", {})]]
    chosen, figures, reason = select_pixels(steps, "A", cond, (1, 2, 3, 4))
    assert chosen == [3, 1] and reason == ""
    assert figures == {"1": 10.0, "2": "jvl step failed", "3": 12.0, "4": "no max_eqe_percent"}
    chosen, figures, reason = select_pixels(steps[1:2], "A", cond, (1, 2, 3, 4))
    assert chosen == [] and "no pixel of A has max_eqe_percent" in reason


def test_failed_source_skips_the_dependent_block_with_its_reason(tmp_path):
    recipe = parse_recipe(SMALL, "r.toml")
    record = start_recipe(recipe, tmp_path / "out")
    for step in record.steps[:2]:                     # as if both J-V-L runs failed
        step.update(state="failed", reason="pixel: run failed")
    lines = []
    code = RecipeRunner(recipe, record, say=lines.append, progress=False).run()
    assert code == 1
    dlcp = record.steps[2]
    assert dlcp["state"] == "skipped" and "no pixel of A has max_eqe_percent" in dlcp["reason"]
    assert dlcp["figures"] == {"1": "jvl step failed", "2": "jvl step failed"}
    assert not list((tmp_path / "out").glob("*.h5"))


def test_last_output_states():
    msgs = ["smu: output on (read back: on)", "output on, forward sweep",
            "channel2.smu: output on (read back: on)", "smu: output off (read back: off)",
            "channel2.smu: output off (read back: on)"]
    assert last_output_states(msgs) == {"smu": ("off", "off"), "channel2.smu": ("off", "on")}


def test_last_relay_states_and_the_relays_open_check(tmp_path):
    msgs = ["pixel 2 connected to bus 1 (switch keithley7001, KEITHLEY)", "smu: output off",
            "switch: bus 1 opened (read back: open)", "pixel 3 connected to bus 2 (switch …)"]
    assert last_relay_states(msgs) == {1: "open", 2: "pixel 3"}
    assert relays_open_recorded({"state": "planned", "run_files": ["x.h5"]}, tmp_path) is None


@pytest.mark.parametrize("switch", ["keithley7001", "relay_box"])
def test_a_switched_substrate_wires_each_pixel_and_ends_with_its_relays_open(tmp_path, switch):
    """``sim.switch``: every run of the recipe wires its own pixel through the simulated switch
    (an event naming pixel and bus) and ends with that bus opened and read back open; the
    recipe's safe-state checks find nothing."""
    text = SMALL.replace("noise = false }", f'noise = false, switch = "{switch}" }}')
    src = tmp_path / "switched.toml"
    src.write_text(text)
    recipe = parse_recipe(text, "switched.toml", base_dir=tmp_path)
    out = tmp_path / "out"
    record = start_recipe(recipe, out, str(src))
    assert RecipeRunner(recipe, record, say=lambda _: None, progress=False).run() == 0
    assert [s["state"] for s in record.steps] == ["done", "done", "done"]
    for s in record.steps:
        assert "safety" not in s
        for n in s["run_files"]:
            run = load_run(out / n, spectra=False)
            msgs = [str(m) for m in run.events["message"]]
            pixel = int(run.attrs["pixel"])
            assert any(m.startswith(f"pixel {pixel} connected to bus 1") for m in msgs), msgs
            assert last_relay_states(msgs) == {1: "open"}
            assert run.attrs["station"]["switch"]["model"] == switch


def test_a_recipe_refuses_an_unknown_simulated_switch():
    problems = _problems(SMALL.replace("noise = false }", 'noise = false, switch = "7002" }'))
    assert len(problems) == 1 and "sim.switch = '7002'" in problems[0] \
        and "keithley7001 | relay_box" in problems[0]


def test_run_stop_in_the_middle_then_resume(tmp_path):
    """A stop request during the second J-V-L: that run ends aborted (outputs off), the step
    is ``interrupted``, exit 130; resume keeps the partial file, measures pixel 2 again,
    never re-runs pixel 1, then picks DLCP on the best pixel by measured EQE."""
    import threading
    import time

    text = SMALL.replace('compliance_mA = 100.0 }', 'compliance_mA = 100.0 }\n'
                         'per_pixel = { "2" = { step_voltage_V = 0.05 } }')   # a longer sweep
    src = tmp_path / "small.toml"
    src.write_text(text)
    recipe = parse_recipe(text, "small.toml", base_dir=tmp_path)
    out = tmp_path / "out"
    record = start_recipe(recipe, out, str(src))
    runner = RecipeRunner(recipe, record, say=lambda _: None, progress=False)

    def stop_during_the_second_sweep():
        deadline = time.monotonic() + 60
        while len(list(out.glob("*.h5"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        runner.stop()
    watcher = threading.Thread(target=stop_during_the_second_sweep, daemon=True)
    watcher.start()
    assert runner.run() == 130
    watcher.join()
    saved = json.loads((out / "recipe.json").read_text())
    assert saved["state"] == "interrupted"
    assert [s["state"] for s in saved["steps"]] == ["done", "interrupted", "planned"]
    partial = saved["steps"][1]["run_files"]
    assert len(partial) == 1 and load_run(out / partial[0]).status == "aborted"
    first = saved["steps"][0]["run_files"]

    recipe2, record2 = reopen_recipe(out)
    assert recipe2.sha256 == recipe.sha256
    assert RecipeRunner(recipe2, record2, say=lambda _: None, progress=False) \
        .run("resume") == 0
    steps = record2.steps
    assert [s["state"] for s in steps] == ["done", "done", "done"]
    assert steps[0]["run_files"] == first                       # never measured again
    assert steps[1]["partial_files"] == partial and steps[1]["run_files"] != partial
    eqe = {int(p): m["max_eqe_percent"] for s in steps[:2] for p, m in s["results"].items()}
    best = max(eqe, key=eqe.get)
    assert steps[2]["pixels"] == [best] and steps[2]["figures"] == {str(k): v for k, v in
                                                                    eqe.items()}
    # one run file per measurement, plus the partial one; nothing unaccounted for
    files = sorted(p.name for p in out.glob("*.h5"))
    named = sorted(n for s in steps for n in s["run_files"] + s["partial_files"])
    assert files == named and len(files) == 4
    for s in steps:
        assert "safety" not in s
        for n in s["run_files"]:
            run = load_run(out / n)
            assert run.status == "finished" and int(run.attrs["pixel"]) in s["pixels"]
    assert [x["command"] for x in record2.data["sessions"]] == ["run", "resume"]
    assert main(["recipe", "resume", str(out)]) == 0          # nothing left: says so


def test_recipe_command_is_registered_and_refuses_an_existing_record(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(SMALL)
    out = tmp_path / "out"
    out.mkdir()
    (out / "recipe.json").write_text("{}")
    res = subprocess.run([sys.executable, "-m", "qled", "recipe", "run", str(good), "--out",
                          str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "qled recipe resume" in res.stderr
    assert res.stderr.count("\n") == 1


@pytest.mark.skipif(sys.platform != "linux", reason="signals on Linux")
def test_sigterm_stops_after_the_current_point_with_outputs_off(tmp_path):
    """``qled recipe run`` gets SIGTERM during a sweep: that run ends aborted with the SMU
    recorded off, the step ``interrupted``, exit code 130, one line saying how to resume."""
    import os
    import signal
    import time

    src = tmp_path / "small.toml"
    src.write_text(SMALL.replace("step_voltage_V = 0.5", "step_voltage_V = 0.02"))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "qled", "recipe", "run", str(src), "--out",
                             str(out), "--no-report"], cwd=ROOT, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(out.glob("*.h5")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "qled recipe resume" in stdout
    record = json.loads((out / "recipe.json").read_text())
    assert record["state"] == "interrupted" and record["sessions"][0]["exit"] == 130
    assert [s["state"] for s in record["steps"]] == ["interrupted", "planned", "planned"]
    (name,) = record["steps"][0]["run_files"]
    run = load_run(out / name)
    assert run.status == "aborted" and "SIGTERM" in record["steps"][0]["reason"]
    assert last_output_states(run.events["message"])["smu"] == ("off", "off")


@pytest.mark.parametrize("pixels", [1, 3, 16])
def test_the_demo_recipe_is_valid_one_substrate_per_device_type(pixels):
    from qled.commands.demo import demo_recipe_text
    from qled.recipes import DEMO_RECIPE

    recipe = parse_recipe(demo_recipe_text(pixels), DEMO_RECIPE.name)
    assert check_recipe(recipe) == []
    assert [(s.name, s.station) for s in recipe.substrates] == \
        [("pristine", "sim:pristine"), ("passivated", "sim:passivated")]
    assert all(s.pixels == tuple(range(1, pixels + 1)) for s in recipe.substrates)
    assert [b.kind for b in recipe.blocks] == ["jvl", "dlcp", "cv", "lifetime", "lifetime"]
    steps = plan_steps(recipe, known_parameters)
    assert sum(s["kind"] == "jvl" for s in steps) == 2 * pixels
    assert [s["condition"] for s in steps if s["kind"] != "jvl"] == \
        ["best 1 by max_eqe_percent from jvl"] * 2 + ["best 3 by max_eqe_percent from jvl"] \
        + ["best 1 by max_eqe_percent from jvl"] * 2 + ["best 3 by max_eqe_percent from jvl"]


def test_station_files_and_channels_are_validated(tmp_path):
    text = SMALL.replace('station = "sim:passivated"', 'station = "lab.toml"')
    problems = _problems(text)
    assert any("station: " in p and "lab.toml" in p for p in problems), problems
    text = SMALL.replace('kind = "jvl"', 'kind = "jvl"\nchannels = true')
    assert any("channels = true is for lifetime blocks" in p for p in _problems(text))
    text = SMALL + '\n[[block]]\nname = "life"\nkind = "lifetime"\nchannels = true\n' \
        'parameters = { channel = 2 }\n'
    assert any("parameters.channel is set by channels = true" in p for p in _problems(text))


def test_a_lifetime_that_stops_itself_on_a_fault_is_a_failed_step(tmp_path):
    """The pristine device never reaches 100 000 cd/m²: its L0 search stops the channel
    safely (status finished, as qled run lifetime, whose exit code is 1) — a failed step
    with the reason; the recipe goes on."""
    text = """
[recipe]
sim = { time_scale = 1000, noise = false }
[[substrate]]
name = "F"
station = "sim:pristine"
pixels = [1]
[[block]]
name = "life"
kind = "lifetime"
parameters = { l0_cd_m2 = 100000.0, max_hours = 0.01 }
[[block]]
name = "jvl"
kind = "jvl"
parameters = { start_voltage_V = 2.5, stop_voltage_V = 4.0, step_voltage_V = 0.5, dwell_s = 0.01 }
"""
    recipe = parse_recipe(text, "f.toml")
    record = start_recipe(recipe, tmp_path / "out")
    code = RecipeRunner(recipe, record, say=lambda _: None, progress=False).run()
    life, jvl = record.steps
    assert code == 1 and jvl["state"] == "done"
    assert life["state"] == "failed" and "stopped safely" in life["reason"], life
    assert len(life["run_files"]) == 1 and "safety" not in life


def test_one_recipe_process_per_folder(tmp_path):
    """While a recipe runs in a folder (its record's lock held), a resume of that folder is
    refused in one line naming the holder, before it touches anything."""
    from acquisition.store import run_lock

    recipe = parse_recipe(SMALL, "r.toml")
    out = tmp_path / "out"
    record = start_recipe(recipe, out)
    before = (out / "recipe.json").read_text()
    with run_lock(out / "recipe.json", "qled recipe run"):
        res = subprocess.run([sys.executable, "-m", "qled", "recipe", "resume", str(out)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "qled recipe run" in res.stderr and "Traceback" not in res.stderr
    assert (out / "recipe.json").read_text() == before and not list(out.glob("*.h5"))
    assert record.first_unfinished() == 0
