"""The recipe window, offscreen: open (planned steps or problems), run in the worker with the
step states live, abort after the current point, resume (pytest-qt)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")
from pymeasure.display.Qt import QtCore  # noqa: E402

from acquisition.store import load_run  # noqa: E402
from qled.recipes.safety import last_output_states  # noqa: E402

LEFT = QtCore.Qt.MouseButton.LeftButton

RECIPE = """
[recipe]
name = "gui"
sim = { time_scale = 1000, noise = false }

[[substrate]]
name = "G"
station = "sim:passivated"
pixels = [1, 2]

[[block]]
name = "jvl"
kind = "jvl"
parameters = { start_voltage_V = 2.5, stop_voltage_V = 5.0, step_voltage_V = 0.5, dwell_s = 0.01 }
per_pixel = { "2" = { step_voltage_V = 0.02 } }

[[block]]
name = "dlcp"
kind = "dlcp"
pixels = "best 1 by max_eqe_percent from jvl"
parameters = { eps_r = 25.0, settle_s = 0.01 }
"""


@pytest.fixture
def window(qtbot, tmp_path, no_leaked_threads):
    from qled.gui.recipe_window import RecipeWindow

    path = tmp_path / "gui.toml"
    path.write_text(RECIPE)
    w = RecipeWindow(path, out_dir=tmp_path / "out")
    qtbot.addWidget(w)
    w.show()
    yield w
    if w.thread is not None:
        w.thread.join(30)


def test_open_shows_the_planned_steps_and_refuses_a_bad_recipe(window, tmp_path):
    assert window.state == "ready" and window.run_button.isEnabled()
    assert window.states() == ["planned"] * 3
    assert window.table.item(2, 4).text() == "best 1 by max_eqe_percent from jvl"
    bad = tmp_path / "bad.toml"
    bad.write_text(RECIPE.replace("eps_r = 25.0", "eps_r = -3").replace("from jvl", "from x"))
    assert window.open_recipe(bad) is False
    assert window.state == "invalid" and not window.run_button.isEnabled()
    lines = window.messages.toPlainText().splitlines()
    assert len(lines) == 2 and all(ln.startswith("bad.toml: block 'dlcp'") for ln in lines)
    assert not (tmp_path / "out").exists()


def test_run_abort_after_the_current_point_then_resume(window, qtbot, tmp_path):
    out = tmp_path / "out"
    qtbot.mouseClick(window.run_button, LEFT)
    assert window.state == "running" and window.abort_button.isEnabled()
    qtbot.waitUntil(lambda: window.states()[:2] == ["done", "running"] and
                    len(list(out.glob("*.h5"))) == 2, timeout=30_000)
    qtbot.wait(200)
    qtbot.mouseClick(window.abort_button, LEFT)
    qtbot.waitUntil(lambda: window.state == "interrupted", timeout=30_000)
    assert window.exit_code == 130 and window.states() == ["done", "interrupted", "planned"]
    record = json.loads((out / "recipe.json").read_text())
    (partial,) = record["steps"][1]["run_files"]
    run = load_run(out / partial)
    assert run.status == "aborted"
    assert last_output_states(run.events["message"])["smu"] == ("off", "off")

    assert window.run_button.isEnabled()            # Run again = resume the folder
    qtbot.mouseClick(window.run_button, LEFT)
    qtbot.waitUntil(lambda: window.state == "finished", timeout=60_000)
    assert window.exit_code == 0 and window.states() == ["done"] * 3
    record = json.loads((out / "recipe.json").read_text())
    assert record["steps"][1]["partial_files"] == [partial]
    assert [s["command"] for s in record["sessions"]] == ["run", "resume"]
