"""Reading buffers of the simulated Keithley 2450 and the ``:TRACe`` subsystem.

A reading is one tuple ``(value, source, utc_s, status, source_status, measure_function,
source_function, measure_range, source_range)``; a buffer keeps them in order and writes any
of the 14 buffer elements (:mod:`simulators.keithley2450_format`).

Sources: Keithley *Model 2450 Reference Manual* 2450-901-01 Rev. B (RM-B) §6 "TRACe
subsystem" p.6-107 … 6-118 and the 2450 TSP help (WH-2450 topics, see
:mod:`simulators.keithley2450_format`). Guesses are marked *(guess)*.
"""
from __future__ import annotations

import math
import statistics
from collections import deque
from itertools import islice

from .keithley2450_format import (UNIT_TEXT, date_text, formatted_text, parse_elements,
                                  time_text, tstamp_text)
from .scpi import Choice, Integer, QString, SCPIError, scpi
from .smu_common import NAN_VALUE

__all__ = ["ReadingBuffer", "TraceCommands", "DEFAULT_BUFFERS", "DEFAULT_CAPACITY",
           "TOTAL_STANDARD_CAPACITY"]

#: The two buffers every 2450 has (RM-B p.6-109).
DEFAULT_BUFFERS = ("defbuffer1", "defbuffer2")
#: "Default buffers can store 10000 measurements initially" (RM-B p.6-115; WH-2450 25706
#: prints ``defbuffer1.capacity`` → 10000; WH-2450 45724 says 100,000 — the SCPI manual's
#: figure is used).
DEFAULT_CAPACITY = 10_000
#: "The overall capacity of all buffers stored in the instrument can be up to 4,500,000
#: readings for standard reading buffers and 20,000,000 for compact" (WH-2450 25706).
TOTAL_STANDARD_CAPACITY = 4_500_000
TOTAL_COMPACT_CAPACITY = 20_000_000
#: A user buffer holds at least 10 readings (WH-2450 25629 ``buffer.make()``).
MIN_USER_CAPACITY = 10

_STYLES = Choice("STANdard", "COMPact", "FULL", "WRITable", "FULLWRITable")
_FILL = Choice("CONTinuous", "ONCE")


class ReadingBuffer:
    """One reading buffer: capacity, style, fill mode and the readings, oldest first.

    Fill mode (WH-2450 30489 ``bufferVar.fillmode``): ``CONT`` overwrites the oldest reading
    when full (default buffers), ``ONCE`` stops storing (user buffers). Changing the
    capacity or the fill mode clears the buffer (RM-B p.6-115; WH-2450 30489).
    """

    __slots__ = ("name", "capacity", "style", "fill", "readings")

    def __init__(self, name: str, capacity: int, style: str = "STAN", fill: str = "CONT"):
        self.name, self.style, self.fill = name, style, fill
        self.capacity = capacity
        self.readings: deque = deque(maxlen=capacity if fill == "CONT" else None)

    def resize(self, capacity: int) -> None:
        self.capacity = capacity
        self.clear()

    def set_fill(self, fill: str) -> None:
        self.fill = fill
        self.clear()

    def clear(self) -> None:
        self.readings = deque(maxlen=self.capacity if self.fill == "CONT" else None)

    def append(self, reading: tuple) -> bool:
        """Store one reading; False if a ONCE buffer is full (the reading is dropped)."""
        if self.fill != "CONT" and len(self.readings) >= self.capacity:
            return False
        self.readings.append(reading)
        return True

    def __len__(self) -> int:
        return len(self.readings)

    def slice(self, start: int, end: int) -> list:
        """Readings ``start`` … ``end`` (1-based, inclusive)."""
        return list(islice(self.readings, start - 1, end))


