"""What the Keithley source-measure units share as a :class:`~instruments.roles.SourceMeter`:
the safety contract (no output without compliance, output off on close / exit), validated
limits, one-message point exchanges, reconnection (:mod:`instruments.resilience`) and reply
parsing. :mod:`instruments.keithley2400` and :mod:`instruments.keithley2450` build on it.

References: Keithley, *Model 2400 Series SourceMeter User's Manual*, 2400S-900-01 Rev. G
(2011), §18; *Model 2450 Reference Manual*, 2450-901-01.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

import numpy as np

from . import safety
from .resilience import EventCallback, ResilientLink
from .roles import ComplianceNotSetError, InstrumentError, Reading, SweepResult
from .validation import check_range, parse_floats

log = logging.getLogger(__name__)

__all__ = ["KeithleySourceMeter", "MAX_POINTS", "error_message"]

#: anything this large is not a measurement.
_NAN_THRESHOLD = 9.8e37
#: Status-word bit flagging a reading limited by compliance (2400 manual App. C).
COMPLIANCE_BIT = 1 << 3

LIST_CHUNK_2400 = 100
#: 2450 buffer elements read per point: source, reading, seconds since the buffer's first
#: reading, source status. Compliance is bit 5 (32, STAT_LIMIT) of SOURSTATus (Model 2450
#: Reference Manual 2450-901-01 Rev. B §8 p.8-29; 2450 TSP help ``bufferVar.sourcestatuses``),
#: never of STATus, whose bit 3 (8) means "front terminals" (Rev. B p.8-33).
BUFFER_ELEMENTS_2450 = '"defbuffer1", SOUR, READ, REL, SOURSTAT'
SOURCE_LIMIT_BIT_2450 = 1 << 5
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


def error_message(parts) -> str:
    """The message of a ``:SYST:ERR?`` reply split on commas (PyMeasure's ``next_error``).

    A 2400 sends ``-113,"Undefined header"``; a 2450 sends an event-log entry,
    ``-113,"Undefined header;1,1367794863,384492889"`` (Model 2450 Reference Manual Rev. B
    p.6-101) or, on later firmware, ``…;1;2018/05/26 14:00:14.871``: the text before the
    first ``;`` is the message."""
    text = ",".join(str(t) for t in parts).strip().strip('"')
    return text.split(";", 1)[0].strip('"')



class KeithleySourceMeter:
    """Shared SourceMeter role logic; subclasses say how a reply maps to a Reading."""

    driver_class: type   # the PyMeasure driver (subclasses)
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
        try:
            self.idn = self._link.call(self._identify)
        except BaseException:
            self._link.close_driver()
            raise
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

    def _identify(self, driver) -> str:
        """The identification string (``*IDN?``); a model may check more at connect."""
        return driver.id

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
        lo, hi = self.limits["compliance_V"]
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
            text = "; ".join(f"{int(e[0])}, {error_message(e[1:])}" for e in errors)
            raise InstrumentError(f"{self.name}: instrument reported: {text}")

    def _restore(self, driver) -> None:
        """Re-apply function, compliance, NPLC, level and output state after a reconnect."""
        if self.function is not None:
            self._apply_configuration(driver)
            self._write_level(driver, self.level)
        if self.output:
            self._write_output(driver, True)

    #: The station's safety limit on |V| (``[smu] max_voltage_V``); None: the model's range.
    max_voltage_V: Optional[float] = None

    @property
    def limits(self) -> dict:
        """Source and compliance ranges of the model, the voltage narrowed by the station's
        ``max_voltage_V`` (see :class:`~instruments.roles.SourceMeter`)."""
        lo, hi = self.driver_class.voltage_limits_V
        c_lo, c_hi = self.driver_class.compliance_voltage_limits_V
        if self.max_voltage_V is not None:
            cap = float(self.max_voltage_V)
            lo, hi, c_hi = max(lo, -cap), min(hi, cap), min(c_hi, cap)
        return {"voltage_V": (lo, hi), "current_A": tuple(self.driver_class.current_limits_A),
                "compliance_A": tuple(self.driver_class.compliance_current_limits_A),
                "compliance_V": (c_lo, c_hi)}

    # -- levels and output ----------------------------------------------------------------
    def _limits(self, function: str):
        return self.limits["voltage_V" if function == "VOLT" else "current_A"]

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
        self._switch_output(True)

    def output_off(self) -> None:
        self._switch_output(False)

    def _switch_output(self, on: bool) -> None:
        """Switch the output and record the instrument's read-back in the run's ``/events``
        (``smu: output on (read back: on)``); a failure records ``output off failed …;
        output state unknown`` before it propagates, so the file tells whether a pixel may
        have been left driven."""
        word = "on" if on else "off"
        try:
            back = self._link.call(lambda d: self._write_output(d, on))
        except Exception as exc:  # noqa: BLE001 - recorded, then raised as it was
            self._link._emit("error", f"{self.name}: output {word} failed "
                                      f"({type(exc).__name__}: {str(exc).strip()[:160]}); "
                                      "output state unknown")
            raise
        self.output = on
        if back is not on:
            self._link._emit("error", f"{self.name}: output {word} commanded but the "
                                      f"instrument reads back {'on' if back else 'off'}")
            raise InstrumentError(f"{self.name}: output {word} commanded but the instrument "
                                  f"reads back {'on' if back else 'off'}")
        self._link._emit("info", f"{self.name}: output {word} (read back: {word})")

    def _write_output(self, driver, on: bool) -> bool:
        """Write the output state, then read it back (the query is also the sync: its reply
        comes after the instrument has acted on the write). → the state read back."""
        driver.source_enabled = on
        return driver.ask("OUTPUT?").strip() in ("1", "+1", "ON")

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
                found.append((code, error_message(text)))
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
