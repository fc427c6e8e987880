"""Keithley 2450 SourceMeter (SCPI mode): PyMeasure's stock driver with validated compliance,
one-message point reads and buffer sweeps, and the :class:`~instruments.roles.SourceMeter`
role on top of it.

Reference: Keithley, *Model 2450 Interactive SourceMeter Instrument Reference Manual*,
2450-901-01 Rev. B (2013): ``*LANG?`` (App. B p.B-5/B-6), ``:SOURce[1]:<function>:ILIMit``
(§6 p.6-71), ``:READ? "defbuffer1", SOURce, READing, RELative, SOURSTATus`` (p.6-6; the
source status word, bit 5 = the source was limited: §8 p.8-29), ``:SOURce[1]:LIST:<function>``
≤ 100 values per command plus ``…:APPend`` (p.6-78/6-79), ``:SOURce:SWEep:VOLTage:LIST``
(p.6-85; failAbort on by default: the sweep stops at the limit), ``:TRACe:ACTual?``.
A real unit identifies as ``KEITHLEY INSTRUMENTS,MODEL 2450,…`` (no "INC.", unlike the
manual's example): nothing here depends on the vendor text.
"""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from pymeasure.instruments.keithley import Keithley2450 as _StockKeithley2450
from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .roles import SweepResult
from .transport import GarbledReplyError, fast_query, read_timeout
from .validation import parse_floats

log = logging.getLogger(__name__)

from .keithley_sourcemeter import (BUFFER_ELEMENTS_2450, MAX_POINTS, SOURCE_LIMIT_BIT_2450,
                                   KeithleySourceMeter, _floats, _nan)
from .roles import InstrumentSetupError

#: ``:SOURce[1]:LIST:<function>`` takes at most 100 values; more go by ``…:APPend``
#: (Rev. B p.6-78/6-79).
LIST_CHUNK_2450 = 100

__all__ = ["Keithley2450", "Keithley2450SourceMeter"]


class Keithley2450(_StockKeithley2450):
    """Keithley 2450 SourceMeter (SCPI command set): the stock driver with *strict* compliance
    limits (stock truncates), an explicit output control, and buffer reads of source + reading.
    """

    voltage_limits_V = (-210.0, 210.0)
    current_limits_A = (-1.05, 1.05)
    compliance_current_limits_A = (1e-9, 1.05)
    compliance_voltage_limits_V = (0.02, 210.0)

    def __init__(self, adapter, name="Keithley 2450 SourceMeter", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 5000)
        super().__init__(adapter, name, **kwargs)

    output_enabled = Instrument.control(
        ":OUTP?", ":OUTP %s",
        """Control the output relay (bool).""",
        validator=strict_discrete_set, values={True: "ON", False: "OFF"}, map_values=True,
        get_process=lambda v: "ON" if str(v).strip() in ("1", "ON") else "OFF",
    )

    compliance_current = Instrument.control(
        ":SOUR:VOLT:ILIM?", ":SOUR:VOLT:ILIM %g",
        """Control the current limit while sourcing voltage, in A (strictly 1e-9 … 1.05).""",
        validator=strict_range, values=compliance_current_limits_A,
    )

    compliance_voltage = Instrument.control(
        ":SOUR:CURR:VLIM?", ":SOUR:CURR:VLIM %g",
        """Control the voltage limit while sourcing current, in V (strictly 0.02 … 210).""",
        validator=strict_range, values=compliance_voltage_limits_V,
    )

    def source_and_read(self, function: str, level: float) -> list[float]:
        """Set the level and read (source, reading, relative time, status) in one message."""
        cls = type(self)
        if function == "VOLT":
            level = strict_range(level, cls.voltage_limits_V)
        elif function == "CURR":
            level = strict_range(level, cls.current_limits_A)
        else:
            strict_discrete_set(function, ("VOLT", "CURR"))   # raises the usual error
        reply = fast_query(self.adapter,
                           f":SOUR:{function} {level:.7g};:READ? {BUFFER_ELEMENTS_2450}")
        return _floats(reply, self, 4)

    def read_elements(self) -> list[float]:
        return parse_floats(self.ask(f":READ? {BUFFER_ELEMENTS_2450}"),
                            what=self.name, multiple_of=4)

    def command_set(self) -> str:
        """The command set in use: ``SCPI``, ``TSP`` or ``SCPI2400`` (``*LANG?``, answered in
        every command set: Rev. B p.B-6)."""
        return self.ask("*LANG?").strip()

    def run_list_sweep(self, voltages_V: Sequence[float], delay_s: float) -> list[float]:
        """Run a voltage list sweep; return (source, reading, time, source status) per point.

        The sweep stops at the first point whose source was limited (failAbort, on by
        default: Rev. B p.6-85), so fewer points than asked may come back; the last of them
        then carries the limit bit.
        """
        if not 1 <= len(voltages_V) <= MAX_POINTS:
            raise ValueError(f"len(voltages_V) = {len(voltages_V)} is out of range: "
                             f"allowed 1 … {MAX_POINTS}")
        values = [f"{strict_range(v, self.voltage_limits_V):.7g}" for v in voltages_V]
        delay_s = strict_range(delay_s, (0, 10000))
        if 0 < delay_s < 50e-6:
            raise ValueError(f"delay_s = {delay_s:g} is out of range: allowed 0 or "
                             "50e-6 … 10000 s")
        chunks = [",".join(values[k:k + LIST_CHUNK_2450])
                  for k in range(0, len(values), LIST_CHUNK_2450)]
        lists = f":SOUR:LIST:VOLT {chunks[0]}" + "".join(
            f";:SOUR:LIST:VOLT:APP {c}" for c in chunks[1:])
        self.write(f':TRAC:CLE "defbuffer1";{lists};:SOUR:SWE:VOLT:LIST 1, {delay_s:g}')
        stored = self.ask(':INIT;*WAI;:TRAC:ACT? "defbuffer1"').strip()
        try:
            n = int(stored)
        except ValueError:
            raise GarbledReplyError(f"{self.name}: :TRAC:ACT? answered {stored[:40]!r}") from None
        if not 0 <= n <= len(values):
            raise GarbledReplyError(f"{self.name}: {n} readings stored for a list of "
                                    f"{len(values)} points")
        if n == 0:
            return []
        reply = self.ask(f":TRAC:DATA? 1, {n}, {BUFFER_ELEMENTS_2450}")
        return parse_floats(reply, what=self.name, multiple_of=4)


