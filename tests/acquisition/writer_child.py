"""Child-process writers for the kill, live-read and resume tests.

Rows are a deterministic function of their index so that a parent can check every
stored value after killing the child at a random moment.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from acquisition.store import RunWriter

COLUMNS = ["time_s", "voltage_V", "current_A", "luminance_cd_m2"]
WAVELENGTHS_NM = np.linspace(400.0, 700.0, 61)


def expected_rows(i: np.ndarray) -> dict[str, np.ndarray]:
    """The values row ``i`` holds (shared by writers and checkers)."""
    i = np.asarray(i, dtype=float)
    return {"time_s": 0.1 * i, "voltage_V": 1e-3 * i, "current_A": np.sin(i) * 1e-3,
            "luminance_cd_m2": np.sqrt(i)}


def expected_spectrum(i: int) -> np.ndarray | None:
    """Every 7th row carries a spectrum."""
    return np.cos(WAVELENGTHS_NM / 50.0 + i) if i % 7 == 0 else None


def make_row(i: int) -> dict:
    row = {k: float(v) for k, v in expected_rows(i).items()}
    spec = expected_spectrum(i)
    if spec is not None:
        row["spectrum"] = spec
    return row


def create(out_dir, sample="kill", **kw) -> RunWriter:
    return RunWriter.create(out_dir, procedure="tests.acquisition:KillProcedure",
                            sample=sample, columns=COLUMNS,
                            parameters={"rows_per_flush": (kw.pop("rows_per_flush", 5), "")},
                            spectrum_axis_nm=WAVELENGTHS_NM, truth={"seed": 1}, **kw)


def write_forever(writer: RunWriter, start: int, rows_per_flush: int, committed, path_out=None):
    """Append rows forever, flushing every ``rows_per_flush`` rows; after each flush
    publish the committed row count in ``committed`` (a shared ``RawValue``)."""
    i = start
    while True:
        for _ in range(rows_per_flush):
            writer.append(make_row(i))
            i += 1
        if i % 50 == 0:
            writer.event("info", f"row {i}")
        committed.value = writer.flush()


if __name__ == "__main__":  # python writer_child.py OUT_DIR ROWS_PER_FLUSH -> prints progress
    out, per = sys.argv[1], int(sys.argv[2])
    w = create(out, flush_interval_s=0.05, background_flush=False)
    print(f"PATH {w.path}", flush=True)

    class _Print:
        @property
        def value(self):
            return 0

        @value.setter
        def value(self, n):
            print(f"FLUSHED {n}", flush=True)
            time.sleep(0.005)  # a fast but not lock-hogging writer

    write_forever(w, 0, per, _Print())
