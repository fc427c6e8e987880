"""The one SCPI engine behind every simulated instrument (syntax and parameter types:
:mod:`simulators.scpi_syntax`).

An instrument is a subclass of :class:`SCPIInstrument` that *declares* its command
tree, like a PyMeasure driver declares properties:

- :class:`Setting` — a stored value with a set command and a query, a parameter
  type with the instrument's real limits, and a ``*RST`` default;
- :func:`scpi` — a decorator that binds a method to a command or query pattern.

Patterns use the long form with the short form in upper case and optional nodes
in brackets, e.g. ``:SOURce:VOLTage[:LEVel][:IMMediate][:AMPLitude]``; a trailing
``?`` makes a query; ``<n>`` after a keyword accepts a numeric suffix (passed to the
handler as ``suffix``), and so does an optional ``[1]`` (e.g. ``:OUTPut[1]``). Keywords match case-insensitively in short or long form.

Message rules (IEEE 488.2 / SCPI-1999 §6, §7): units separated by ``;``; a header
without a leading ``:`` after ``;`` is relative to the path of the previous header;
common commands (``*IDN?``) do not change the path; query replies are joined by
``;``. Errors go to a bounded queue read by ``:SYSTem:ERRor?``; when it overflows the
newest entry is replaced by ``-350,"Queue overflow"``. A command error (-1xx) stops
the rest of the message; an execution error (-2xx) does not.

Hooks for instruments whose error model or timing differs (the Keithley 2450's event log,
its overlapped trigger model): :meth:`SCPIInstrument.format_error` (the text of an error
reply), :meth:`SCPIInstrument.wait_idle` (what ``*WAI`` and ``*OPC?`` wait for) and
:attr:`SCPIInstrument.gate` (a callable that may refuse a resolved command, e.g. while a
trigger model runs).

Resolved handlers are cached per header string, so a repeated header costs one dict
lookup (the TCP simulators must sustain ≥ 5,000 exchanges/s).
"""
from __future__ import annotations

import inspect
import re
import threading
from collections import deque
from typing import Any, Callable, Sequence

from .scpi_syntax import (_HEADER_RE, ERROR_MESSAGES, Bool, Choice, ChoiceList, Integer,
                          Number, NumberList, QString, Raw, SCPIError, _keyword_forms,
                          _parse_params, split_params, split_units)

_HEAD_CACHE_SIZE = 4096

__all__ = [
    "SCPIError", "SCPIInstrument", "Setting", "scpi", "ERROR_MESSAGES",
    "Number", "Integer", "Bool", "Choice", "QString", "NumberList", "ChoiceList", "Raw",
    "split_units", "split_params",
]

class _Handler:
    __slots__ = ("func", "types", "n_required", "name", "takes_suffix")

    def __init__(self, func, types, n_required, name):
        self.func, self.types, self.n_required, self.name = func, types, n_required, name
        self.takes_suffix = "suffix" in inspect.signature(func).parameters


def scpi(*patterns: str, params: Sequence[Any] | None = (), required: int | None = None):
    """Bind a method to one or more command/query patterns.

    The method is called as ``method(self, *parsed_params, suffix=(...))`` when it
    accepts ``suffix``, else ``method(self, *parsed_params)``. Queries return the
    reply text. ``params=None`` passes the raw token list as one argument;
    ``required`` is the number of leading parameters that must be present.
    """
    def mark(func):
        func.__scpi__ = getattr(func, "__scpi__", ()) + tuple((p, params, required) for p in patterns)
        return func
    return mark


class Setting:
    """A stored instrument setting with its set command, query and reset value.

    Parameters
    ----------
    patterns : str or tuple of str
        Command pattern(s) without ``?``; the query is the same pattern + ``?``.
    ptype : parameter type
        :class:`Number`, :class:`Bool`, :class:`Choice`, … with the real limits.
    default : any
        ``*RST`` value.
    query : bool
        Whether the query form exists.
    """

    def __init__(self, patterns: str | tuple[str, ...], ptype: Any, default: Any, *, query: bool = True):
        self.patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
        self.ptype, self.default, self.query = ptype, default, query
        self.name = ""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return instance._values[self.name]

    def __set__(self, instance, value):
        instance._values[self.name] = value


