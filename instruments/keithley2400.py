"""Keithley 2400 SourceMeter: PyMeasure's stock driver with validated compliance, one-message
point reads and hardware list sweeps, and the :class:`~instruments.roles.SourceMeter` role on
top of it.

Reference: Keithley, *Model 2400 Series SourceMeter User's Manual*, 2400S-900-01 Rev. G
(2011): §18 (SCPI reference: ``:SOURce``, ``:SENSe``, ``:FORMat:ELEMents``), App. C (status
word, bit 3 = compliance), §10 (source-memory / list sweeps, ≤ 100 list points, trigger count
≤ 2500).
"""
from __future__ import annotations

import logging
import math
from typing import Sequence

import numpy as np

from pymeasure.instruments.keithley import Keithley2400 as _StockKeithley2400
from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .roles import Reading, SweepResult
from .transport import fast_query, read_timeout
from .validation import parse_floats

log = logging.getLogger(__name__)

from .keithley_sourcemeter import (_NAN_THRESHOLD, COMPLIANCE_BIT, LIST_CHUNK_2400,
                                   KeithleySourceMeter,
                                   _floats, _nan)

__all__ = ["Keithley2400", "Keithley2400SourceMeter"]


class Keithley2400(_StockKeithley2400):
    """Keithley 2400 SourceMeter: PyMeasure's stock driver, with validated compliance limits,
    one-message source-and-read, and list sweeps.

    ``:READ?`` returns the elements set at connect by the stock driver:
    voltage, current, resistance, time, status (5 values per reading).
    """

    #: Source limits [V], [A] of the 2400 (±210 V, ±1.05 A).
    voltage_limits_V = (-210.0, 210.0)
    current_limits_A = (-1.05, 1.05)
    #: Compliance limits (magnitudes).
    compliance_current_limits_A = (1e-9, 1.05)
    compliance_voltage_limits_V = (2e-4, 210.0)

    def __init__(self, adapter, name="Keithley 2400 SourceMeter", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 5000)
        super().__init__(adapter, name, **kwargs)

    compliance_current = Instrument.control(
        ":SENSE:CURRENT:PROTECTION?", ":SENSE:CURRENT:PROTECTION %g",
        """Control the current compliance in A (float, strictly 1e-9 … 1.05).""",
        validator=strict_range, values=compliance_current_limits_A,
    )

    compliance_voltage = Instrument.control(
        ":SENSE:VOLTAGE:PROTECTION?", ":SENSE:VOLTAGE:PROTECTION %g",
        """Control the voltage compliance in V (float, strictly 2e-4 … 210).""",
        validator=strict_range, values=compliance_voltage_limits_V,
    )

    def source_and_read(self, function: str, level: float) -> list[float]:
        """Set the source level and take one reading in a single message.

        One message (``:SOUR:VOLT 1.5;:READ?``) avoids the write-then-query round trip that
        stalls on Nagle + delayed ACK. Returns the 5 format elements.
        """
        # Class attributes via type(self): PyMeasure's instance __getattribute__ costs ~1 µs each.
        cls = type(self)
        if function == "VOLT":
            level = strict_range(level, cls.voltage_limits_V)
        elif function == "CURR":
            level = strict_range(level, cls.current_limits_A)
        else:
            strict_discrete_set(function, ("VOLT", "CURR"))   # raises the usual error
        reply = fast_query(self.adapter, f":SOUR:{function} {level:.7g};:READ?")
        return _floats(reply, self, 5)

    def read_elements(self) -> list[float]:
        """One ``:READ?`` (all points of a configured sweep), 5 values per point."""
        return parse_floats(self.ask(":READ?"), what=self.name, multiple_of=5)

    def configure_list_sweep(self, voltages_V: Sequence[float], delay_s: float) -> None:
        """Program a voltage list sweep of ≤ 100 points (2400 source memory list)."""
        if not 1 <= len(voltages_V) <= LIST_CHUNK_2400:
            raise ValueError(f"len(voltages_V) = {len(voltages_V)} is out of range: "
                             f"allowed 1 … {LIST_CHUNK_2400} per list")
        points = ",".join(f"{strict_range(v, self.voltage_limits_V):.7g}" for v in voltages_V)
        delay_s = strict_range(delay_s, (0, 999.9999))
        self.write(f":SOUR:VOLT:MODE LIST;:SOUR:LIST:VOLT {points};"
                   f":TRIG:COUN {len(voltages_V)};:SOUR:DEL {delay_s:g}")

    def end_sweep(self, level_V: float) -> None:
        """Return to a fixed source level after a list sweep."""
        level_V = strict_range(level_V, self.voltage_limits_V)
        self.write(f":SOUR:VOLT:MODE FIX;:TRIG:COUN 1;:SOUR:VOLT {level_V:.7g}")




class Keithley2400SourceMeter(KeithleySourceMeter):
    """:class:`~instruments.roles.SourceMeter` on a Keithley 2400.

    Examples
    --------
    >>> with Keithley2400SourceMeter.open("TCPIP::127.0.0.1::5025::SOCKET") as smu:  # doctest: +SKIP
    ...     smu.configure_voltage_source(compliance_A=0.01)
    ...     smu.output_on()
    ...     r = smu.source_voltage_and_measure(3.0)
    """

    driver_class = Keithley2400

    def _apply_configuration(self, driver) -> None:
        if self.function == "VOLT":
            driver.source_mode = "voltage"
            driver.compliance_current = self.compliance
            driver.current_nplc = self.nplc
            if self._range is None:
                driver.current_range_auto_enabled = True
            else:
                driver.current_range = self._range
        else:
            driver.source_mode = "current"
            # Sourcing current, the 2400 returns 9.91e37 for V unless voltage is a sense
            # function too (2400 manual §18, :SENSe:FUNCtion[:ON] <list>).
            driver.write(':SENS:FUNC "VOLT","CURR"')
            driver.compliance_voltage = self.compliance
            driver.voltage_nplc = self.nplc
            driver.voltage_range_auto_enabled = True
        self._check_errors(driver)

    def _readings(self, values: list[float]) -> SweepResult:
        a = np.asarray(values, dtype=float).reshape(-1, 5)
        v, i = _nan(a[:, 0]), _nan(a[:, 1])
        status = a[:, 4].astype(np.int64)
        return SweepResult(v, i, (status & COMPLIANCE_BIT) != 0, a[:, 3])

    def _reading(self, values: list[float]) -> Reading:
        if len(values) != 5:
            return self._readings(values)[0]
        v, i, _r, t, status = values
        return Reading(math.nan if abs(v) >= _NAN_THRESHOLD else v,
                       math.nan if abs(i) >= _NAN_THRESHOLD else i,
                       bool(int(status) & COMPLIANCE_BIT), t)

    def sweep_voltage(self, voltages_V: Sequence[float], delay_s: float) -> SweepResult:
        """Hardware list sweep: ≤ 100 points per instrument list, one ``:READ?`` per list.

        The fixed source level returns to its value before the sweep when it ends.
        """
        voltages, delay_s = self._check_sweep(voltages_V, delay_s)

        def run(driver):
            parts = []
            try:
                for start in range(0, voltages.size, LIST_CHUNK_2400):
                    chunk = voltages[start:start + LIST_CHUNK_2400]
                    driver.configure_list_sweep(chunk.tolist(), delay_s)
                    with read_timeout(driver.adapter, self._sweep_timeout_s(chunk.size, delay_s)):
                        parts.extend(driver.read_elements())
            finally:
                driver.end_sweep(self.level)
                self._sync(driver)
            return parts

        return self._readings(self._link.call(run))
