"""docs/instrument-fidelity.md covers every simulated instrument model, and each with sources.

An instrument simulator without a chapter in the fidelity document would be modelled from
nobody's authority; this test fails when a new simulator module lands without one.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "instrument-fidelity.md"

#: Simulator modules that are not an instrument model (engine, physics, plumbing).
NOT_AN_INSTRUMENT = {"__init__", "bench", "clock", "colorimetry", "faults", "pixel", "pl_film",
                     "scpi", "scpi_syntax", "serial_pty", "serve", "smu_common", "transports",
                     "serial_meter", "lcr_model", "thermal", "optics", "sphere_model",
                     "angular", "spectrometer_model"}


def _instrument_modules() -> set[str]:
    names = {p.stem for p in (ROOT / "simulators").glob("*.py")}
    # helper modules of one model (keithley2450_buffers, cs2000_formats, …) belong to it
    return {n for n in names - NOT_AN_INSTRUMENT if not re.match(r".+_(buffers|format|formats|"
            r"status|trigger|settings|codes|commands)$", n)}


def test_every_simulated_instrument_has_a_chapter_with_its_module_named():
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(m for m in _instrument_modules() if f"simulators/{m}" not in text)
    assert not missing, f"simulator modules without a fidelity chapter: {missing}"


def test_every_chapter_table_says_its_source_and_status():
    text = DOC.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("|---")]
    assert len(rows) > 150                      # the behaviour tables, not a summary
    assert "guess" in text and "What remains unverified" in text
