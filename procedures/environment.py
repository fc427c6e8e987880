"""The environment beside a measurement: device temperature and the room's T and RH.

A station may have a ``thermometer`` (device temperature; per lifetime channel too) and an
``ambient`` sensor (room T/RH); both are optional. :func:`read_environment` reads what there
is, NaN for what is missing or failed. Runs record it at their start and end as one event
each (:func:`environment_message`, format in acquisition/schema.md, "Environment records");
lifetime rows carry the three columns of :data:`ENVIRONMENT_COLUMNS`.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

from pymeasure.experiment import FloatParameter

__all__ = ["ENVIRONMENT_COLUMNS", "ENVIRONMENT_UNITS", "LoggedEnvironment", "read_environment",
           "environment_message", "thermometer_for"]

#: Columns a lifetime row carries (NaN when the station has no such sensor).
ENVIRONMENT_COLUMNS = ("device_temperature_C", "ambient_temperature_C", "ambient_rh_percent")
#: Their units (``_C`` is degrees Celsius here, which the store's suffix table spells degC).
ENVIRONMENT_UNITS = {"device_temperature_C": "degC", "ambient_temperature_C": "degC",
                     "ambient_rh_percent": "%"}


class LoggedEnvironment:
    """Mixin of a procedure whose rows carry the environment (lifetime): the columns' units
    and the warning threshold of the report (``analysis.environment``)."""

    COLUMN_UNITS = dict(ENVIRONMENT_UNITS)
    max_temperature_change_K = FloatParameter(
        "Warn when the device temperature moves more than", units="K", minimum=0.1,
        maximum=200.0, default=5.0)

    def environment_row(self) -> dict:
        """The environment columns of one row; a resumed file written before they existed
        (``_stored_columns``, set by the resume) gets none of them."""
        values = self.environment_now()
        stored = getattr(self, "_stored_columns", None)
        return values if stored is None else {k: v for k, v in values.items() if k in stored}


def thermometer_for(station: Any, channel: Optional[int]) -> Any:
    """The thermometer that sees this run's pixel: the lifetime channel's own, else the
    station's (which faces channel 1 / the measured pixel); None when there is none."""
    channels = getattr(station, "channels", None) or []
    if channel is not None and 1 <= channel <= len(channels):
        own = getattr(channels[channel - 1], "thermometer", None)
        if own is not None:
            return own
        if channel != 1:
            return None     # the station's thermometer is on another pixel
    return getattr(station, "thermometer", None)


def read_environment(station: Any, channel: Optional[int] = None, *,
                     on_problem: Optional[Callable[[str, str], None]] = None) -> dict:
    """``{device_temperature_C, ambient_temperature_C, ambient_rh_percent}`` now.

    A missing sensor gives NaN; a failed reading gives NaN and ``on_problem(key, reason)``
    (the run goes on: the environment is recorded, it does not stop a measurement).
    """
    out = dict.fromkeys(ENVIRONMENT_COLUMNS, math.nan)
    thermometer = thermometer_for(station, channel)
    if thermometer is not None:
        try:
            out["device_temperature_C"] = float(thermometer.read_temperature_C())
        except Exception as exc:  # noqa: BLE001 - any driver failure: NaN and a note
            if on_problem is not None:
                on_problem("thermometer", str(exc).splitlines()[0] if str(exc) else
                           type(exc).__name__)
    ambient = getattr(station, "ambient", None)
    if ambient is not None:
        try:
            t, rh = ambient.read()
            out["ambient_temperature_C"], out["ambient_rh_percent"] = float(t), float(rh)
        except Exception as exc:  # noqa: BLE001
            if on_problem is not None:
                on_problem("ambient", str(exc).splitlines()[0] if str(exc) else
                           type(exc).__name__)
    return out


def environment_message(when: str, values: dict) -> str:
    """``environment start: device_temperature_C=25.013 ambient_temperature_C=22.004
    ambient_rh_percent=39.98`` (``nan`` where not available)."""
    parts = " ".join(f"{k}={float(values.get(k, math.nan)):.6g}" for k in ENVIRONMENT_COLUMNS)
    return f"environment {when}: {parts}"
