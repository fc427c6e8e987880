"""Keithley source-measure units (2400, 2450) and the 6485 picoammeter.

The drivers extend PyMeasure's stock ``Keithley2400`` / ``Keithley2450`` only where they lack
something we need: compliance validated at the real limits (the stock 2450 silently *truncates*
an out-of-range compliance), one-message exchanges (``:SOUR:VOLT 1;:READ?``) and hardware list
sweeps. :class:`Keithley2400SourceMeter` / :class:`Keithley2450SourceMeter` implement the
:class:`~instruments.roles.SourceMeter` role on top of them, with the safety contract (no output
without compliance, output off on close / exit) and reconnection (:mod:`instruments.resilience`).

References
----------
Keithley, *Model 2400 Series SourceMeter User's Manual*, 2400S-900-01 Rev. G (2011):
§18 (SCPI reference: ``:SOURce``, ``:SENSe``, ``:FORMat:ELEMents``), App. C (status word,
bit 3 = compliance), §10 (source-memory / list sweeps, ≤ 100 list points, trigger count ≤ 2500).
Keithley, *Model 2450 Reference Manual*, 2450-901-01 Rev. D (2015): ``:SOURce[1]:<function>:ILIMit``,
``:READ? "defbuffer1", SOURce, READing, RELative``, ``:SOURce:SWEep:VOLTage:LIST``.
Keithley, *Model 6485 Picoammeter Instruction Manual*, 6485-900-01: ``:SYSTem:ZCHeck``.
"""

from __future__ import annotations

import logging
import math
from typing import Callable, Optional, Sequence

import numpy as np
from pymeasure.instruments import Instrument, SCPIMixin
from pymeasure.instruments.keithley import Keithley2400 as _StockKeithley2400
from pymeasure.instruments.keithley import Keithley2450 as _StockKeithley2450
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from . import safety
from .resilience import EventCallback, ResilientLink
from .transport import fast_query, read_timeout
from .roles import ComplianceNotSetError, InstrumentError, Reading, SweepResult
from .validation import check_range, parse_floats

log = logging.getLogger(__name__)

#: :READ? returns 9.91e37 for "not a number" and 9.9e37 for an overflow (2400 manual §18);
#: anything this large is not a measurement.
_NAN_THRESHOLD = 9.8e37
#: Status-word bit flagging a reading limited by compliance (2400 manual App. C).
COMPLIANCE_BIT = 1 << 3

LIST_CHUNK_2400 = 100
#: 2450 buffer elements read per point; STAT bit 3 flags "source limit reached" (2450 manual).
BUFFER_ELEMENTS_2450 = '"defbuffer1", SOUR, READ, REL, STAT'
MAX_POINTS = 2500


def _floats(reply: str, driver, multiple_of: int) -> list[float]:
    """The numbers of a point-loop reply; anything unusual goes to the strict parser.

    ``float`` ignores surrounding blanks, so a well-formed reply needs no per-field strip;
    a field that is not a number, or a wrong count, is judged (and reported) by
    :func:`~instruments.validation.parse_floats`.
    """
    try:
        values = [float(f) for f in reply.split(",")]
    except ValueError:
        values = None
    if values is None or len(values) % multiple_of:
        return parse_floats(reply, what=driver.name, multiple_of=multiple_of)
    return values


def _source_and_read(driver, function: str, level: float) -> list[float]:
    """``driver.source_and_read`` as a plain function (no closure per point)."""
    return driver.source_and_read(function, level)


def _nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.abs(values) >= _NAN_THRESHOLD, np.nan, values)


# ----------------------------------------------------------------------------------- drivers

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

    def run_list_sweep(self, voltages_V: Sequence[float], delay_s: float) -> list[float]:
        """Run a voltage list sweep; return (source, reading, time, status) per point."""
        if not 1 <= len(voltages_V) <= MAX_POINTS:
            raise ValueError(f"len(voltages_V) = {len(voltages_V)} is out of range: "
                             f"allowed 1 … {MAX_POINTS}")
        points = ",".join(f"{strict_range(v, self.voltage_limits_V):.7g}" for v in voltages_V)
        delay_s = strict_range(delay_s, (0, 10000))
        self.write(f':TRAC:CLE "defbuffer1";:SOUR:LIST:VOLT {points};'
                   f":SOUR:SWE:VOLT:LIST 1, {delay_s:g}")
        n = len(voltages_V)
        reply = self.ask(f":INIT;*WAI;:TRAC:DATA? 1, {n}, {BUFFER_ELEMENTS_2450}")
        return parse_floats(reply, what=self.name, multiple_of=4)


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


