"""Konica Minolta CS-2000 / CS-2000A spectroradiometer (RS-232 over USB, 115200 8N1 RTS/CTS).

Commands end with LF; replies are ``OK00[,data…]`` or ``ERxx``. ``MEAS,1`` answers the
estimated measuring time in seconds and, when the measurement completes, an unsolicited
``OK00`` (or ``ER10`` over range). Spectral radiance 380–780 nm at 1 nm comes in four
``MEDR,1,1,k`` blocks of big-endian IEEE-754 float32 hex words; ``MEDR,2,1,02`` gives x, y, L_v.

References
----------
Konica Minolta, *CS-2000 Communication Specifications* (TI-08002); public drivers:
colour-science/colour-specio ``konica_minolta.py``.
"""

from __future__ import annotations

import struct
from typing import Callable, Optional

import numpy as np
from pymeasure.instruments import Instrument

from .resilience import EventCallback, ResilientLink
from .roles import InstrumentError, LightReading
from .transport import GarbledReplyError, read_line, read_timeout

#: Error codes → meaning (CS-2000 Communication Specifications; ER20 as the simulator uses).
ERROR_CODES = {
    "ER00": "invalid command or not in remote mode (send RMTS,1)",
    "ER01": "setting error",
    "ER02": "measurement in progress / no data ready",
    "ER05": "no data in memory",
    "ER10": "over range: the source is too bright for this measuring angle",
    "ER17": "invalid parameter",
    "ER20": "no measurement data",
    "ER30": "low battery / hardware error",
    "ER51": "light-source calibration error",
    "ER99": "instrument error",
}

WAVELENGTH_NM = np.arange(380.0, 781.0, 1.0)
BLOCK_SIZES = (100, 100, 100, 101)


def _hex_floats(fields: list[str], what: str) -> np.ndarray:
    try:
        return np.array([struct.unpack(">f", bytes.fromhex(h))[0] for h in fields])
    except (ValueError, struct.error):
        raise GarbledReplyError(f"{what}: bad float32 hex words {','.join(fields)[:60]!r}") \
            from None


class CS2000(Instrument):
    """Konica Minolta CS-2000 driver (serial line protocol, not SCPI)."""

    def __init__(self, adapter, name="Konica Minolta CS-2000", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("asrl", {"baud_rate": 115200})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)

    def command(self, command: str) -> list[str]:
        """Send one command; return the data fields after ``OK00`` or raise on ``ERxx``."""
        self.write(command)
        return self._reply(command)

    def _reply(self, command: str) -> list[str]:
        line = read_line(self.adapter, what=f"{self.name} {command}")
        code, *fields = line.split(",")
        if code == "OK00":
            return fields
        if code.startswith("ER") and len(code) == 4 and code[2:].isdigit():
            raise InstrumentError(f"{self.name}: {command} → {code}: "
                                  f"{ERROR_CODES.get(code, 'unknown error code')}")
        raise GarbledReplyError(f"{self.name}: {command}: unexpected reply {line[:60]!r}")

    def remote(self, enabled: bool = True) -> None:
        self.command(f"RMTS,{int(bool(enabled))}")

    @property
    def id(self) -> str:
        """``model,variation,serial`` from ``IDDR``."""
        return ",".join(self.command("IDDR"))

    def measure(self, *, margin_s: float = 10.0) -> float:
        """Start a measurement and wait for its completion; return the estimated time [s]."""
        fields = self.command("MEAS,1")
        try:
            estimate_s = float(fields[0])
        except (IndexError, ValueError):
            raise GarbledReplyError(f"{self.name}: MEAS,1: no measuring time in {fields!r}") \
                from None
        with read_timeout(self.adapter, estimate_s + margin_s):
            self._reply("MEAS,1 (completion)")
        return estimate_s

    def spectrum(self) -> np.ndarray:
        """Spectral radiance [W sr⁻¹ m⁻² nm⁻¹] at 380…780 nm, 1 nm (401 values)."""
        blocks = []
        for k, size in enumerate(BLOCK_SIZES, start=1):
            values = _hex_floats(self.command(f"MEDR,1,1,{k}"), self.name)
            if values.size != size:
                raise GarbledReplyError(f"{self.name}: MEDR,1,1,{k}: {values.size} values, "
                                        f"expected {size}")
            blocks.append(values)
        return np.concatenate(blocks)

    def xy_luminance(self) -> tuple[float, float, float]:
        """(x, y, L_v [cd m⁻²]) of the last measurement (CIE 1931 2°)."""
        values = _hex_floats(self.command("MEDR,2,1,02"), self.name)
        if values.size != 3:
            raise GarbledReplyError(f"{self.name}: MEDR,2,1,02: {values.size} values, expected 3")
        x, y, lv = (float(v) for v in values)
        return x, y, lv


class CS2000LightMeter:
    """:class:`~instruments.roles.LightMeter` on a CS-2000."""

    def __init__(self, driver, *, reopen: Optional[Callable[[], object]] = None,
                 name: str = "light_meter", spectrum: bool = True,
                 on_event: Optional[EventCallback] = None, retries: int = 3,
                 backoff_s: float = 0.05):
        self.name = name
        self.read_spectrum = spectrum
        self._link = ResilientLink(name, driver, reopen=reopen, restore=lambda d: d.remote(True),
                                   retries=retries, backoff_s=backoff_s, on_event=on_event)
        self._link.call(lambda d: d.remote(True))
        self.idn = self._link.call(lambda d: d.id)

    @classmethod
    def open(cls, resource: str, *, name: str = "light_meter", on_event=None,
             retries: int = 3, backoff_s: float = 0.05, **adapter_options):
        from .transport import open_adapter

        options = {"baud_rate": 115200, "rtscts": True, "timeout_ms": 5000, **adapter_options}

        def reopen():
            return CS2000(open_adapter(resource, **options))

        return cls(reopen(), reopen=reopen, name=name, on_event=on_event, retries=retries,
                   backoff_s=backoff_s)

    @property
    def driver(self):
        return self._link.driver

    def measure(self) -> LightReading:
        def run(d):
            d.measure()
            x, y, lv = d.xy_luminance()
            spectrum = d.spectrum() if self.read_spectrum else np.empty(0)
            return lv, x, y, spectrum

        lv, x, y, spectrum = self._link.call(run)
        wavelength = WAVELENGTH_NM.copy() if spectrum.size else np.empty(0)
        return LightReading(lv, x, y, wavelength, spectrum)

    def close(self) -> None:
        try:
            self.driver.remote(False)
        except Exception:  # noqa: BLE001 - leaving remote mode is a courtesy
            pass
        self._link.close_driver()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
