"""SCPI syntax for the simulated instruments: errors, message and parameter parsing, and the
parameter types a command declares (numbers with limits, booleans, keyword choices, strings,
lists).

Rules: IEEE 488.2-1992 §7 (program message syntax, <NRf> numbers, <Boolean>, <CHARACTER
PROGRAM DATA>, quoted strings) and SCPI-1999 Vol. 1 §7 (keywords, short and long forms);
standard error numbers and messages: SCPI-1999 Vol. 2 ch. 21. The engine that uses them is
:mod:`simulators.scpi`.
"""
from __future__ import annotations

import itertools
import math
import re
from typing import Any, Sequence

__all__ = ["SCPIError", "ERROR_MESSAGES", "Number", "Integer", "Bool", "Choice", "QString",
           "NumberList", "ChoiceList", "Raw", "split_units", "split_params", "parse_nrf"]

#: Standard SCPI error messages (SCPI-1999 Vol. 2, chapter 21).
ERROR_MESSAGES = {
    0: "No error",
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -200: "Execution error",
    -213: "Init ignored",
    -220: "Parameter error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
}


class SCPIError(Exception):
    """An error that goes to the instrument's error queue."""

    def __init__(self, code: int, message: str | None = None):
        self.code = int(code)
        self.message = message or ERROR_MESSAGES.get(self.code, "Error")
        super().__init__(f"{self.code},\"{self.message}\"")


# --------------------------------------------------------------------------- #
# Lexing
# --------------------------------------------------------------------------- #
_HEADER_RE = re.compile(r"^(?:\*[A-Za-z]+\??|:?[A-Za-z][A-Za-z0-9_]*(?::[A-Za-z][A-Za-z0-9_]*)*\??)$")
#: Bound of the per-class header cache (real clients use a few dozen headers).
_NRF_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def split_units(message: str) -> list[str]:
    """Split a program message on ``;`` outside quoted strings."""
    if '"' not in message and "'" not in message:
        return message.split(";")
    units, buf, quote = [], [], None
    for ch in message:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == ";":
            units.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    units.append("".join(buf))
    return units


def split_params(text: str) -> list[str]:
    """Split a parameter string on commas outside quoted strings; strip each."""
    text = text.strip()
    if not text:
        return []
    if '"' not in text and "'" not in text:
        return [p.strip() for p in text.split(",")]
    params, buf, quote = [], [], None
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            params.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    if quote:
        raise SCPIError(-102, "Syntax error; unterminated string")
    params.append("".join(buf).strip())
    return params


# --------------------------------------------------------------------------- #
# Parameter types: parse(token) -> value, format(value) -> str
# --------------------------------------------------------------------------- #
def parse_nrf(token: str) -> float:
    """Parse SCPI decimal numeric data (NR1/NR2/NR3) or raise -104."""
    if not _NRF_RE.match(token):
        raise SCPIError(-104, f"Data type error; expected a number, got {token[:16]}")
    return float(token)


class Number:
    """Decimal numeric parameter in ``[low, high]`` with optional MIN/MAX/DEF.

    Parameters
    ----------
    low, high : float
        Allowed range (inclusive); outside it the instrument reports -222.
    default : float or None
        Value of ``DEF`` (and the reset value unless the Setting says otherwise).
    keywords : bool
        Whether ``MIN``/``MAX``/``DEF`` (and long forms) are accepted.
    """

    def __init__(self, low: float = -math.inf, high: float = math.inf, *,
                 default: float | None = None, keywords: bool = True):
        self.low, self.high, self.default, self.keywords = low, high, default, keywords

    def parse(self, token: str) -> float:
        if self.keywords and token[:1].isalpha():
            key = token.upper()
            if key in ("MIN", "MINIMUM"):
                return self.low
            if key in ("MAX", "MAXIMUM"):
                return self.high
            if key in ("DEF", "DEFAULT") and self.default is not None:
                return self.default
        value = parse_nrf(token)
        if not self.low <= value <= self.high:
            raise SCPIError(-222, f"Data out of range; {token} outside {self.low:g} to {self.high:g}")
        return self.convert(value)

    def convert(self, value: float) -> float:
        return value

    def format(self, value: float, instrument: Any) -> str:
        return instrument.format_number(value)


class Integer(Number):
    """Integer parameter (a decimal value is rounded, as instruments do)."""

    def convert(self, value: float) -> int:
        return int(round(value))

    def format(self, value: int, instrument: Any) -> str:
        return str(int(value))