class TraceCommands:
    """``:TRACe`` commands and the buffer-element writer (a mixin of the 2450 simulator).

    The instrument provides ``self._buffers`` (name → :class:`ReadingBuffer`),
    ``self.format_reading``, ``self.display_digits`` and ``self.count`` (``[:SENSe]:COUNt``),
    ``self.take_readings(n, buffer)`` and ``self.notify_event(n)``.
    """

    # -- buffer look-up --------------------------------------------------------------
    def _buffer(self, name: str | None = None) -> ReadingBuffer:
        """The buffer named ``name`` (default ``defbuffer1``, RM-B p.6-109). An unknown or
        deleted buffer: -224 and, for a query, no reply (a real 2450 asked for a deleted
        buffer sends nothing: QC-NB; *the code logged is a guess*)."""
        if name is None:
            return self._buffers["defbuffer1"]
        buf = self._buffers.get(name.strip("\"'"))
        if buf is None:
            raise SCPIError(-224)
        return buf

    def _buffer_arg(self, tokens):
        """(buffer, remaining tokens) of ``["<buf>"[, …]]``: a first token in quotes names a
        buffer (PyMeasure and the manual use ``"…"``, QCoDeS ``'…'``)."""
        if tokens and tokens[0][:1] in "\"'":
            return self._buffer(tokens[0]), tokens[1:]
        return self._buffers["defbuffer1"], tokens

    # -- element output --------------------------------------------------------------
    def write_elements(self, readings, codes, first_utc_s: float) -> str:
        """The elements ``codes`` of each reading in order, as one flat comma list without
        spaces (QC-NB: ``14:14:29,06/10/2020,-1.772451E-08,+00.00507 mV,…``; RM-B p.6-4
        example ``03/21/2013,-1.375422E-11,0.000000E+00``)."""
        fmt = self.format_reading
        out = []
        append = out.append
        for r in readings:
            for c in codes:
                if c == "READ":
                    append(fmt(r[0]))
                elif c == "SOUR":
                    append(fmt(r[1]))
                elif c == "REL":
                    # Seconds since buffer entry 1, which reads 0 (RM-B p.8-25/8-26;
                    # *SCPI text: the automatic number format — guess*).
                    append(fmt(r[2] - first_utc_s))
                elif c == "SOURSTAT":
                    append(str(r[4]))
                elif c == "STAT":
                    append(str(r[3]))
                else:
                    append(self._slow_element(c, r))
        return ",".join(out)

    def _slow_element(self, code: str, r) -> str:
        if code == "DATE":
            return date_text(r[2])
        if code == "TIME":
            return time_text(r[2])
        if code == "TST":
            return tstamp_text(r[2])
        if code == "SEC":
            return str(int(math.floor(r[2])))    # integer UTC seconds (RM-2461 p.8-29)
        if code == "FRAC":
            return self.format_reading(r[2] - math.floor(r[2]))   # *(guess: numeric format)*
        if code == "FORM":
            return formatted_text(r[0], r[7], r[5], self.display_digits + 1)
        if code == "SOURFORM":
            return formatted_text(r[1], r[8], r[6], self.display_digits + 2)
        if code == "UNIT":
            return UNIT_TEXT[r[5]]
        if code == "SOURUNIT":
            return UNIT_TEXT[r[6]]
        raise SCPIError(-224)

    def _reply(self, buf: ReadingBuffer, readings, tokens) -> str:
        codes = parse_elements(tokens)
        first = buf.readings[0][2] if buf.readings else 0.0
        return self.write_elements(readings, codes, first)

    # -- commands ---------------------------------------------------------------------
    @scpi(":FETCh?", params=None)
    def _fetch(self, tokens):
        """The latest reading of the buffer, no new measurement (RM-B p.6-3); an empty
        buffer: -230 and no reply *(guess)*."""
        buf, rest = self._buffer_arg(tokens)
        if not buf.readings:
            raise SCPIError(-230)
        return self._reply(buf, [buf.readings[-1]], rest)

    @scpi(":TRACe:DATA?", params=None)
    def _trace_data(self, tokens):
        """``:TRACe:DATA? <start>, <end>[, "<buf>"[, <elements>]]`` (RM-B p.6-109): start and
        end are required; outside 1 … readings stored: -222, no reply *(code: guess)*."""
        if len(tokens) < 2:
            raise SCPIError(-109)
        index = Integer(1, 2**31)
        start, end = index.parse(tokens[0]), index.parse(tokens[1])
        buf, rest = self._buffer_arg(tokens[2:])
        if not start <= end <= len(buf):
            raise SCPIError(-222)
        return self._reply(buf, buf.slice(start, end), rest)

    @scpi(":TRACe:ACTual?", params=(QString(),), required=0)
    def _trace_actual(self, name=None):
        return str(len(self._buffer(name)))

    @scpi(":TRACe:ACTual:STARt?", params=(QString(),), required=0)
    def _trace_actual_start(self, name=None):
        """Index of the first reading: 1, or 0 for an empty buffer (RM-B p.6-107;
        *a wrapped CONTinuous buffer is renumbered from 1 — guess*)."""
        return "1" if len(self._buffer(name)) else "0"

    @scpi(":TRACe:ACTual:END?", params=(QString(),), required=0)
    def _trace_actual_end(self, name=None):
        return str(len(self._buffer(name)))

    @scpi(":TRACe:POINts", params=(Integer(0, 2**31), QString()), required=1)
    def _trace_points(self, size, name=None):
        """Resize a buffer (clears it; RM-B p.6-115). 0 = the largest possible (WH-2450
        25706). The standard buffers together hold at most 4,500,000 readings (WH-2450
        25706): a larger size is refused with -222 *(code: guess)*; a user buffer holds at
        least 10 (WH-2450 25629)."""
        buf = self._buffer(name)
        total = TOTAL_COMPACT_CAPACITY if buf.style == "COMP" else TOTAL_STANDARD_CAPACITY
        others = sum(b.capacity for b in self._buffers.values()
                     if b is not buf and (b.style == "COMP") == (buf.style == "COMP"))
        if size == 0:
            size = total - others
        low = 1 if buf.name in DEFAULT_BUFFERS else MIN_USER_CAPACITY   # *(guess: 1)*
        if not low <= size <= total - others:
            raise SCPIError(-222)
        buf.resize(size)

    @scpi(":TRACe:POINts?", params=(QString(),), required=0)
    def _trace_points_q(self, name=None):
        return str(self._buffer(name).capacity)

    @scpi(":TRACe:MAKE", params=(QString(), Integer(0, 2**31), _STYLES), required=2)
    def _trace_make(self, name, size, style="STAN"):
        """``:TRACe:MAKE "<name>", <size>[, <style>]`` (RM-B p.6-114); a user buffer fills
        ONCE (WH-2450 30489). An existing name: -221 *(guess)*."""
        if not name or name in self._buffers:
            raise SCPIError(-221)
        total = TOTAL_COMPACT_CAPACITY if style == "COMP" else TOTAL_STANDARD_CAPACITY
        used = sum(b.capacity for b in self._buffers.values() if (b.style == "COMP") ==
                   (style == "COMP"))
        if size == 0:
            size = total - used
        if not MIN_USER_CAPACITY <= size <= total - used:
            raise SCPIError(-222)
        self._buffers[name] = ReadingBuffer(name, size, style, fill="ONCE")

    @scpi(":TRACe:DELete", params=(QString(),))
    def _trace_delete(self, name):
        """Delete a user buffer (RM-B p.6-111); the default buffers cannot be deleted
        (-221, *code: guess*)."""
        buf = self._buffer(name)
        if buf.name in DEFAULT_BUFFERS:
            raise SCPIError(-221)
        del self._buffers[buf.name]

    @scpi(":TRACe:CLEar", params=(QString(),), required=0)
    def _trace_clear(self, name=None):
        self._buffer(name).clear()
        self.notify_event(4917)        # "buffer cleared" (WH-2450 40158 event numbers)

    @scpi(":TRACe:FILL:MODE", params=(_FILL, QString()), required=1)
    def _trace_fill(self, mode, name=None):
        self._buffer(name).set_fill(mode)

    @scpi(":TRACe:FILL:MODE?", params=(QString(),), required=0)
    def _trace_fill_q(self, name=None):
        return self._buffer(name).fill

    @scpi(":TRACe:TRIGger", params=(QString(),), required=0)
    def _trace_trigger(self, name=None):
        """Make ``[:SENSe]:COUNt`` readings into the buffer (RM-B p.6-117)."""
        self.take_readings(self.count, self._buffer(name))

    def _stat(self, name, func) -> str:
        values = [r[0] for r in self._buffer(name).readings if abs(r[0]) < 9.8e37]
        if not values:
            return self.format_reading(NAN_VALUE)   # *(guess: empty buffer → NaN value)*
        return self.format_reading(func(values))

    @scpi(":TRACe:STATistics:AVERage?", params=(QString(),), required=0)
    def _stat_average(self, name=None):
        """One value per query, the buffer's readings (RM-B p.6-116 … 6-118)."""
        return self._stat(name, statistics.fmean)

    @scpi(":TRACe:STATistics:MAXimum?", params=(QString(),), required=0)
    def _stat_max(self, name=None):
        return self._stat(name, max)

    @scpi(":TRACe:STATistics:MINimum?", params=(QString(),), required=0)
    def _stat_min(self, name=None):
        return self._stat(name, min)

    @scpi(":TRACe:STATistics:STDDev?", params=(QString(),), required=0)
    def _stat_stddev(self, name=None):
        return self._stat(name, lambda v: statistics.stdev(v) if len(v) > 1 else 0.0)

    @scpi(":TRACe:STATistics:CLEar", params=(QString(),), required=0)
    def _stat_clear(self, name=None):
        """Statistics are computed from the stored readings; nothing else to clear."""
        self._buffer(name)

