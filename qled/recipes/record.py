"""The recipe record: ``recipe.json`` in the output folder, rewritten atomically after every
step change (a temporary file, fsync, ``os.replace``), so a kill at any moment leaves the
previous or the new record, never half of one.

It holds the recipe (text, SHA-256, source), the state of the whole recipe, every session
(``run`` / ``resume``: start, end, exit code) and every step in order (see
:mod:`qled.recipes.plan` for a step's keys); ``acquisition/schema.md`` documents it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

__all__ = ["RECORD_NAME", "FORMAT", "Record", "now_utc", "STEP_STATES", "UNFINISHED"]

RECORD_NAME = "recipe.json"
FORMAT = "qled-bench recipe record"
VERSION = 1
#: A step is ``planned``, ``running`` (or was, when the process was killed), ``done``,
#: ``failed``, ``skipped`` (with a reason) or ``interrupted`` (Ctrl-C / SIGTERM).
STEP_STATES = ("planned", "running", "done", "failed", "skipped", "interrupted")
#: States ``qled recipe resume`` continues from.
UNFINISHED = ("planned", "running", "interrupted")


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-able: {type(obj).__name__}")


class Record:
    """The record of one recipe's output folder (load it, change it, :meth:`save`)."""

    def __init__(self, folder: Path, data: dict):
        self.folder = Path(folder)
        self.data = data

    @property
    def path(self) -> Path:
        return self.folder / RECORD_NAME

    @property
    def steps(self) -> list[dict]:
        return self.data["steps"]

    @classmethod
    def new(cls, folder: Path, recipe, steps: list[dict], source_path: str) -> "Record":
        data = {"format": FORMAT, "version": VERSION, "name": recipe.name,
                "recipe_file": str(source_path), "recipe_sha256": recipe.sha256,
                "recipe_text": recipe.text, "created": now_utc(), "updated": now_utc(),
                "state": "planned", "sessions": [], "steps": steps}
        return cls(folder, data)

    @classmethod
    def load(cls, folder: Path) -> "Record":
        path = Path(folder) / RECORD_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{folder}: no {RECORD_NAME} here (not a recipe output "
                                    "folder?)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a readable recipe record: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a qled-bench recipe record")
        return cls(folder, data)

    def save(self) -> None:
        """Write the record atomically (temporary file in the folder, fsync, replace)."""
        self.data["updated"] = now_utc()
        text = json.dumps(self.data, indent=1, default=_json_default, allow_nan=False)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".recipe-", suffix=".json.tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        try:                                  # the rename itself survives a power cut
            dfd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass

    def first_unfinished(self) -> int | None:
        for i, step in enumerate(self.steps):
            if step["state"] in UNFINISHED:
                return i
        return None

    def referenced_files(self) -> set[str]:
        names = set()
        for step in self.steps:
            names |= set(step.get("run_files") or []) | set(step.get("partial_files") or [])
        return names

    def counts(self) -> dict:
        out = {s: 0 for s in STEP_STATES}
        for step in self.steps:
            out[step["state"]] = out.get(step["state"], 0) + 1
        return out
