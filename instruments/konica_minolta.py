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
from pymeasure.instruments.validators import strict_discrete_set

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

#: Speed modes selectable by name (``SPMS,<mode>,<ND>``). Normal mode integrates up to
#: 120 s per frame in the dark (a measurement of ~4 min); fast mode stops at 8 s (~17 s).
SPEED_MODES = {"normal": 0, "fast": 1}

#: Spectral axis of the CS-2000 [nm]: 380–780 nm at 1 nm (401 values).
WAVELENGTH_NM = np.arange(380.0, 781.0, 1.0)
BLOCK_SIZES = (100, 100, 100, 101)


def _hex_floats(fields: list[str], what: str) -> np.ndarray:
    try:
        return np.array([struct.unpack(">f", bytes.fromhex(h))[0] for h in fields])
    except (ValueError, struct.error):
        raise GarbledReplyError(f"{what}: bad float32 hex words {','.join(fields)[:60]!r}") \
            from None


def _answer_fields(line: str, what: str) -> list[str]:
    """The data fields of an ``OK00[,fields]`` answer; ``ERxx`` raises
    :class:`InstrumentError`, anything else :class:`GarbledReplyError` (``what`` names the
    instrument and command in the message)."""
    code, *fields = line.strip().split(",")
    if code == "OK00":
        return fields
    if code.startswith("ER") and len(code) == 4 and code[2:].isdigit():
        raise InstrumentError(f"{what} → {code}: {ERROR_CODES.get(code, 'unknown error code')}")
    raise GarbledReplyError(f"{what}: unexpected reply {line[:60]!r}")


def _ok_fields(reply: str) -> str:
    """:func:`_answer_fields` of a query's reply, rejoined for PyMeasure's ``values``."""
    return ",".join(_answer_fields(reply, "Konica Minolta CS-2000 query"))


class CS2000(Instrument):
    """Konica Minolta CS-2000 driver (serial line protocol, not SCPI).

    Every command is answered ``OK00[,fields]`` or ``ERxx``: declarative properties read
    that answer through :meth:`check_set_errors` (settings) or ``_ok_fields`` (queries).
    """

    id = Instrument.measurement(
        "IDDR", """``model,variation,serial`` (``IDDR``).""",
        cast=str, preprocess_reply=_ok_fields, get_process_list=",".join)

    remote_enabled = Instrument.setting(
        "RMTS,%d", """Remote mode on (True) or off (False) (``RMTS``).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
        check_set_errors=True)

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
        return _answer_fields(line, f"{self.name}: {command}")

    def check_set_errors(self) -> list:
        """Read a setting's ``OK00`` answer; ``ERxx`` raises :class:`InstrumentError`."""
        self._reply("setting")
        return []

    def remote(self, enabled: bool = True) -> None:
        self.remote_enabled = bool(enabled)

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

    def speed_mode(self) -> tuple[int, Optional[int], int]:
        """``(speed mode, time field or None, internal ND mode)`` from ``SPMR``.

        Speed modes: 0 normal, 1 fast, 2 multi-integration normal, 3 manual,
        4 multi-integration fast; ND: 0 off, 1 on, 2 auto.
        """
        fields = self.command("SPMR")
        try:
            numbers = [int(f) for f in fields]
        except ValueError:
            numbers = []
        if len(numbers) == 2:
            return numbers[0], None, numbers[1]
        if len(numbers) == 3:
            return numbers[0], numbers[1], numbers[2]
        raise GarbledReplyError(f"{self.name}: SPMR: unexpected fields {fields!r}")

    def set_speed(self, speed: str, *, nd_mode: int = 2) -> bool:
        """Select the ``"normal"`` or ``"fast"`` speed mode (auto ND by default).

        The CS-2000 keeps its measuring conditions in flash memory, which takes a limited
        number of writes, so ``SPMS`` is sent only when ``SPMR`` reports something else.
        Returns True if the mode was written.
        """
        if speed not in SPEED_MODES:
            raise ValueError(f"speed = {speed!r} is not allowed: use one of "
                             f"{', '.join(repr(k) for k in SPEED_MODES)}")
        if nd_mode not in (0, 1, 2):
            raise ValueError(f"nd_mode = {nd_mode!r} is not allowed: use 0 (off), 1 (on) or 2 (auto)")
        wanted = (SPEED_MODES[speed], None, nd_mode)
        if self.speed_mode() == wanted:
            return False
        self.command(f"SPMS,{wanted[0]},{nd_mode}")
        return True

    def xy_luminance(self) -> tuple[float, float, float]:
        """(x, y, L_v [cd m⁻²]) of the last measurement (CIE 1931 2°)."""
        values = _hex_floats(self.command("MEDR,2,1,02"), self.name)
        if values.size != 3:
            raise GarbledReplyError(f"{self.name}: MEDR,2,1,02: {values.size} values, expected 3")
        x, y, lv = (float(v) for v in values)
        return x, y, lv


class CS2000LightMeter:
    """:class:`~instruments.roles.LightMeter` on a CS-2000.

    Parameters
    ----------
    speed : ``"normal"``, ``"fast"`` or None
        Speed mode set on connect and after every reconnect (None: leave the instrument's
        stored mode). Fast mode caps a dark measurement at ~17 s instead of ~4 min.
    """

    def __init__(self, driver, *, reopen: Optional[Callable[[], object]] = None,
                 name: str = "light_meter", spectrum: bool = True,
                 speed: Optional[str] = None,
                 on_event: Optional[EventCallback] = None, retries: int = 3,
                 backoff_s: float = 0.05):
        if speed is not None and speed not in SPEED_MODES:
            raise ValueError(f"speed = {speed!r} is not allowed: use one of "
                             f"{', '.join(repr(k) for k in SPEED_MODES)} or None")
        self.name = name
        self.read_spectrum = spectrum
        self.speed = speed
        self._link = ResilientLink(name, driver, reopen=reopen, restore=self._prepare,
                                   retries=retries, backoff_s=backoff_s, on_event=on_event)
        self._link.call(self._prepare)
        self.idn = self._link.call(lambda d: d.id)

    def _prepare(self, driver) -> None:
        """Remote mode, then the speed mode (on connect and after a reconnect)."""
        driver.remote(True)
        if self.speed is not None:
            driver.set_speed(self.speed)

    @classmethod
    def open(cls, resource: str, *, name: str = "light_meter", on_event=None,
             retries: int = 3, backoff_s: float = 0.05, speed: Optional[str] = None,
             spectrum: bool = True, **adapter_options):
        from .transport import open_adapter

        options = {"baud_rate": 115200, "rtscts": True, "timeout_ms": 5000, **adapter_options}

        def reopen():
            return CS2000(open_adapter(resource, **options))

        return cls(reopen(), reopen=reopen, name=name, on_event=on_event, retries=retries,
                   backoff_s=backoff_s, speed=speed, spectrum=spectrum)

    @property
    def driver(self):
        return self._link.driver

    @property
    def wavelength_nm(self) -> np.ndarray:
        """Spectral axis [nm]: 380–780 nm at 1 nm (401 values)."""
        return WAVELENGTH_NM.copy()

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