# ------------------------------------------------------------------------------ role adapters

class _KeithleySourceMeter:
    """Shared SourceMeter role logic; subclasses say how a reply maps to a Reading."""

    driver_class: type = Keithley2400
    name_default = "smu"

    def __init__(self, driver, *, reopen: Optional[Callable[[], object]] = None,
                 name: Optional[str] = None, on_event: Optional[EventCallback] = None,
                 retries: int = 3, backoff_s: float = 0.05,
                 sleep: Optional[Callable[[float], None]] = None):
        self.name = name or self.name_default
        kwargs = {} if sleep is None else {"sleep": sleep}
        self._link = ResilientLink(self.name, driver, reopen=reopen, restore=self._restore,
                                   retries=retries, backoff_s=backoff_s, on_event=on_event,
                                   **kwargs)
        self.function: Optional[str] = None       # "VOLT" or "CURR"
        self.compliance: Optional[float] = None   # A (VOLT) or V (CURR)
        self.level: float = 0.0
        self.nplc: float = 1.0
        #: NPLC of a ``configure_*_source`` call that gives none (station ``[smu] nplc``).
        self.default_nplc: float = 1.0
        self.output: bool = False
        self._closed = False
        self.idn = self._link.call(lambda d: d.id)
        safety.register_source(self)

    @classmethod
    def open(cls, resource: str, *, name: Optional[str] = None,
             on_event: Optional[EventCallback] = None, retries: int = 3,
             backoff_s: float = 0.05, **adapter_options):
        """Connect to ``resource`` (see :func:`instruments.transport.open_adapter` options)."""
        from .transport import open_adapter

        def reopen():
            return cls.driver_class(open_adapter(resource, **adapter_options))

        return cls(reopen(), reopen=reopen, name=name, on_event=on_event, retries=retries,
                   backoff_s=backoff_s)

    @property
    def driver(self):
        return self._link.driver

    # -- configuration --------------------------------------------------------------------
    def configure_voltage_source(self, compliance_A: float, *, nplc: Optional[float] = None,
                                 current_range_A: Optional[float] = None) -> None:
        """Source voltage and measure current, limited to ``compliance_A`` [A].

        ``nplc`` None: :attr:`default_nplc` (1, or the station file's ``[smu] nplc``).
        """
        lo, hi = self.driver_class.compliance_current_limits_A
        compliance_A = check_range("compliance_A", compliance_A, lo, hi, "A")
        nplc = check_range("nplc", self.default_nplc if nplc is None else nplc, 0.01, 10)
        if current_range_A is not None:
            current_range_A = check_range("current_range_A", current_range_A, 1e-9, 1.05, "A")
        if self.output and self.function != "VOLT":
            raise RuntimeError(f"{self.name}: switch the output off before changing the source "
                               "function")
        self.function, self.compliance, self.nplc = "VOLT", compliance_A, nplc
        self._range = current_range_A
        self._link.call(self._apply_configuration)

    def configure_current_source(self, compliance_V: float, *,
                                 nplc: Optional[float] = None) -> None:
        """Source current and measure voltage, limited to ``compliance_V`` [V].

        ``nplc`` None: :attr:`default_nplc` (1, or the station file's ``[smu] nplc``).
        """
        lo, hi = self.driver_class.compliance_voltage_limits_V
        compliance_V = check_range("compliance_V", compliance_V, lo, hi, "V")
        nplc = check_range("nplc", self.default_nplc if nplc is None else nplc, 0.01, 10)
        if self.output and self.function != "CURR":
            raise RuntimeError(f"{self.name}: switch the output off before changing the source "
                               "function")
        self.function, self.compliance, self.nplc = "CURR", compliance_V, nplc
        self._range = None
        self._link.call(self._apply_configuration)

    def _apply_configuration(self, driver) -> None:
        raise NotImplementedError

    def _check_errors(self, driver) -> None:
        errors = driver.check_errors()
        if errors:
            text = "; ".join(f"{int(e[0])}, {str(e[1]).strip(chr(34))}" for e in errors)
            raise InstrumentError(f"{self.name}: instrument reported: {text}")

    def _restore(self, driver) -> None:
        """Re-apply function, compliance, NPLC, level and output state after a reconnect."""
        if self.function is not None:
            self._apply_configuration(driver)
            self._write_level(driver, self.level)
        if self.output:
            self._write_output(driver, True)

    # -- levels and output ----------------------------------------------------------------
    def _limits(self, function: str):
        return (self.driver_class.voltage_limits_V if function == "VOLT"
                else self.driver_class.current_limits_A)

    def _require(self, function: str, what: str) -> None:
        if self.function != function:
            call = ("configure_voltage_source(compliance_A=…)" if function == "VOLT"
                    else "configure_current_source(compliance_V=…)")
            raise ComplianceNotSetError(f"{self.name}: {what} needs {call} first")

    def set_voltage(self, voltage_V: float) -> None:
        voltage_V = check_range("voltage_V", voltage_V, *self._limits("VOLT"), "V")
        self._require("VOLT", "set_voltage")
        self._link.call(lambda d: self._write_level(d, voltage_V))
        self.level = voltage_V

    def set_current(self, current_A: float) -> None:
        current_A = check_range("current_A", current_A, *self._limits("CURR"), "A")
        self._require("CURR", "set_current")
        self._link.call(lambda d: self._write_level(d, current_A))
        self.level = current_A

    def _write_level(self, driver, level: float) -> None:
        if self.function == "VOLT":
            driver.source_voltage = level
        else:
            driver.source_current = level
        self._sync(driver)

    @staticmethod
    def _sync(driver) -> None:
        """Wait until the instrument has applied what was written (``*OPC?``).

        A write returns before the instrument acts on it; without this, a light meter asked
        right after ``set_voltage`` could measure the pixel at its previous level.
        """
        reply = driver.ask("*OPC?").strip()
        if reply not in ("1", "+1"):
            from .transport import GarbledReplyError
            raise GarbledReplyError(f"{driver.name}: *OPC? answered {reply[:40]!r}")

    def output_on(self) -> None:
        """Switch the output on; refused unless a compliance limit has been configured."""
        if self.compliance is None:
            raise ComplianceNotSetError(
                f"{self.name}: refusing to switch the output on: no compliance set; call "
                "configure_voltage_source(compliance_A=…) or "
                "configure_current_source(compliance_V=…) first")
        self._link.call(lambda d: self._write_output(d, True))
        self.output = True

    def output_off(self) -> None:
        self._link.call(lambda d: self._write_output(d, False))
        self.output = False

    def _write_output(self, driver, on: bool) -> None:
        driver.source_enabled = on
        self._sync(driver)

    def read_errors(self, limit: int = 10) -> list[tuple[int, str]]:
        """Entries of the SCPI error queue, read (``:SYST:ERR?``) until ``0, "No error"``:
        ``[(code, message)]``, at most ``limit`` per call. Reading empties the queue."""
        def drain(driver):
            found = []
            for _ in range(limit):
                code, *text = driver.next_error          # [code, '"message"']
                code = int(float(code))
                if code == 0:
                    break
                found.append((code, ",".join(str(t) for t in text).strip().strip('"')))
            return found

        return self._link.call(drain)

    # -- measurements ---------------------------------------------------------------------
    def _require_output(self, what: str) -> None:
        if not self.output:
            raise RuntimeError(f"{self.name}: {what} needs the output on: call output_on() first")

    def source_voltage_and_measure(self, voltage_V: float) -> Reading:
        """Set ``voltage_V`` [V] and read V, I in one exchange."""
        lo, hi = self.driver_class.voltage_limits_V
        voltage_V = check_range("voltage_V", voltage_V, lo, hi, "V")
        if self.function != "VOLT":
            self._require("VOLT", "source_voltage_and_measure")
        if not self.output:
            self._require_output("source_voltage_and_measure")
        values = self._link.call(_source_and_read, "VOLT", voltage_V)
        self.level = voltage_V
        return self._reading(values)

    def source_current_and_measure(self, current_A: float) -> Reading:
        """Set ``current_A`` [A] and read V, I in one exchange."""
        lo, hi = self.driver_class.current_limits_A
        current_A = check_range("current_A", current_A, lo, hi, "A")
        if self.function != "CURR":
            self._require("CURR", "source_current_and_measure")
        if not self.output:
            self._require_output("source_current_and_measure")
        values = self._link.call(_source_and_read, "CURR", current_A)
        self.level = current_A
        return self._reading(values)

    def measure(self) -> Reading:
        self._require_output("measure")
        return self._reading(self._link.call(lambda d: d.read_elements()))

    def _readings(self, values: list[float]) -> SweepResult:
        raise NotImplementedError

    def _reading(self, values: list[float]) -> Reading:
        """One point; plain floats (no arrays) because this sits in every point loop."""
        return self._readings(values)[0]

    def _check_sweep(self, voltages_V, delay_s):
        voltages = np.asarray(voltages_V, dtype=float).ravel()
        if not 1 <= voltages.size <= MAX_POINTS:
            raise ValueError(f"len(voltages_V) = {voltages.size} is out of range: "
                             f"allowed 1 … {MAX_POINTS}")
        lo, hi = self._limits("VOLT")
        bad = voltages[~((voltages >= lo) & (voltages <= hi))]
        if bad.size:
            raise ValueError(f"voltages_V contains {float(bad[0]):g}, out of range: allowed "
                             f"{lo:g} … {hi:g} V")
        delay_s = check_range("delay_s", delay_s, 0, 999.9999, "s")
        self._require("VOLT", "sweep_voltage")
        self._require_output("sweep_voltage")
        return voltages, delay_s

    def _sweep_timeout_s(self, n: int, delay_s: float) -> float:
        # Per point: the delay, the integration (NPLC at 50 Hz) and some settling; ×2 margin.
        return 2 + 2 * n * (delay_s + self.nplc / 50 + 0.005)

    def close(self) -> None:
        """Output off (best effort), then close the connection. Idempotent."""
        if self._closed:
            return
        try:
            if self.output or self.compliance is not None:
                self.output_off()
        except Exception as exc:  # noqa: BLE001 - still close the link
            log.error("%s: output off failed on close: %s", self.name, exc)
        finally:
            self._closed = True
            safety.unregister_source(self)
            self._link.close_driver()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.idn!r}>"


