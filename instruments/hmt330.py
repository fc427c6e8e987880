"""Vaisala HMT330-series transmitter as the ambient T/RH sensor (serial service port).

Reference: Vaisala, *HMT330 Series User's Guide*, M210566EN-K: ``SEND`` outputs one reading
in the ``FORM`` format, default ``RH= 98.4 %RH T= 31.1 'C`` (p. 102); ``S`` stops continuous
output (list of serial commands, as in the HMT310 User's Guide M210619EN-E p. 40, Table 6,
where the serial default is 4800 baud, even parity, 7 data bits, 1 stop bit). The reply is
parsed by its labels (``RH=`` and ``T=`` with their units), so a user ``FORM`` that keeps
them, or extra fields, still parse; a reply without both is a garbled reply.
"""
from __future__ import annotations

import math
import re
from typing import Callable, Optional

from .resilience import EventCallback, ResilientLink
from .transport import GarbledReplyError, is_serial_path, read_line

__all__ = ["HMT330", "HMT330AmbientSensor", "parse_send_reply"]

_RH_RE = re.compile(r"RH\s*=\s*([-+]?\d+(?:\.\d*)?)\s*%RH", re.IGNORECASE)
_T_RE = re.compile(r"(?<![A-Za-z])T\s*=\s*([-+]?\d+(?:\.\d*)?)\s*'([CF])", re.IGNORECASE)


def parse_send_reply(line: str) -> tuple[float, float]:
    """``RH= 40.0 %RH T= 22.0 'C`` → (temperature °C, RH %); °F is converted."""
    rh = _RH_RE.search(line)
    t = _T_RE.search(line)
    if rh is None or t is None:
        raise GarbledReplyError(f"HMT330: reply {line[:40]!r} has no 'RH= … %RH' and 'T= … 'C'")
    temperature = float(t.group(1))
    if t.group(2).upper() == "F":
        temperature = (temperature - 32.0) * 5.0 / 9.0
    return temperature, float(rh.group(1))


class HMT330:
    """The transmitter's service port: ``S`` (stop continuous output) and ``SEND``."""

    def __init__(self, adapter, name: str = "Vaisala HMT330"):
        self.adapter = adapter
        self.name = name
        self.adapter.write("S")         # a transmitter left in RUN mode stops talking
        self._drain()
        self.id = self._identity()

    def _drain(self) -> None:
        connection = getattr(self.adapter, "connection", None)
        reset = getattr(connection, "reset_input_buffer", None)
        if callable(reset):
            reset()

    def _identity(self) -> str:
        self.adapter.write("?")
        try:
            return read_line(self.adapter, what=self.name)
        except TimeoutError:   # the '?' listing differs between firmware versions
            return "Vaisala HMT330"

    def read(self) -> tuple[float, float]:
        self.adapter.write("SEND")
        return parse_send_reply(read_line(self.adapter, what=self.name))

    def shutdown(self) -> None:
        close = getattr(self.adapter, "close", None)
        if callable(close):
            close()


def _open_adapter(resource: str, timeout_ms: int = 3000, baud_rate: Optional[int] = None,
                  data_bits: int = 7, parity: str = "E", **_ignored):
    """A serial path at the transmitter's factory framing (4800 7E1 unless told), else a VISA
    resource. (A Linux pseudo-terminal refuses a second 7E1 open, EINVAL: the simulated
    stations say 8N1, which a pty ignores anyway.)"""
    if is_serial_path(resource):
        from pymeasure.adapters import SerialAdapter

        return SerialAdapter(resource, baudrate=baud_rate or 4800, bytesize=data_bits,
                             parity=parity, stopbits=1, timeout=timeout_ms / 1000.0,
                             write_termination="\r", read_termination="\n")
    from .transport import open_adapter

    return open_adapter(resource, timeout_ms=timeout_ms, baud_rate=baud_rate or 4800,
                        read_termination="\n", write_termination="\r")


class HMT330AmbientSensor:
    """:class:`~instruments.roles.AmbientSensor` on an HMT330 (reconnects on a broken link)."""

    def __init__(self, driver, *, reopen: Optional[Callable[[], object]] = None,
                 name: str = "ambient", on_event: Optional[EventCallback] = None,
                 retries: int = 3, backoff_s: float = 0.05):
        self.name = name
        self._link = ResilientLink(name, driver, reopen=reopen, retries=retries,
                                   backoff_s=backoff_s, on_event=on_event)
        self.idn = self._link.call(lambda d: d.id)

    @classmethod
    def open(cls, resource: str, *, name: str = "ambient", on_event=None, retries: int = 3,
             backoff_s: float = 0.05, **adapter_options):
        def reopen():
            return HMT330(_open_adapter(resource, **adapter_options))

        return cls(reopen(), reopen=reopen, name=name, on_event=on_event, retries=retries,
                   backoff_s=backoff_s)

    def read(self) -> tuple[float, float]:
        """(ambient temperature °C, relative humidity %)."""
        t, rh = self._link.call(lambda d: d.read())
        return (t if math.isfinite(t) else math.nan), (rh if math.isfinite(rh) else math.nan)

    def close(self) -> None:
        self._link.close_driver()