class _Node:
    """One level of the compiled command tree."""

    __slots__ = ("children", "set", "query")

    def __init__(self):
        self.children: list[tuple[str, str, bool, _Node]] = []  # (short, long, suffix_ok, node)
        self.set: _Handler | None = None
        self.query: _Handler | None = None

    def child(self, short: str, long_: str, suffix_ok: bool) -> "_Node":
        for s, l, x, node in self.children:
            if s == short and l == long_ and x == suffix_ok:
                return node
        node = _Node()
        self.children.append((short, long_, suffix_ok, node))
        return node


_TOKEN_RE = re.compile(r"\[:?([A-Za-z*][A-Za-z]*)(<n>|\[\d+\])?\]|:?([A-Za-z*][A-Za-z]*)(<n>|\[\d+\])?")
_SUFFIX_RE = re.compile(r"^([A-Z*]+?)(\d+)$")


def _expand(pattern: str) -> list[list[tuple[str, str, bool]]]:
    """All header variants of a pattern as lists of (short, long, suffix_ok)."""
    pos, segments = 0, []
    while pos < len(pattern):
        m = _TOKEN_RE.match(pattern, pos)
        if not m:
            raise ValueError(f"bad SCPI pattern {pattern!r} at {pos}")
        optional = m.group(1) is not None
        word = m.group(1) or m.group(3)
        suffix_ok = bool(m.group(2) or m.group(4))
        short, long_ = _keyword_forms(word)
        segments.append(((short, long_, suffix_ok), optional))
        pos = m.end()
    variants = [[]]
    for seg, optional in segments:
        variants = [v + [seg] for v in variants] + (variants if optional else [])
    return [v for v in variants if v]