class Keithley2400SourceMeter(_KeithleySourceMeter):
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


class Keithley2450SourceMeter(_KeithleySourceMeter):
    """:class:`~instruments.roles.SourceMeter` on a Keithley 2450 (SCPI command set).

    Each reading carries the buffer status word; bit 3 flags that the source limit was reached.
    """

    driver_class = Keithley2450

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

    def _write_output(self, driver, on: bool) -> None:
        driver.output_enabled = on
        self._sync(driver)

    def _readings(self, values: list[float]) -> SweepResult:
        a = np.asarray(values, dtype=float).reshape(-1, 4)
        source, reading = a[:, 0], a[:, 1]
        v, i = (reading, source) if self.function == "CURR" else (source, reading)
        v, i = _nan(v), _nan(i)
        limited = (a[:, 3].astype(np.int64) & COMPLIANCE_BIT) != 0
        return SweepResult(v, i, limited, a[:, 2])

    def sweep_voltage(self, voltages_V: Sequence[float], delay_s: float) -> SweepResult:
        """Hardware list sweep (``:SOUR:SWE:VOLT:LIST``), read back from ``defbuffer1``."""
        voltages, delay_s = self._check_sweep(voltages_V, delay_s)

        def run(driver):
            try:
                with read_timeout(driver.adapter, self._sweep_timeout_s(voltages.size, delay_s)):
                    return driver.run_list_sweep(voltages.tolist(), delay_s)
            finally:
                driver.source_voltage = self.level
                self._sync(driver)

        return self._readings(self._link.call(run))
