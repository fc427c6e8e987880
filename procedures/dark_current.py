"""Photodiode dark current of a run: measured with the LED's source off, recorded, subtracted.

A mixin of the procedures with a photodiode light route (J-V-L, lifetime). Before the
first photodiode reading, at a resume and at the end, :meth:`DarkCurrentRoute.measure_dark`
switches the LED's SMU output off, takes ``dark_current_readings`` photocurrent readings
(:meth:`~instruments.roles.PhotodiodeMeter.measure_dark_current_A`) and records them as one
``/events`` entry of a fixed form (``acquisition/schema.md``, "Dark current")::

    dark current start: I_dark = +2.00123e-11 A, std 1.9e-12 A, n = 10, at time_s = 0 s (source output off)

``time_s`` is on the clock of the run's ``time_s`` column (the sweep's elapsed time, the
lifetime's stress time). The live luminance subtracts the latest reading (the start one);
the analysis interpolates between the readings (:mod:`analysis.dark_current`).
``dark_current_readings = 0`` switches it off (nothing subtracted, nothing recorded).
"""
from __future__ import annotations

import math

from pymeasure.experiment import IntegerParameter

__all__ = ["DarkCurrentRoute", "DARK_EVENT_PREFIX"]

DARK_EVENT_PREFIX = "dark current"


class DarkCurrentRoute:
    """Dark-current readings of the photodiode route (mixin; needs ``log_event``)."""

    dark_current_readings = IntegerParameter(
        "Photodiode dark-current readings, LED off (0 = no dark correction)", minimum=0,
        maximum=1000, default=10)

    #: The dark current the live luminance subtracts [A] (the latest reading; 0 without).
    dark_current_live_A = 0.0

    def dark_correction_on(self) -> bool:
        return self.light_route == "photodiode" and int(self.dark_current_readings) > 0

    def measure_dark(self, smu, photodiode, label: str, time_s: float | None = None
                     ) -> float | None:
        """Switch ``smu`` (the LED's source) off, read the dark current, record it as the
        ``label`` (``start``, ``resume``, ``end``) reading at ``time_s`` [s] (None: the
        middle of the readings on ``elapsed_s()``); it becomes the live value. Returns the
        mean [A], or None when the correction is off."""
        if not self.dark_correction_on() or photodiode is None:
            return None
        smu.output_off()           # a dark current is only dark with the LED undriven
        before = self.elapsed_s()
        try:
            dark = photodiode.measure_dark_current_A(int(self.dark_current_readings))
        except Exception as exc:   # noqa: BLE001 - the end reading must not lose the run
            if label != "end":
                raise
            self.log_event("warning", f"{DARK_EVENT_PREFIX} end: not measured ({exc}); the "
                           "analysis holds the last reading")
            return None
        if time_s is None:
            time_s = 0.5 * (before + self.elapsed_s())
        t = float(time_s) if math.isfinite(time_s) else math.nan
        self.log_event("info", f"{DARK_EVENT_PREFIX} {label}: I_dark = {dark.current_A:+.6e} A, "
                       f"std {dark.std_A:.3g} A, n = {dark.n}, at time_s = {t:.9g} s "
                       "(source output off)")
        self.dark_current_live_A = float(dark.current_A)
        return self.dark_current_live_A

    #: False on a resumed run whose file has no ``dark_current_A`` column (older files).
    dark_column = True

    def dark_field(self) -> dict:
        """The row's ``dark_current_A``: the live value subtracted (NaN with the correction
        off; absent for a file without the column)."""
        if not self.dark_column:
            return {}
        return {"dark_current_A": self.live_dark_A() if self.dark_correction_on() else math.nan}

    def live_dark_A(self) -> float:
        """The dark current subtracted from a live reading [A] (0 with the correction off)."""
        return self.dark_current_live_A if self.dark_correction_on() else 0.0
