"""The simulated Keithley 2450's event log and status model (a mixin of the simulator).

Sources: Keithley *Model 2450 Reference Manual* 2450-901-01 Rev. B (RM-B) §6 ``:SYSTem``
p.6-96 … 6-103, App. B (common commands) p.B-2 … B-10; the 2450 TSP help (WH-2450 topics,
see :mod:`simulators.keithley2450_format`): 31623 Questionable and 31651 Operation Event
Registers, 19551 status model, 40158 event numbers. Guesses are marked *(guess)*.

Event log (RM-B p.6-101): one FIFO of up to 1000 entries — errors (type 1), warnings (2),
informational events (4). An entry reads ``<code>,"<message>;<type>,<seconds>,<nanoseconds>"``
(RM-B p.6-101 example ``-109,"Missing parameter;1,1367794863,384492889"``); an empty log
reads ``0,"No error;0,0,0"``. Later firmware prints ``;1;2017/05/06 12:55:33.648`` instead
(2470 manual 2470-901-01 Rev. A p.12-111, a sibling) — this simulator follows the 2450's
own manual. ``:SYSTem:ERRor[:NEXT]?`` returns errors only; after it, older warnings and
informational entries are no longer returned by ``:SYSTem:EVENtlog:NEXT?`` (RM-B p.6-101).
"""
from __future__ import annotations

import math
from collections import deque

from .scpi import ERROR_MESSAGES, Integer, Raw, SCPIError, scpi

__all__ = ["EventLogAndStatus", "EVENT_LOG_SIZE", "ERROR", "WARNING", "INFO"]

ERROR, WARNING, INFO = 1, 2, 4
#: "The event log is a first-in, first-out (FIFO) register that can hold up to 1000
#: messages" (RM-B p.6-101).
EVENT_LOG_SIZE = 1000
_TYPE_MASKS = {"ERR": ERROR, "ERROR": ERROR, "WARN": WARNING, "WARNING": WARNING,
               "INF": INFO, "INFORMATIONAL": INFO, "ALL": ERROR | WARNING | INFO}
# Status byte bits (WH-2450 19551, 31623, 31651): MSB 0, EAV 2, QSB 3, MAV 4, ESB 5, MSS 6,
# OSB 7.
_MSB, _EAV, _QSB, _ESB, _MSS, _OSB = 0x01, 0x04, 0x08, 0x20, 0x40, 0x80


class _Register:
    """A programmable register set: condition, latched event, enable, bit → event map."""

    __slots__ = ("condition", "event", "enable", "set_map", "clear_map")

    def __init__(self):
        self.condition = self.event = self.enable = 0
        self.set_map: dict[int, int] = {}      # bit → event number that sets it
        self.clear_map: dict[int, int] = {}    # bit → event number that clears it

    def preset(self):
        """``:STATus:PRESet``: event and enable registers cleared, maps removed (2461
        manual 2461-901-01 Rev. A p.6-136, a sibling: "resets all bits in the status model";
        *that the maps go too is a guess*)."""
        self.condition = self.event = self.enable = 0
        self.set_map.clear()
        self.clear_map.clear()

    def occur(self, number: int) -> None:
        for bit, n in self.set_map.items():
            if n == number:
                self.condition |= 1 << bit
                self.event |= 1 << bit
        for bit, n in self.clear_map.items():
            if n == number:
                self.condition &= ~(1 << bit)


