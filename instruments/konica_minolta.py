"""Konica Minolta CS-2000 / CS-2000A spectroradiometer (USB virtual COM / RS-232C, 115200 8N1 RTS/CTS).

Commands end with a delimiter (LF here; CR and CR LF work too, and the instrument answers with
the one it got); replies are ``OK00[,data…]`` or an error-check code ``ERnn``. The flow this
driver follows is the document's own (§8.1 p.85): ``RMTS`` (``RMTS,2`` where the firmware takes
it, so that settings are not written to flash), ``MSWE,0`` (the front-panel button cannot start
a measurement that would clear the data being read), ``MEAS,1`` → ``OK00,ttt`` after the
pre-measurement → ``OK00`` after ttt seconds, then ``MEDR`` reads: colorimetric block 02
(x, y, Lv), the four spectral blocks (380–780 nm at 1 nm), the measurement conditions (block 0:
integration time, measuring angle …). Values come in hex (big-endian IEEE float32); a
calculation-error number (``D1BA43B6``, or ``-9.9999e9`` and its per-quantity forms in text)
becomes NaN, never a number.

References
----------
Konica Minolta, *Spectroradiometer CS-2000/CS-2000A Communication Specifications*, Rev. 7.00,
July 21 2020, KMSE A0E3-CS.07E ("[CS7]"); page numbers are the footer's "n/89".
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

from .resilience import EventCallback, ResilientLink
from .roles import InstrumentError, LightMeterOptics, LightReading
from .transport import GarbledReplyError, read_line, read_timeout

#: Error-check codes → meaning, as [CS7] §4 "Error-check codes" pp.76-77 words them.
ERROR_CODES = {
    "ER00": "received command string was not a valid command, or the number of parameters "
            "was incorrect (also every command but RMTS in key mode, and every command but "
            "MEAS,0 during a measurement)",
    "ER02": "measurement in process",
    "ER05": "no compensation values (user calibration, close-up lens or ND filter)",
    "ER10": "over measurement range: the luminance exceeds the measuring range, or the flicker "
            "is too large",
    "ER17": "parameter error: outside the specified input range",
    "ER20": "no data (no measurement data in the instrument's memory)",
    "ER30": "instrument internal memory error",
    "ER32": "instrument internal memory error",
    "ER34": "instrument internal memory error",
    "ER51": "temperature abnormality: the sensor's internal temperature is abnormal",
    "ER52": "temperature abnormality: the sensor's internal temperature is abnormal",
    "ER71": "outside synchronization signal range (external sync missing, or below 20 Hz / "
            "above 200 Hz)",
    "ER81": "shutter operation abnormality",
    "ER82": "internal ND filter operation malfunction",
    "ER83": "measurement angle abnormality: the measuring-angle selector is not in a normal "
            "position, or was moved during the measurement",
    "ER84": "cooling fan abnormality",
    "ER99": "program abnormality",
}

#: Speed modes selectable by name (``SPMS,<mode>,<ND>``). Normal mode integrates up to
#: 120 s per frame in the dark (a measurement of ~4 min); fast mode stops at 8 s (~17 s).
SPEED_MODES = {"normal": 0, "fast": 1}

#: Spectral axis of the CS-2000 [nm]: 380–780 nm at 1 nm (401 values, [CS7] §5.1 p.78).
WAVELENGTH_NM = np.arange(380.0, 781.0, 1.0)
BLOCK_SIZES = (100, 100, 100, 101)

#: Measuring-angle codes of STSR and MEDR,0 → angle [deg] ([CS7] STSR p.23, MEDR p.44).
ANGLES_DEG = {0: 1.0, 1: 0.2, 2: 0.1}

#: "About 1 to 10s" of pre-measurement before the first MEAS reply ([CS7] MEAS p.41).
PREMEASUREMENT_MAX_S = 10.0

#: Calculation-error numbers: hex ([CS7] §5.1.2 p.78, §5.2.2 p.81) and text, per quantity
#: (§5.1.1 p.78, §5.2.1 pp.79-80). Compared as text: none is a value any quantity can take.
CALC_ERROR_HEX = "D1BA43B6"
CALC_ERROR_TEXT = frozenset({"-9.9999e9", "-9.9e9", "-9.999", "-9999", "-9.9999"})


@dataclass(frozen=True)
class MeasurementConditions:
    """``MEDR,0,0,1``: the conditions of the last measurement ([CS7] MEDR p.44)."""

    speed_mode: int             #: 0 normal, 1 fast, 2 multi-integ normal, 3 manual, 4 multi fast
    sync_mode: int              #: 0 none, 1 internal, 2 external
    integration_time_s: float
    internal_nd: bool
    close_up_lens: bool         #: as stored on the instrument, not detected
    external_nd: int            #: 0 none, 1 ND 1/10, 2 ND 1/100 (stored, not detected)
    measuring_angle_deg: float  #: 1.0, 0.2 or 0.1
    calibration_channel: int    #: 0 Konica Minolta standard, 1-10 user


def hex_values(fields: list[str], what: str) -> np.ndarray:
    """Hex float32 words → values; the calculation-error word ``D1BA43B6`` → NaN."""
    out = np.empty(len(fields))
    for k, word in enumerate(fields):
        word = word.strip()
        if word.upper() == CALC_ERROR_HEX:
            out[k] = np.nan
            continue
        try:
            out[k] = struct.unpack(">f", bytes.fromhex(word))[0]
        except (ValueError, struct.error):
            raise GarbledReplyError(f"{what}: bad float32 hex word {word[:20]!r}") from None
    return out


def text_values(fields: list[str], what: str) -> np.ndarray:
    """Alphanumeric values → floats; each calculation-error number → NaN."""
    out = np.empty(len(fields))
    for k, field in enumerate(fields):
        field = field.strip()
        if field in CALC_ERROR_TEXT:
            out[k] = np.nan
            continue
        try:
            out[k] = float(field)
        except ValueError:
            raise GarbledReplyError(f"{what}: bad value {field[:20]!r}") from None
    return out


def _answer_fields(line: str, what: str) -> list[str]:
    """The data fields of an ``OK00[,fields]`` answer; ``ERnn`` raises
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
    return ",".join(f.strip() for f in _answer_fields(reply, "Konica Minolta CS-2000 query"))


