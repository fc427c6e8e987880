"""One-line range checks that name the parameter, applied before anything is sent."""

from __future__ import annotations

import math
from typing import Iterable


def check_range(name: str, value, low: float, high: float, unit: str = "") -> float:
    """Return ``float(value)`` if ``low <= value <= high``, else raise a one-line ValueError.

    >>> check_range("compliance_A", 2, 1e-9, 1.05, "A")
    Traceback (most recent call last):
    ValueError: compliance_A = 2 is out of range: allowed 1e-09 … 1.05 A
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r} is not a number: allowed {low:g} … {high:g} {unit}"
                         .rstrip()) from None
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"{name} = {value!r} is out of range: allowed {low:g} … {high:g} {unit}"
                         .rstrip())
    return number


def check_choice(name: str, value, allowed: Iterable) -> object:
    """Return ``value`` if it is one of ``allowed``, else raise a one-line ValueError."""
    allowed = list(allowed)
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} = {value!r} is not allowed: use one of {shown}")
    return value


def parse_floats(reply: str, *, what: str, multiple_of: int = 1) -> list[float]:
    """Parse a comma-separated numeric reply strictly (a garbled reply raises).

    Raises
    ------
    instruments.transport.GarbledReplyError
        If a field is not a number or the count is not a multiple of ``multiple_of``.
    """
    from .transport import GarbledReplyError

    fields = [f.strip() for f in reply.strip().split(",")]
    try:
        values = [float(f) for f in fields]
    except ValueError:
        raise GarbledReplyError(f"{what}: unparsable reply {reply[:60]!r}") from None
    if not values or len(values) % multiple_of:
        raise GarbledReplyError(f"{what}: expected a multiple of {multiple_of} values, got "
                                f"{len(values)} in {reply[:60]!r}")
    return values