class EventLogAndStatus:
    """Event log, ``:SYSTem:ERRor`` / ``:EVENtlog``, ``:STATus`` and the status byte.

    The instrument calls ``self._init_event_log()`` once and ``self.notify_event(n)`` when
    something with an event number happens (WH-2450 40158: 2731 trigger model initiated,
    2732 completed, 2728 aborted, 4917 buffer cleared, 5080/5081 source limited/not).
    Informational events reach the status registers but are not written to the event log
    *(simplification: which informational events a 2450 logs was not found)*.
    """

    def _init_event_log(self) -> None:
        self._log: deque = deque(maxlen=EVENT_LOG_SIZE)   # (code, message, type, utc_s)
        self._oper = _Register()
        self._ques = _Register()

    def event_time_s(self) -> float:
        """UTC seconds of an event (the instrument provides its clock)."""
        return 0.0

    # -- entries ---------------------------------------------------------------------------
    def push_error(self, code: int, message: str | None = None) -> None:
        message = message or ERROR_MESSAGES.get(code, "Error")
        self.set_esr_for(code)
        self._log.append((int(code), message, ERROR, self.event_time_s()))
        self.notify_event(int(code))

    def push_event(self, code: int, message: str, kind: int = WARNING) -> None:
        self._log.append((int(code), message, kind, self.event_time_s()))
        self.notify_event(int(code))

    def notify_event(self, number: int) -> None:
        self._oper.occur(number)
        self._ques.occur(number)

    def format_error(self, code: int, message: str, kind: int = 0, utc_s: float = 0.0) -> str:
        secs = int(math.floor(utc_s))
        nsecs = int((utc_s - secs) * 1e9) if kind else 0
        return f'{code},"{message};{kind},{secs},{nsecs}"'

    def _take(self, mask: int):
        """Remove and return the oldest entry whose type is in ``mask`` (or None)."""
        for i, entry in enumerate(self._log):
            if entry[2] & mask:
                del self._log[i]
                return entry
        return None

    def pop_error(self):
        entry = self._take(ERROR)
        return (0, "No error") if entry is None else (entry[0], entry[1])

    @property
    def error_count(self) -> int:
        return sum(1 for e in self._log if e[2] == ERROR)

    def _reply_entry(self, entry) -> str:
        if entry is None:
            return self.format_error(0, "No error")
        return self.format_error(entry[0], entry[1], entry[2], entry[3])

    @scpi(":SYSTem:ERRor[:NEXT]?")
    def _syst_err(self):
        """The oldest error; the warnings and informational entries logged before it go
        too (RM-B p.6-101: after ``:SYST:ERR?`` the event log shows only later items)."""
        for i, entry in enumerate(self._log):
            if entry[2] == ERROR:
                for _ in range(i + 1):
                    self._log.popleft()
                return self._reply_entry(entry)
        return self._reply_entry(None)

    @scpi(":SYSTem:ERRor:COUNt?")
    def _syst_err_count(self):
        return str(self.error_count)

    # ``:SYSTem:ERRor:ALL?`` is in no 2450 source read: not offered (the engine has it).
    _syst_err_all = None

    @scpi(":SYSTem:EVENtlog:NEXT?", params=None)
    def _syst_even_next(self, tokens):
        """``:SYSTem:EVENtlog:NEXT? [ERRor|WARNing|INFormational|ALL, …]`` (RM-B p.6-101;
        ALL from the 2461 manual p.6-150, a sibling); no mask: any type."""
        return self._reply_entry(self._take(self._mask(tokens)))

    @scpi(":SYSTem:EVENtlog:COUNt?", params=None)
    def _syst_even_count(self, tokens):
        mask = self._mask(tokens)
        return str(sum(1 for e in self._log if e[2] & mask))

    @staticmethod
    def _mask(tokens) -> int:
        if not tokens:
            return ERROR | WARNING | INFO
        mask = 0
        for t in tokens:
            bit = _TYPE_MASKS.get(t.upper())
            if bit is None:
                raise SCPIError(-224)
            mask |= bit
        return mask

    @scpi(":SYSTem:EVENtlog:POST", params=(Raw(), Raw()), required=1)
    def _syst_even_post(self, message, kind="INF"):
        """Post a user message (RM-B p.6-102 ``:SYSTem:EVENtlog:POST "<msg>"[, <type>]``;
        *the code of a posted entry is a guess*)."""
        bit = _TYPE_MASKS.get(kind.upper())
        if bit is None or bit == ERROR | WARNING | INFO:
            raise SCPIError(-224)
        self.push_event(0, message.strip("\"'"), bit)

    @scpi(":SYSTem:CLEar")
    def _syst_clear(self):
        """Clear the event log (RM-B p.6-96)."""
        self._log.clear()

    @scpi("*CLS")
    def _cls(self):
        """Clear the Questionable and Operation event registers, the Standard Event
        register and the event log; the enable registers stay (RM-B p.B-2)."""
        self._log.clear()
        self._oper.event = self._ques.event = 0
        self.esr = 0

    # -- status registers -------------------------------------------------------------------
    @scpi(":STATus:PRESet")
    def _stat_pres(self):
        self._oper.preset()
        self._ques.preset()

    @scpi(":STATus:CLEar")
    def _stat_clear(self):
        """Clear the event registers (RM-B §6 ``:STATus:CLEar``; QCoDeS sends it)."""
        self._oper.event = self._ques.event = 0

    def _register(self, suffix_name: str) -> _Register:
        return self._oper if suffix_name == "OPER" else self._ques

    @scpi(":STATus:OPERation[:EVENt]?")
    def _oper_event(self):
        value, self._oper.event = self._oper.event, 0   # reading clears the event register
        return str(value)

    @scpi(":STATus:QUEStionable[:EVENt]?")
    def _ques_event(self):
        value, self._ques.event = self._ques.event, 0
        return str(value)

    @scpi(":STATus:OPERation:CONDition?")
    def _oper_cond(self):
        return str(self._oper.condition)

    @scpi(":STATus:QUEStionable:CONDition?")
    def _ques_cond(self):
        return str(self._ques.condition)

    @scpi(":STATus:OPERation:ENABle", params=(Integer(0, 65535),))
    def _oper_enable(self, value):
        self._oper.enable = value

    @scpi(":STATus:OPERation:ENABle?")
    def _oper_enable_q(self):
        return str(self._oper.enable)

    @scpi(":STATus:QUEStionable:ENABle", params=(Integer(0, 65535),))
    def _ques_enable(self, value):
        self._ques.enable = value

    @scpi(":STATus:QUEStionable:ENABle?")
    def _ques_enable_q(self):
        return str(self._ques.enable)

    _MAP_PARAMS = (Integer(0, 14), Integer(-32768, 32767), Integer(-32768, 32767))

    @scpi(":STATus:OPERation:MAP", params=_MAP_PARAMS, required=2)
    def _oper_map(self, bit, set_event, clear_event=0):
        """``:STATus:OPERation:MAP <bit>, <setEvent>[, <clearEvent>]`` (WH-2450 31651);
        event 0 = none."""
        _set_map(self._oper, bit, set_event, clear_event)

    @scpi(":STATus:QUEStionable:MAP", params=_MAP_PARAMS, required=2)
    def _ques_map(self, bit, set_event, clear_event=0):
        _set_map(self._ques, bit, set_event, clear_event)

    @scpi(":STATus:OPERation:MAP?", params=(Integer(0, 14),))
    def _oper_map_q(self, bit):
        return f"{self._oper.set_map.get(bit, 0)},{self._oper.clear_map.get(bit, 0)}"

    @scpi(":STATus:QUEStionable:MAP?", params=(Integer(0, 14),))
    def _ques_map_q(self, bit):
        return f"{self._ques.set_map.get(bit, 0)},{self._ques.clear_map.get(bit, 0)}"

    def status_byte(self) -> int:
        """MSB/QSB from enabled Questionable bits, EAV while the log holds an entry, ESB,
        OSB from enabled Operation bits, MSS as the summary of the enabled ones
        (WH-2450 19551, 31623, 31651)."""
        stb = 0
        if self._ques.event & self._ques.enable:
            stb |= _MSB | _QSB
        if self._log:
            stb |= _EAV
        if self.esr & self.ese:
            stb |= _ESB
        if self._oper.event & self._oper.enable:
            stb |= _OSB
        if stb & self.sre & ~_MSS:
            stb |= _MSS
        return stb


def _set_map(register: _Register, bit: int, set_event: int, clear_event: int) -> None:
    for mapping, event in ((register.set_map, set_event), (register.clear_map, clear_event)):
        if event:
            mapping[bit] = event
        else:
            mapping.pop(bit, None)