class Bool:
    """Boolean parameter: ``ON``/``OFF``/``1``/``0`` (any number: non-zero is true)."""

    def parse(self, token: str) -> bool:
        key = token.upper()
        if key == "ON":
            return True
        if key == "OFF":
            return False
        if _NRF_RE.match(token):
            value = float(token)
            if math.isfinite(value):   # 1e999 matches NRf but overflows round()
                return round(value) != 0
        raise SCPIError(-224, f"Illegal parameter value; expected ON|OFF|1|0, got {token[:16]}")

    def format(self, value: bool, instrument: Any) -> str:
        return "1" if value else "0"


def _keyword_forms(long_form: str) -> tuple[str, str]:
    """(short, long) upper-case forms of a mixed-case SCPI keyword such as ``VOLTage``."""
    short = "".join(itertools.takewhile(lambda c: not c.islower(), long_form))
    return short.upper(), long_form.upper()


class Choice:
    """Character parameter from a fixed set, e.g. ``Choice("VOLTage", "CURRent")``.

    Returns (and queries answer) the canonical short form, e.g. ``"VOLT"``. Quoted
    strings are accepted too (``:SENS:FUNC "CURR"``).
    """

    def __init__(self, *options: str):
        self.lookup: dict[str, str] = {}
        for opt in options:
            short, long_ = _keyword_forms(opt)
            self.lookup[short] = short
            self.lookup[long_] = short
        self.options = options

    def parse(self, token: str) -> str:
        key = token.strip("\"'").upper()
        try:
            return self.lookup[key]
        except KeyError:
            raise SCPIError(-224, f"Illegal parameter value; {token[:16]} not in "
                                  f"{'|'.join(self.options)}") from None

    def format(self, value: str, instrument: Any) -> str:
        return value


class QString:
    """String parameter, quoted with ``"`` or ``'`` (unquoted text accepted)."""

    def parse(self, token: str) -> str:
        if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
            return token[1:-1]
        return token

    def format(self, value: str, instrument: Any) -> str:
        return f'"{value}"'


class Raw:
    """The token as received."""

    def parse(self, token: str) -> str:
        return token

    def format(self, value: Any, instrument: Any) -> str:
        return str(value)


class NumberList:
    """A comma-separated list of numbers, each in ``[low, high]``, 1…``max_len`` long."""

    variadic = True

    def __init__(self, low: float = -math.inf, high: float = math.inf, max_len: int = 2500):
        self.item = Number(low, high, keywords=False)
        self.max_len = max_len

    def parse_all(self, tokens: Sequence[str]) -> list[float]:
        if not 1 <= len(tokens) <= self.max_len:
            raise SCPIError(-222 if tokens else -109,
                            f"list length {len(tokens)} outside 1 to {self.max_len}")
        return [self.item.parse(t) for t in tokens]

    def format(self, value: Sequence[float], instrument: Any) -> str:
        return ",".join(instrument.format_number(v) for v in value)


class ChoiceList:
    """A comma-separated list of choices (e.g. ``:FORM:ELEM VOLT, CURR``)."""

    variadic = True

    def __init__(self, *options: str):
        self.item = Choice(*options)

    def parse_all(self, tokens: Sequence[str]) -> list[str]:
        if not tokens:
            raise SCPIError(-109)
        return [self.item.parse(t) for t in tokens]

    def format(self, value: Sequence[str], instrument: Any) -> str:
        return ",".join(value)


def _parse_params(types: Sequence[Any] | None, tokens: list[str], n_required: int | None) -> list[Any]:
    """Parse tokens with the declared parameter types (``None`` = raw token list)."""
    if types is None:
        return [tokens]
    if types and getattr(types[-1], "variadic", False):
        head = _parse_params(types[:-1], tokens[:len(types) - 1], len(types) - 1)
        return head + [types[-1].parse_all(tokens[len(types) - 1:])]
    required = len(types) if n_required is None else n_required
    if len(tokens) > len(types):
        raise SCPIError(-108)
    if len(tokens) < required or any(t == "" for t in tokens):
        raise SCPIError(-109)
    return [t.parse(tok) for t, tok in zip(types, tokens)]


# --------------------------------------------------------------------------- #
# Declarations
# --------------------------------------------------------------------------- #
