"""The recipe window (``qled recipe gui FILE``): open a recipe, see its planned steps, run it
in a worker thread with every step's state shown live, abort after the current point.

**Open** reads a recipe (TOML) and validates all of it (:func:`qled.recipes.check_recipe`):
the problems are listed one per line and **Run** stays off, or the planned steps fill the
table. **Run** starts the recipe into the output folder (a folder that already holds a recipe
record is resumed instead, from its first unfinished step). **Abort** stops the current run
after its current point with its outputs off; the step is recorded ``interrupted`` and the
folder can be resumed (here or with ``qled recipe resume``).
"""
from __future__ import annotations

import threading
from pathlib import Path

from pymeasure.display.Qt import QtCore, QtWidgets

__all__ = ["RecipeWindow", "COLUMNS"]

#: Columns of the step table.
COLUMNS = ("#", "substrate", "block", "kind", "pixels", "state", "run files", "reason")


def _pixels_text(step: dict) -> str:
    if step["pixels"] is None:
        return step["condition"] or ""
    text = ", ".join(map(str, step["pixels"]))
    return f"{text} ({step['condition']})" if step.get("condition") else text


class _Bridge(QtCore.QObject):
    """Carries the worker thread's news to the GUI thread (queued signals)."""

    changed = QtCore.Signal(object)
    said = QtCore.Signal(str)
    ended = QtCore.Signal(int)


class RecipeWindow(QtWidgets.QMainWindow):
    """Open a recipe, show its steps, run / abort it; ``out_dir``: the output folder."""

    def __init__(self, recipe_path=None, out_dir=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("qled recipe")
        self.recipe = None
        self.recipe_path: Path | None = None
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.runner = None
        self.thread: threading.Thread | None = None
        self.exit_code: int | None = None
        self.state = "empty"            # empty, invalid, ready, running, finished, interrupted…
        self._bridge = _Bridge()
        self._bridge.changed.connect(self._show_record)
        self._bridge.said.connect(self._log)
        self._bridge.ended.connect(self._ended)

        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        row = QtWidgets.QHBoxLayout()
        self.open_button = QtWidgets.QPushButton("Open…")
        self.open_button.clicked.connect(self._choose)
        self.run_button = QtWidgets.QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.abort_button = QtWidgets.QPushButton("Abort")
        self.abort_button.clicked.connect(self.abort)
        self.file_label = QtWidgets.QLabel("no recipe")
        for w in (self.open_button, self.run_button, self.abort_button):
            row.addWidget(w)
        row.addWidget(self.file_label, 1)
        layout.addLayout(row)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)     # the '#' column numbers the steps
        layout.addWidget(self.table, 3)
        self.messages = QtWidgets.QPlainTextEdit()
        self.messages.setReadOnly(True)
        layout.addWidget(self.messages, 1)
        self.setCentralWidget(central)
        self.resize(1000, 600)
        self._buttons()
        if recipe_path is not None:
            self.open_recipe(recipe_path)

    # ------------------------------------------------------------------ state
    def _buttons(self) -> None:
        running = self.state == "running"
        self.run_button.setEnabled(self.state in ("ready", "interrupted"))
        self.abort_button.setEnabled(running)
        self.open_button.setEnabled(not running)

    def _log(self, text: str) -> None:
        self.messages.appendPlainText(text)

    def states(self) -> list[str]:
        """The state column, top to bottom."""
        col = COLUMNS.index("state")
        return [self.table.item(r, col).text() for r in range(self.table.rowCount())]

    def _fill(self, steps: list[dict]) -> None:
        self.table.setRowCount(len(steps))
        for r, step in enumerate(steps):
            cells = (str(step.get("id", r + 1)), step["substrate"], step["block"], step["kind"],
                     _pixels_text(step), step["state"], ", ".join(step["run_files"]),
                     step["reason"])
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(text)           # long file names and conditions in full
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)

    def _show_record(self, steps) -> None:
        self._fill(steps)

    # ------------------------------------------------------------------ open
    def _choose(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a recipe", "",
                                                        "Recipes (*.toml)")
        if path:
            self.open_recipe(path)

    def open_recipe(self, path) -> bool:
        """Read and validate ``path``; planned steps in the table, or the problems listed."""
        from qled.recipes import RecipeError, check_recipe, load_recipe, plan_steps
        from qled.recipes.check import known_parameters

        self.messages.clear()
        self.recipe_path = Path(path)
        self.file_label.setText(str(self.recipe_path))
        try:
            recipe = load_recipe(path)
            problems = check_recipe(recipe)
        except RecipeError as exc:
            recipe, problems = None, exc.problems
        if problems:
            self.recipe, self.state = None, "invalid"
            self.table.setRowCount(0)
            for line in problems:
                self._log(line)
            self._buttons()
            return False
        self.recipe, self.state = recipe, "ready"
        self._fill(plan_steps(recipe, known_parameters))
        self._log(f"{recipe.name}: {len(recipe.substrates)} substrates, {len(recipe.blocks)} "
                  "blocks — valid")
        self._buttons()
        return True

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        """Start (or resume, when the folder holds a record) the recipe in a worker thread."""
        from qled.recipes import RECORD_NAME, RecipeRunner, reopen_recipe, start_recipe

        if self.recipe is None or self.state == "running":
            return
        out = self.out_dir or self.recipe_path.with_suffix("")
        try:
            if (out / RECORD_NAME).exists():
                recipe, record = reopen_recipe(out)
                if recipe.sha256 != self.recipe.sha256:
                    raise ValueError(f"{out} holds the record of another recipe "
                                     f"({record.data.get('name')!r}): choose a new folder")
                command = "resume"
            else:
                recipe, record = self.recipe, start_recipe(self.recipe, out,
                                                           str(self.recipe_path.resolve()))
                command = "run"
        except (ValueError, OSError) as exc:
            self._log(f"refused: {' '.join(str(exc).split())}")
            return
        bridge = self._bridge
        self.runner = RecipeRunner(recipe, record, say=bridge.said.emit, progress=False,
                                   on_change=lambda rec: bridge.changed.emit(
                                       [dict(s) for s in rec.steps]))
        self.state = "running"
        self._buttons()
        self._fill(record.steps)
        self._log(f"{command}: {out}")

        def work():
            code = 1
            try:
                code = self.runner.run(command)
            except Exception as exc:  # noqa: BLE001 - shown in the window, never lost
                bridge.said.emit(f"error: {type(exc).__name__}: {exc}")
            finally:
                bridge.ended.emit(code)

        self.thread = threading.Thread(target=work, name="recipe-worker", daemon=True)
        self.thread.start()

    def abort(self) -> None:
        """Stop after the current point of the current run (outputs off)."""
        if self.runner is not None and self.state == "running":
            self.runner.stop()
            self._log("abort: stopping after the current point")

    def _ended(self, code: int) -> None:
        from qled.errors import EXIT_INTERRUPTED

        self.exit_code = code
        if self.thread is not None:
            self.thread.join(5)
        record = self.runner.record if self.runner is not None else None
        if record is not None:
            self._fill(record.steps)
        self.state = "interrupted" if code == EXIT_INTERRUPTED else "finished"
        self._log(f"recipe {self.state} (exit code {code})")
        self._buttons()

    def closeEvent(self, event):  # noqa: N802 - Qt's name
        if self.state == "running":
            self.abort()
            if self.thread is not None:
                self.thread.join(30)
        super().closeEvent(event)