class CS2000(Instrument):
    """Konica Minolta CS-2000 driver (serial line protocol, not SCPI).

    Every command is answered ``OK00[,fields]`` or ``ERnn``: declarative properties read
    that answer through :meth:`check_set_errors` (settings) or ``_ok_fields`` (queries).
    """

    id = Instrument.measurement(
        "IDDR", """``name,variation,serial`` (``IDDR``; the name's space padding removed).""",
        cast=str, preprocess_reply=_ok_fields, get_process_list=",".join)

    remote_enabled = Instrument.setting(
        "RMTS,%d", """Remote mode on (True, settings saved in flash) or off (``RMTS,1|0``).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
        check_set_errors=True)

    remote_mode = Instrument.setting(
        "RMTS,%d", """Remote mode: 0 key mode, 1 on (settings saved in flash), 2 on (settings
        not saved; firmware ≥ 3.00.9301) ([CS7] RMTS p.12).""",
        validator=strict_discrete_set, values=(0, 1, 2), check_set_errors=True)

    measuring_button_enabled = Instrument.setting(
        "MSWE,%d", """Whether the MEASURE key works in remote mode (``MSWE``, [CS7] p.46).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
        check_set_errors=True)

    measuring_angle_deg = Instrument.measurement(
        "STSR", """Measuring angle selected by the lever: 1.0, 0.2 or 0.1 deg (``STSR``, p.23).""",
        preprocess_reply=_ok_fields, values={1.0: 0, 0.2: 1, 0.1: 2}, map_values=True)

    def __init__(self, adapter, name="Konica Minolta CS-2000", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("asrl", {"baud_rate": 115200})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        #: The mode :meth:`remote` entered (1 or 2) and why RMTS,2 was refused, if it was.
        self.entered_remote_mode: Optional[int] = None
        self.rmts2_refused: Optional[str] = None

    def command(self, command: str) -> list[str]:
        """Send one command; return the data fields after ``OK00`` or raise on ``ERnn``."""
        self.write(command)
        return self._reply(command)

    def _reply(self, command: str) -> list[str]:
        line = read_line(self.adapter, what=f"{self.name} {command}")
        return _answer_fields(line, f"{self.name}: {command}")

    def check_set_errors(self) -> list:
        """Read a setting's ``OK00`` answer; ``ERnn`` raises :class:`InstrumentError`."""
        self._reply("setting")
        return []

    def remote(self, enabled: bool = True) -> Optional[int]:
        """Enter remote mode, preferring ``RMTS,2``; return the mode entered (None: left it).

        [CS7] §1.7 p.9 recommends RMTS,2 ("Use this mode whenever possible"); firmware older
        than 3.00.9301 does not take it (p.12) and answers an error-check code (which one is
        not documented), so any ``ERnn`` falls back to ``RMTS,1``; :attr:`rmts2_refused`
        then holds the refusal.
        """
        if not enabled:
            self.remote_enabled = False
            self.entered_remote_mode = None
            return None
        try:
            self.remote_mode = 2
            self.rmts2_refused = None
        except InstrumentError as exc:
            self.remote_mode = 1
            self.rmts2_refused = str(exc)
            self.entered_remote_mode = 1
            return 1
        self.entered_remote_mode = 2
        return 2

    def measure(self, *, margin_s: float = 10.0) -> int:
        """Measure (``MEAS,1``) and wait for the end; return ttt, the measuring time [s].

        The first reply comes after the pre-measurement ("About 1 to 10s", [CS7] p.41), so
        it is awaited for :data:`PREMEASUREMENT_MAX_S` + ``margin_s``; it carries ttt (3 digits,
        002–242 s from that reply), and the completion reply is awaited for ttt + ``margin_s``.
        """
        self.write("MEAS,1")
        with read_timeout(self.adapter, PREMEASUREMENT_MAX_S + margin_s):
            fields = self._reply("MEAS,1")
        if len(fields) != 1 or not re.fullmatch(r"\d{3}", fields[0].strip()) \
                or not 2 <= int(fields[0]) <= 242:
            raise GarbledReplyError(f"{self.name}: MEAS,1: measuring time {fields!r} is not "
                                    "3 digits 002–242")
        ttt = int(fields[0])
        with read_timeout(self.adapter, ttt + margin_s):
            self._reply("MEAS,1 (completion)")
        return ttt

    def conditions(self) -> MeasurementConditions:
        """``MEDR,0,0,1``: the last measurement's conditions, all 8 fields ([CS7] p.44)."""
        fields = [f.strip() for f in self.command("MEDR,0,0,1")]
        try:
            if len(fields) != 8 or not all(f.isdigit() for f in fields):
                raise ValueError
            speed, sync, t_us, nd, lens, ext_nd, angle, cal = (int(f) for f in fields)
            if speed > 4 or sync > 2 or nd > 1 or lens > 1 or ext_nd > 2 or cal > 10:
                raise ValueError
            angle_deg = ANGLES_DEG[angle]
        except (ValueError, KeyError):
            raise GarbledReplyError(f"{self.name}: MEDR,0,0,1: unexpected fields "
                                    f"{','.join(fields)[:80]!r}") from None
        return MeasurementConditions(speed, sync, t_us * 1e-6, bool(nd), bool(lens), ext_nd,
                                     angle_deg, cal)

    def _values(self, mode: int, block: int, data_format: str) -> np.ndarray:
        if data_format not in ("hex", "text"):
            raise ValueError(f"data_format = {data_format!r} is not allowed: use 'hex' or 'text'")
        command = f"MEDR,{mode},{int(data_format == 'hex')},{block:02d}" if mode == 2 else \
            f"MEDR,{mode},{int(data_format == 'hex')},{block}"
        fields = self.command(command)
        parse = hex_values if data_format == "hex" else text_values
        return parse(fields, f"{self.name}: {command}")

    def spectrum(self, data_format: str = "hex") -> np.ndarray:
        """Spectral radiance [W sr⁻¹ m⁻² nm⁻¹] at 380…780 nm, 1 nm (401 values; NaN where the
        instrument sent its calculation-error number). [CS7] calls the data "spectral
        irradiance" and gives no unit; radiance per nm is our reading (unverified)."""
        blocks = []
        for k, size in enumerate(BLOCK_SIZES, start=1):
            values = self._values(1, k, data_format)
            if values.size != size:
                raise GarbledReplyError(f"{self.name}: MEDR,1,…,{k}: {values.size} values, "
                                        f"expected {size}")
            blocks.append(values)
        return np.concatenate(blocks)

    def xy_luminance(self, data_format: str = "hex") -> tuple[float, float, float]:
        """(x, y, L_v [cd m⁻²]) of the last measurement (CIE 1931 2°; block 02, p.79); NaN for a
        calculation error."""
        values = self._values(2, 2, data_format)
        if values.size != 3:
            raise GarbledReplyError(f"{self.name}: MEDR,2,…,02: {values.size} values, expected 3")
        x, y, lv = (float(v) for v in values)
        return x, y, lv

    def speed_mode(self) -> tuple[int, Optional[int], int]:
        """``(speed mode, time field or None, internal ND mode)`` from ``SPMR`` (pp.17-18).

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

        Under ``RMTS,1`` the CS-2000 writes its measuring conditions to flash memory, which
        takes a limited number of writes ([CS7] p.12), so ``SPMS`` is sent only when ``SPMR``
        reports something else. Returns True if the mode was written.
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


class CS2000LightMeter:
    """:class:`~instruments.roles.LightMeter` on a CS-2000.

    Parameters
    ----------
    speed : ``"normal"``, ``"fast"`` or None
        Speed mode set on connect and after every reconnect (None: leave the instrument's
        stored mode). Fast mode caps a dark measurement at ~17 s instead of ~4 min.
    data_format : ``"hex"`` or ``"text"``
        How values are read (``MEDR,…,1,…`` float32 hex, or the alphanumeric formats).
    on_event : callable, optional
        ``on_event(level, message)``: reconnects, the RMTS,1 fallback, calculation errors
        recorded as NaN, a measuring angle that changed.
    """

    def __init__(self, driver, *, reopen: Optional[Callable[[], object]] = None,
                 name: str = "light_meter", spectrum: bool = True,
                 speed: Optional[str] = None, data_format: str = "hex",
                 on_event: Optional[EventCallback] = None, retries: int = 3,
                 backoff_s: float = 0.05):
        if speed is not None and speed not in SPEED_MODES:
            raise ValueError(f"speed = {speed!r} is not allowed: use one of "
                             f"{', '.join(repr(k) for k in SPEED_MODES)} or None")
        if data_format not in ("hex", "text"):
            raise ValueError(f"data_format = {data_format!r} is not allowed: use 'hex' or 'text'")
        self.name = name
        self.read_spectrum = spectrum
        self.speed = speed
        self.data_format = data_format
        self._on_event = on_event
        self.measuring_angle_deg = float("nan")
        self._link = ResilientLink(name, driver, reopen=reopen, restore=self._prepare,
                                   retries=retries, backoff_s=backoff_s, on_event=on_event)
        self._link.call(self._prepare)
        self.idn = self._link.call(lambda d: d.id)

    def _event(self, level: str, message: str) -> None:
        if self._on_event is not None:
            self._on_event(level, message)

    def _prepare(self, driver) -> None:
        """Remote mode, button off, the speed mode, the angle (on connect and reconnect)."""
        if driver.remote(True) == 1:
            self._event("warning", f"{self.name}: RMTS,2 refused ({driver.rmts2_refused}): "
                                   "remote mode RMTS,1, so settings sent now are written to "
                                   "the CS-2000's flash memory (firmware before 3.00.9301)")
        driver.measuring_button_enabled = False
        if self.speed is not None:
            driver.set_speed(self.speed)
        self.measuring_angle_deg = float(driver.measuring_angle_deg)

    @classmethod
    def open(cls, resource: str, *, name: str = "light_meter", on_event=None,
             retries: int = 3, backoff_s: float = 0.05, speed: Optional[str] = None,
             spectrum: bool = True, data_format: str = "hex", **adapter_options):
        from .transport import open_adapter

        options = {"baud_rate": 115200, "rtscts": True, "timeout_ms": 10000, **adapter_options}

        def reopen():
            return CS2000(open_adapter(resource, **options))

        return cls(reopen(), reopen=reopen, name=name, on_event=on_event, retries=retries,
                   backoff_s=backoff_s, speed=speed, spectrum=spectrum, data_format=data_format)

    @property
    def driver(self):
        return self._link.driver

    @property
    def wavelength_nm(self) -> np.ndarray:
        """Spectral axis [nm]: 380–780 nm at 1 nm (401 values)."""
        return WAVELENGTH_NM.copy()

    def optics(self, working_distance_mm: Optional[float] = None) -> LightMeterOptics:
        """The measuring angle read at connect (``STSR``) and the given working distance."""
        return LightMeterOptics(self.measuring_angle_deg, working_distance_mm)

    def measure(self) -> LightReading:
        fmt = self.data_format

        def run(d):
            d.measure()
            x, y, lv = d.xy_luminance(fmt)
            spectrum = d.spectrum(fmt) if self.read_spectrum else np.empty(0)
            return lv, x, y, spectrum, d.conditions()

        lv, x, y, spectrum, cond = self._link.call(run)
        self._report(lv, x, y, spectrum, cond)
        wavelength = WAVELENGTH_NM.copy() if spectrum.size else np.empty(0)
        return LightReading(lv, x, y, wavelength, spectrum,
                            measuring_angle_deg=cond.measuring_angle_deg,
                            integration_time_s=cond.integration_time_s)

    def _report(self, lv, x, y, spectrum, cond) -> None:
        """Events for values recorded as NaN and for a measuring angle that moved."""
        bad = [name for name, v in (("Lv", lv), ("x", x), ("y", y)) if v != v]
        n_bad = int(np.isnan(spectrum).sum())
        if n_bad:
            bad.append(f"{n_bad} of {spectrum.size} spectral values")
        if bad:
            self._event("warning", f"{self.name}: the CS-2000 sent its calculation-error number "
                                   f"for {', '.join(bad)} ([CS7] §5 pp.78-81): recorded as NaN")
        if cond.measuring_angle_deg != self.measuring_angle_deg:
            self._event("warning", f"{self.name}: measuring angle is {cond.measuring_angle_deg:g}° "
                                   f"(was {self.measuring_angle_deg:g}° at connect): the lever "
                                   "was moved; the measured spot changed")
            self.measuring_angle_deg = cond.measuring_angle_deg

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
