"""Keithley 6485 picoammeter: zero check, NPLC and one-reading current measurement.

Reference: Keithley, *Model 6485 Picoammeter Instruction Manual*, 6485-900-01:
``:SYSTem:ZCHeck``, ``:SENSe:CURRent:NPLCycles``, ``:READ?``.
"""
from __future__ import annotations

import logging


from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .validation import parse_floats

log = logging.getLogger(__name__)

__all__ = ["Keithley6485"]


class Keithley6485(SCPIMixin, Instrument):
    """Keithley 6485 picoammeter: zero check off, auto range, one reading per ``:READ?``.

    The reading format is restricted to the reading alone (``:FORM:ELEM READ``); a unit suffix
    (``-1.2E-09A``) is tolerated.
    """

    def __init__(self, adapter, name="Keithley 6485 Picoammeter", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 5000)
        super().__init__(adapter, name, **kwargs)

    zero_check_enabled = Instrument.control(
        ":SYST:ZCH?", ":SYST:ZCH %s",
        """Control zero check (bool); must be off to measure.""",
        validator=strict_discrete_set, values={True: "ON", False: "OFF"}, map_values=True,
        get_process=lambda v: "ON" if str(v).strip() in ("1", "ON") else "OFF",
    )

    current_range_auto_enabled = Instrument.control(
        ":SENS:CURR:RANG:AUTO?", ":SENS:CURR:RANG:AUTO %s",
        """Control current auto-ranging (bool).""",
        validator=strict_discrete_set, values={True: "ON", False: "OFF"}, map_values=True,
        get_process=lambda v: "ON" if str(v).strip() in ("1", "ON") else "OFF",
    )

    nplc = Instrument.control(
        ":SENS:CURR:NPLC?", ":SENS:CURR:NPLC %g",
        """Control the integration time in power-line cycles (float, strictly 0.01 … 6).""",
        validator=strict_range, values=(0.01, 6),
    )

    def configure(self, nplc: float = 1.0) -> None:
        """Format reading-only, zero check off, auto range, NPLC."""
        self.write(":FORM:ELEM READ")
        self.zero_check_enabled = False
        self.current_range_auto_enabled = True
        self.nplc = nplc

    def read_current_A(self) -> float:
        """One ``:READ?`` → current [A]."""
        reply = self.ask(":READ?").strip()
        first = reply.split(",")[0].strip().rstrip("Aa")
        return parse_floats(first, what=self.name)[0]