# --------------------------------------------------------------------------- #
# The instrument base class
# --------------------------------------------------------------------------- #
class SCPIInstrument:
    """Base class of every simulated SCPI instrument.

    Subclasses set :attr:`IDN`, declare :class:`Setting` attributes and
    :func:`scpi` methods, and may override :meth:`reset` and :meth:`format_number`.
    Each instance has its own settings, error queue and status registers; the
    compiled tree and the header cache are shared by all instances of a class.

    Parameters
    ----------
    clock : object with ``time()`` and ``sleep(s)`` or None
        Simulated clock (operations that take time sleep on it).
    faults : FaultPlan or None
        This instrument's faults (applied by the transport).
    """

    IDN = "qled-bench,Simulated SCPI instrument,0,1.0"
    OPT = "0"
    ERROR_QUEUE_SIZE = 10
    #: Command-error codes stop the remaining units of a message.
    _tree: _Node
    _cache: dict
    _heads: dict

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        root = _Node()
        settings: dict[str, Setting] = {}
        handlers: dict[str, tuple] = {}
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                if isinstance(attr, Setting):
                    settings[name] = attr
                elif callable(attr) and hasattr(attr, "__scpi__"):
                    handlers[name] = attr.__scpi__
                elif name in handlers and not hasattr(attr, "__scpi__"):
                    handlers.pop(name)  # overridden without a declaration
        for name, setting in settings.items():
            for pattern in setting.patterns:
                cls._install(root, pattern, _Handler(_setter(setting), (setting.ptype,), 1, name))
                if setting.query:
                    cls._install(root, pattern + "?", _Handler(_getter(setting), (), 0, name))
        for name, decls in handlers.items():
            for pattern, params, required in decls:
                func = getattr(cls, name)
                types = None if params is None else tuple(params)
                cls._install(root, pattern, _Handler(func, types, required, name))
        cls._tree = root
        cls._settings = settings
        cls._cache = {}
        cls._heads = {}

    @staticmethod
    def _install(root: _Node, pattern: str, handler: _Handler) -> None:
        query = pattern.endswith("?")
        for variant in _expand(pattern.rstrip("?")):
            node = root
            for short, long_, suffix_ok in variant:
                node = node.child(short, long_, suffix_ok)
            if query:
                node.query = handler
            else:
                node.set = handler

    def __init__(self, clock=None, faults=None):
        self.clock = clock
        self.faults = faults
        #: ``gate(handler_name, is_query)`` runs before every command; it may raise SCPIError
        #: to refuse it (None: everything is admitted).
        self.gate = None
        self._values: dict[str, Any] = {}
        self._errors: deque[tuple[int, str]] = deque()
        self._lock = threading.RLock()
        self.esr = 0   # standard event status register
        self.ese = 0
        self.sre = 0
        self.reset()

    # -- state ---------------------------------------------------------------
    def reset(self) -> None:
        """``*RST``: every declared setting back to its default."""
        for name, setting in self._settings.items():
            default = setting.default
            self._values[name] = list(default) if isinstance(default, list) else default

    def format_number(self, value: float) -> str:
        """How this instrument writes a number in a reply (override per model)."""
        return f"{value:+.6E}"

    def now(self) -> float:
        return self.clock.time() if self.clock is not None else 0.0

    def wait(self, simulated_s: float) -> None:
        """Let ``simulated_s`` pass on the clock (a measurement's duration)."""
        if self.clock is not None and simulated_s > 0:
            self.clock.sleep(simulated_s)

    # -- error queue -----------------------------------------------------------
    def set_esr_for(self, code: int) -> None:
        """Set the Standard Event Status bit of an error class (SCPI-1999 §21.8)."""
        if -199 <= code <= -100:
            self.esr |= 0x20   # CME
        elif -299 <= code <= -200:
            self.esr |= 0x10   # EXE
        elif -499 <= code <= -400:
            self.esr |= 0x04   # QYE
        else:
            self.esr |= 0x08   # DDE

    def push_error(self, code: int, message: str | None = None) -> None:
        """Queue an error; set the matching ESR bit (SCPI-1999 §21.8)."""
        message = message or ERROR_MESSAGES.get(code, "Error")
        self.set_esr_for(code)
        if len(self._errors) >= self.ERROR_QUEUE_SIZE:
            self._errors[-1] = (-350, ERROR_MESSAGES[-350])
        else:
            self._errors.append((int(code), message))

    def pop_error(self) -> tuple[int, str]:
        return self._errors.popleft() if self._errors else (0, "No error")

    @property
    def error_count(self) -> int:
        return len(self._errors)

    def format_error(self, code: int, message: str) -> str:
        """The reply text of one error entry (``<code>,"<message>"``, SCPI-1999 §21.8)."""
        return f'{code},"{message}"'

    def wait_idle(self) -> None:
        """Block until overlapped operations are done (``*WAI``, ``*OPC?``); none here.

        Called with the instrument lock held; an instrument with overlapped work waits on a
        condition of that lock, so the work can proceed meanwhile."""

    # -- message handling ------------------------------------------------------
    def handle(self, message: str) -> str | None:
        """Execute one program message; return the reply (no terminator) or None."""
        with self._lock:
            replies: list[str] = []
            prefix = ""
            for unit in split_units(message):
                unit = unit.strip()
                if not unit:
                    continue
                try:
                    prefix = self._execute(unit, prefix, replies)
                except SCPIError as exc:
                    # Instruments report the standard text; the detail is for debugging.
                    self.push_error(exc.code, ERROR_MESSAGES.get(exc.code, exc.message))
                    if -199 <= exc.code <= -100:
                        break
            return ";".join(replies) if replies else None

    def _execute(self, unit: str, prefix: str, replies: list[str]) -> str:
        parts = unit.split(None, 1)
        head = parts[0]
        # Resolution depends only on (path prefix, header text): cache it per class, so a
        # repeated header costs one dict look-up (no regex, no upper(), no tree walk).
        ck = head if head[0] in ":*" else (prefix, head)
        entry = self._heads.get(ck)
        if entry is None:
            entry = self._resolve_head(head, prefix)
            if len(self._heads) >= _HEAD_CACHE_SIZE:   # a client inventing headers
                self._heads.clear()
            self._heads[ck] = entry
        handler, suffix, query, new_prefix = entry
        if new_prefix is None:   # common command: the path stays
            new_prefix = prefix
        if handler is None:
            raise SCPIError(suffix, f"{ERROR_MESSAGES[suffix]}; {head[:24]}")
        if self.gate is not None:
            self.gate(handler.name, query)
        if len(parts) > 1:
            args = _parse_params(handler.types, split_params(parts[1]), handler.n_required)
        elif handler.types is None or handler.types:   # None: raw tokens, here none
            args = _parse_params(handler.types, [], handler.n_required)
        else:
            args = ()
        if handler.takes_suffix:
            result = handler.func(self, *args, suffix=suffix)
        else:
            result = handler.func(self, *args)
        if query:
            replies.append("" if result is None else str(result))
        return new_prefix

    def _resolve_head(self, head: str, prefix: str) -> tuple:
        """``(handler, suffix, is_query, new_prefix)``; on error ``(None, code, …)``.

        ``new_prefix`` is None for common commands (``*IDN?``), which keep the path.
        """
        if not _HEADER_RE.match(head):
            return None, -102, False, prefix
        if head[0] == "*":
            key, new_prefix = head.upper(), None
        elif head[0] == ":":
            key = head[1:].upper()
            new_prefix = key.rpartition(":")[0]
        else:
            key = (prefix + ":" + head if prefix else head).upper()
            new_prefix = key.rpartition(":")[0]
        entry = self._cache.get(key)
        if entry is None:
            entry = self._resolve(key)
            self._cache[key] = entry
        handler, suffix = entry
        if handler is None:
            return None, -113, False, new_prefix
        return handler, suffix, key.endswith("?"), new_prefix

    def _resolve(self, key: str) -> tuple[_Handler | None, tuple[int, ...]]:
        query = key.endswith("?")
        words = key.rstrip("?").split(":")
        found = _walk(self._tree, words, 0, ())
        if found is None:
            return None, ()
        node, suffix = found
        handler = node.query if query else node.set
        if handler is None:
            return None, ()
        return handler, suffix

    # -- common commands (IEEE 488.2) -------------------------------------------
    @scpi("*IDN?")
    def _idn(self):
        return self.IDN

    @scpi("*OPT?")
    def _opt(self):
        return self.OPT

    @scpi("*RST")
    def _rst(self):
        self.reset()

    @scpi("*CLS")
    def _cls(self):
        self._errors.clear()
        self.esr = 0

    @scpi("*OPC")
    def _opc(self):
        self.wait_idle()
        self.esr |= 0x01

    @scpi("*OPC?")
    def _opc_q(self):
        self.wait_idle()
        return "1"

    @scpi("*WAI")
    def _wai(self):
        """Wait for overlapped operations (:meth:`wait_idle`; none in the base class)."""
        self.wait_idle()

    @scpi("*TRG")
    def _trg(self):
        self.trigger()

    def trigger(self) -> None:
        """Bus trigger (``*TRG``); instruments with a trigger model override it."""

    @scpi("*ESR?")
    def _esr_q(self):
        value, self.esr = self.esr, 0
        return str(value)

    @scpi("*ESE", params=(Integer(0, 255),))
    def _ese(self, value):
        self.ese = value

    @scpi("*ESE?")
    def _ese_q(self):
        return str(self.ese)

    @scpi("*SRE", params=(Integer(0, 255),))
    def _sre(self, value):
        self.sre = value

    @scpi("*SRE?")
    def _sre_q(self):
        return str(self.sre)

    def status_byte(self) -> int:
        """IEEE 488.2 status byte: EAV (bit 2), ESB (bit 5), MSS (bit 6)."""
        stb = 0
        if self._errors:
            stb |= 0x04
        if self.esr & self.ese:
            stb |= 0x20
        if stb & self.sre & ~0x40:
            stb |= 0x40
        return stb

    @scpi("*STB?")
    def _stb_q(self):
        return str(self.status_byte())

    @scpi(":SYSTem:ERRor[:NEXT]?")
    def _syst_err(self):
        code, message = self.pop_error()
        return self.format_error(code, message)

    @scpi(":SYSTem:ERRor:ALL?")
    def _syst_err_all(self):
        errors = []
        while self._errors:
            errors.append(self.pop_error())
        errors = errors or [(0, "No error")]
        return ",".join(self.format_error(c, m) for c, m in errors)

    @scpi(":SYSTem:ERRor:COUNt?")
    def _syst_err_count(self):
        return str(len(self._errors))

    @scpi(":STATus:PRESet")
    def _stat_pres(self):
        """Status presets: the simulated registers have nothing else to preset."""


def _setter(setting: Setting) -> Callable:
    name = setting.name

    def set_value(self, value):
        self._values[name] = value
        hook = getattr(self, "on_" + name, None)
        if hook is not None:
            hook(value)
    return set_value


def _getter(setting: Setting) -> Callable:
    name, ptype = setting.name, setting.ptype

    def get_value(self):
        return ptype.format(self._values[name], self)
    return get_value


def _walk(node: _Node, words: list[str], i: int, suffix: tuple[int, ...]):
    """Depth-first match of header words against the tree (backtracks over ambiguity)."""
    if i == len(words):
        return (node, suffix) if (node.set or node.query) else None
    word = words[i]
    base, num = word, None
    m = _SUFFIX_RE.match(word)
    if m:
        base, num = m.group(1), int(m.group(2))
    for short, long_, suffix_ok, child in node.children:
        if word == short or word == long_:
            hit = _walk(child, words, i + 1, suffix + ((1,) if suffix_ok else ()))
        elif suffix_ok and num is not None and (base == short or base == long_):
            hit = _walk(child, words, i + 1, suffix + (num,))
        else:
            continue
        if hit is not None:
            return hit
    return None