class Keithley2450SourceMeter(KeithleySourceMeter):
    """:class:`~instruments.roles.SourceMeter` on a Keithley 2450 (SCPI command set).

    At connect the command set is checked (``*LANG?``): a unit left in TSP or SCPI 2400 mode
    is refused with one line saying how to switch it. Each reading carries the source status
    word; its bit 5 (32) flags that the source was limited (compliance).
    """

    driver_class = Keithley2450

    def _identify(self, driver) -> str:
        language = driver.command_set()
        if language != "SCPI":
            raise InstrumentSetupError(
                f"{self.name}: the Keithley 2450 uses the {language or '?'} command set, "
                "qled-bench needs SCPI: on the front panel press MENU, under System select "
                "Settings, set Command Set to SCPI (or send *LANG SCPI), then power-cycle it "
                "(users report the new set takes effect only after a reboot; the manual's "
                "*LANG page does not say so)")
        return driver.id

    def _apply_configuration(self, driver) -> None:
        if self.function == "VOLT":
            driver.source_mode = "voltage"
            driver.write(':SENS:FUNC "CURR"')
            driver.compliance_current = self.compliance
            driver.current_nplc = self.nplc
            if self._range is None:
                driver.write(":SENS:CURR:RANG:AUTO ON")
            else:
                driver.current_range = self._range
        else:
            driver.source_mode = "current"
            driver.write(':SENS:FUNC "VOLT"')
            driver.compliance_voltage = self.compliance
            driver.voltage_nplc = self.nplc
            driver.write(":SENS:VOLT:RANG:AUTO ON")
        self._check_errors(driver)

    def _write_output(self, driver, on: bool) -> bool:
        driver.output_enabled = on
        return driver.ask(":OUTP?").strip() in ("1", "ON")   # the read-back is the sync too

    def _readings(self, values: list[float]) -> SweepResult:
        a = np.asarray(values, dtype=float).reshape(-1, 4)
        source, reading = a[:, 0], a[:, 1]
        v, i = (reading, source) if self.function == "CURR" else (source, reading)
        v, i = _nan(v), _nan(i)
        limited = (a[:, 3].astype(np.int64) & SOURCE_LIMIT_BIT_2450) != 0
        return SweepResult(v, i, limited, a[:, 2])

    def sweep_voltage(self, voltages_V: Sequence[float], delay_s: float) -> SweepResult:
        """Hardware list sweep (``:SOUR:SWE:VOLT:LIST``), read back from ``defbuffer1``.

        The 2450 stops the list at the first point limited by the compliance (failAbort):
        the result then has fewer points than asked, the last one ``in_compliance``."""
        voltages, delay_s = self._check_sweep(voltages_V, delay_s)

        def run(driver):
            try:
                with read_timeout(driver.adapter, self._sweep_timeout_s(voltages.size, delay_s)):
                    return driver.run_list_sweep(voltages.tolist(), delay_s)
            finally:
                driver.source_voltage = self.level
                self._sync(driver)

        return self._readings(self._link.call(run))
