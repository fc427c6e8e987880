"""Photo Research PR-655 / PR-670 SpectraScan spectroradiometer (USB CDC serial).

Every command is written one character at a time and ended with CR, as the manual asks of
programs ("single characters and not Strings must be sent to the instrument", p.103): ``Q``
(leave a stale remote session), ``PHOTO`` (remote mode; answered `` REMOTE MODE``), ``SU1``
(metric: luminance in cd/m²), ``D601`` (the setup, to read back the units), ``D120`` (the
wavelength axis), then per measurement ``M5`` (spectrum, W sr⁻¹ m⁻² nm⁻¹) and ``D1`` (Y, x, y).
Replies start with a status: ``00000``/``0000`` OK, a negative code otherwise. The ``UUUU`` field
is the kind of measurement (0 for luminance in every example of the manual), not the unit
system, which is ``SU``'s.

References
----------
Photo Research, *PR-655 / PR-670 User Manual*, "Remote Control Mode", manual pp. 99–123 ("[PRRM]":
command detail pp.105-106, setup pp.107-112, data codes pp.113-121, error codes pp.122-123).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

from .resilience import EventCallback, ResilientLink
from .roles import InstrumentError, LightMeterOptics, LightReading
from .transport import GarbledReplyError, read_line, read_timeout

#: Measurement errors ([PRRM] "Remote control measurement errors", p.122).
MEASUREMENT_ERRORS = {
    -1: "Light source not constant.",
    -2: "Light overload – signal too intense.",
    -3: "Cannot Sync to light source. Light source frequency below 20Hz, above 400 Hz or "
        "signal too low to Sync.",
    -4: "Adaptive mode error.",
    -8: "Weak light – insufficient signal.",
    -9: "Sync Error.",
    -10: "Cannot Auto Sync to light source.",
    -12: "Adaptive mode time out. Light source not constant.",
}
#: Parsing errors and their valid values ([PRRM] "Remote control parsing errors", pp.122-123).
PARSING_ERRORS = {
    -1000: "Illegal command",
    -1001: "Too many fields in setup command",
    -1002: "Invalid primary accessory code",
    -1003: "Invalid Addon 1 accessory code",
    -1004: "Invalid Addon 2 accessory code",
    -1005: "Accessory is not a primary accessory",
    -1006: "Accessory is not an Addon accessory",
    -1007: "Accessory already selected",
    -1008: "Invalid Aperture index (PR-670 only)",
    -1009: "Invalid units code (valid: 0 = English, 1 = Metric (SI))",
    -1010: "Invalid Exposure value (valid: PR-655 3 to 6000 ms, PR-670 6 to 30,000 ms)",
    -1011: "Invalid Gain code (valid: 0 = Normal, 1 = 1X for AC sources, 2 = 10X, 3 = 100X)",
    -1012: "Invalid average cycles (valid: 1 to 99)",
    -1015: "Invalid CIE observer (valid: 2 or 10)",
    -1017: "Invalid Dark measurement mode (valid: 0 = Disable Smart Dark, 1 = Enable Smart Dark)",
    -1019: "Invalid Sync mode (valid: 0 = No Sync, 1 = Auto Sync, 3 = User Frequency)",
    -1021: "Measurement title too long (> 20 characters)",
    -1022: "Measurement title field empty after sending L command",
    -1023: "Invalid user Sync period (valid: 20 to 400 Hz)",
    -1024: "Invalid R command",
    -1025: "Invalid Addon 3 accessory code",
    -1026: "Invalid sensitivity mode (valid: 0 = Standard Mode, 1 = Extended Mode)",
    -1035: "Parameter not applicable to this instrument",
    -2000: "a response code was requested that does not exist, or no measurement was made "
           "before this D command",
}
QUALITY_CODES = {0: "OK", **MEASUREMENT_ERRORS, **PARSING_ERRORS}

#: Measurement errors about the light itself: the reading becomes NaN plus an event (a dim
#: point of a sweep, an overloaded one); the others (sync, adaptive mode) raise.
NAN_CODES = frozenset({-1, -2, -8, -12})
#: The ``UUUU`` values that mean a luminance measurement: 0 (every [PRRM] example, pp.115-118)
#: and 111 ([PRRM] Table 9 p.113).
LUMINANCE_UNITS_FIELDS = frozenset({0, 111})
#: 1 footlambert = (1/π) cd/ft² ≈ 3.426 cd/m² (PR-7XX manual: "multiply cd/m² by 0.2919").
FOOTLAMBERT_CD_M2 = 1.0 / (math.pi * 0.3048 ** 2)

#: Spectral axis of the PR-655 [nm]: 380–780 nm at 4 nm (101 values; Psychtoolbox, client).
WAVELENGTH_NM = np.arange(380.0, 781.0, 4.0)


def _code_text(code: int) -> str:
    return QUALITY_CODES.get(code, "unknown code")


class PR655(Instrument):
    """Photo Research PR-655 driver (not SCPI): every command is answered with a status code
    (0 = OK), which settings read through :meth:`check_set_errors`.

    Parameters
    ----------
    char_gap_s : float
        Pause after each character written [s] (the manual asks for single characters;
        Psychtoolbox pauses 50 ms, iris allows 10 ms a character).
    """

    COMMAND_END = "\r"          # "[CR]" ([PRRM] pp.105-112)

    metric_units = Instrument.setting(
        "SU%d", """Metric (True: cd/m²) or English units (fL) of photometric values (``SU``,
        [PRRM] p.112).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
        check_set_errors=True)

    def __init__(self, adapter, name="Photo Research PR-655", *, measure_timeout_s: float = 60,
                 char_gap_s: float = 0.0, **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "")
        kwargs.setdefault("asrl", {"baud_rate": 9600})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.measure_timeout_s = measure_timeout_s
        self.char_gap_s = char_gap_s
        #: 1 Metric, 0 English, as D601 reported it at :meth:`remote` (None before).
        self.units_code: Optional[int] = None
        self.wavelength_nm = WAVELENGTH_NM.copy()

    def write(self, command: str, **kwargs) -> None:
        """Send ``command`` and CR, one character at a time ([PRRM] p.103)."""
        self.send_chars(command + self.COMMAND_END)

    def send_chars(self, text: str) -> None:
        for ch in text:
            self.write_bytes(ch.encode("ascii"))
            if self.char_gap_s:
                time.sleep(self.char_gap_s)

    def _line(self, what: str) -> str:
        return read_line(self.adapter, what=f"{self.name} {what}")

    def _checked(self, line: str, what: str) -> list[str]:
        """The fields after the status; a non-zero status raises :class:`InstrumentError`."""
        code_text, *fields = line.split(",")
        try:
            code = int(code_text)
        except ValueError:
            raise GarbledReplyError(f"{self.name}: {what}: unexpected reply {line[:60]!r}") \
                from None
        if code != 0:
            raise InstrumentError(f"{self.name}: {what} → quality code {code}: "
                                  f"{_code_text(code)}")
        return fields

    def ask_fields(self, command: str) -> list[str]:
        self.write(command)
        return self._checked(self._line(command), command)

    def check_set_errors(self) -> list:
        """Read a setting's status (``0000``); non-zero raises :class:`InstrumentError`."""
        self._checked(self._line("setting"), "setting")
        return []

    def remote(self, *, metric: bool = True, quit_wait_s: float = 0.5) -> None:
        """Enter remote mode; select metric units; read the units back and the axis.

        A unit still in remote mode from an earlier session does not answer PHOTO again
        (Psychtoolbox ``PR670init.m`` sends Q, waits 0.5 s, then PHOTO): so Q first, and
        anything the unit had queued is discarded. The answer to PHOTO is read as 12 bytes
        (`` REMOTE MODE``, as iris and Photo_Research read it; [PRRM] p.103 says only "REMOTE
        MODE is displayed"); a CR LF after it, if a unit sends one, is discarded too.
        """
        self.send_chars("Q")
        if quit_wait_s:
            time.sleep(quit_wait_s)
        self._discard_input()
        self.send_chars("PHOTO")
        banner = self.read_bytes(12)
        while b"REMOTE MODE" not in banner and len(banner) < 40:
            more = self.read_bytes(1)
            if not more:
                break
            banner += more
        if b"REMOTE MODE" not in banner:
            raise GarbledReplyError(f"{self.name}: PHOTO: unexpected reply {banner[:40]!r}")
        time.sleep(0.05)
        self._discard_input()
        if metric:
            self.metric_units = True
        setup = self.ask_fields("D601")
        if len(setup) < 15 or setup[5].strip() not in ("0", "1"):
            raise GarbledReplyError(f"{self.name}: D601: unexpected setup {','.join(setup)[:80]!r}")
        self.units_code = int(setup[5])
        self.wavelength_nm = self._axis()

    def _axis(self) -> np.ndarray:
        """``D120``: points, bandwidth, first, last, increment … ([PRRM] p.119)."""
        fields = self.ask_fields("D120")
        try:
            points, first, last, step = int(fields[0]), int(fields[2]), int(fields[3]), int(fields[4])
        except (IndexError, ValueError):
            raise GarbledReplyError(f"{self.name}: D120: unexpected fields {fields!r}") from None
        axis = np.arange(first, last + step / 2, step, dtype=float)
        if axis.size != points:
            raise GarbledReplyError(f"{self.name}: D120: {points} points do not fit "
                                    f"{first}-{last} nm at {step} nm")
        return axis

    def _discard_input(self) -> None:
        """Drop bytes waiting on the line (and those read_line holds back)."""
        self.adapter.__dict__.pop("_qled_rx", None)
        connection = getattr(self.adapter, "connection", None)
        try:
            if hasattr(connection, "reset_input_buffer"):
                connection.reset_input_buffer()
            elif hasattr(connection, "flush"):
                from pyvisa.constants import BufferOperation
                connection.flush(BufferOperation.discard_read_buffer)
        except Exception:  # noqa: BLE001 - best effort: nothing waiting is the usual case
            pass

    def quit_remote(self) -> None:
        self.send_chars("Q")

    @property
    def id(self) -> str:
        return ",".join(self.ask_fields("D111") + self.ask_fields("D110"))

    def _units_check(self, units_text: str, what: str) -> None:
        try:
            units = int(units_text)
        except ValueError:
            raise GarbledReplyError(f"{self.name}: {what}: units field {units_text!r}") from None
        if units not in LUMINANCE_UNITS_FIELDS:
            raise InstrumentError(f"{self.name}: {what} reported units field {units}: not a "
                                  "luminance measurement (0 or 111, [PRRM] p.113); is an "
                                  "illuminance or intensity accessory fitted?")

    def measure_spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """``M5``: measure; return (wavelength_nm, spectral radiance [W sr⁻¹ m⁻² nm⁻¹]).

        A measurement error raises :class:`InstrumentError` whose ``code`` attribute is the
        quality code."""
        self.write("M5")
        with read_timeout(self.adapter, self.measure_timeout_s):
            line = self._line("M5")
        try:
            head = self._checked(line, "M5")
        except InstrumentError as exc:
            exc.code = int(line.split(",")[0])
            raise
        self._units_check(head[0] if head else "", "M5")
        wavelength, radiance = [], []
        for _ in range(self.wavelength_nm.size):
            fields = self._line("M5 data").split(",")
            try:
                wavelength.append(float(fields[0]))
                radiance.append(float(fields[1]))
            except (IndexError, ValueError):
                raise GarbledReplyError(f"{self.name}: M5: bad data line {fields!r}") from None
        return np.array(wavelength), np.array(radiance)

    def last_luminance_xy(self) -> tuple[float, float, float]:
        """``D1`` → (Y = L_v [cd m⁻²], x, y) of the last measurement; Y converted from fL when
        the unit is in English units (``SU0``, D601)."""
        fields = self.ask_fields("D1")
        try:
            self._units_check(fields[0], "D1")
            lv, x, y = float(fields[1]), float(fields[2]), float(fields[3])
        except (IndexError, ValueError):
            raise GarbledReplyError(f"{self.name}: D1: bad reply fields {fields!r}") from None
        if self.units_code == 0:
            lv *= FOOTLAMBERT_CD_M2
        return lv, x, y


class PR655LightMeter:
    """:class:`~instruments.roles.LightMeter` on a PR-655 (or a PR-670: the axis is read).

    Measurement errors about the light (−1, −2, −8, −12, [PRRM] p.122) give a NaN reading and
    a warning event; the others raise :class:`InstrumentError` with the manual's words.
    ``metric=False`` leaves the unit's ``SU`` setting alone (luminance is converted from fL
    when D601 says English).
    """

    #: The PR-655's measuring field, 1° (guess: the D117 aperture list of a PR-655 is not
    #: documented; the PR-670's starts at "1 deg", [PRRM] p.119).
    MEASURING_ANGLE_DEG = 1.0

    def __init__(self, driver, *, reopen: Optional[Callable[[], object]] = None,
                 name: str = "light_meter", on_event: Optional[EventCallback] = None,
                 retries: int = 3, backoff_s: float = 0.05, quit_wait_s: float = 0.5,
                 metric: bool = True):
        self.name = name
        self._on_event = on_event
        self.quit_wait_s = quit_wait_s
        self.metric = metric
        self._link = ResilientLink(name, driver, reopen=reopen, restore=self._prepare,
                                   retries=retries, backoff_s=backoff_s, on_event=on_event)
        self._link.call(self._prepare)
        self.idn = self._link.call(lambda d: d.id)

    def _prepare(self, driver) -> None:
        driver.remote(metric=self.metric, quit_wait_s=self.quit_wait_s)

    @classmethod
    def open(cls, resource: str, *, name: str = "light_meter", on_event=None,
             retries: int = 3, backoff_s: float = 0.05, quit_wait_s: float = 0.5,
             char_gap_s: float = 0.005, metric: bool = True, **adapter_options):
        from .transport import open_adapter

        options = {"baud_rate": 9600, "timeout_ms": 5000, "write_termination": "",
                   **adapter_options}

        def reopen():
            return PR655(open_adapter(resource, **options), char_gap_s=char_gap_s)

        return cls(reopen(), reopen=reopen, name=name, on_event=on_event, retries=retries,
                   backoff_s=backoff_s, quit_wait_s=quit_wait_s, metric=metric)

    @property
    def driver(self):
        return self._link.driver

    @property
    def wavelength_nm(self) -> np.ndarray:
        """Spectral axis [nm] from ``D120`` (PR-655: 380–780 nm at 4 nm, 101 values)."""
        return self.driver.wavelength_nm.copy()

    def optics(self, working_distance_mm: Optional[float] = None) -> LightMeterOptics:
        return LightMeterOptics(self.MEASURING_ANGLE_DEG, working_distance_mm)

    def measure(self) -> LightReading:
        def run(d):
            try:
                wl, spectrum = d.measure_spectrum()
            except InstrumentError as exc:
                code = getattr(exc, "code", None)
                if code in NAN_CODES:
                    return code
                raise
            lv, x, y = d.last_luminance_xy()
            return LightReading(lv, x, y, wl, spectrum, measuring_angle_deg=self.MEASURING_ANGLE_DEG)

        reading = self._link.call(run)
        if isinstance(reading, int):
            if self._on_event is not None:
                self._on_event("warning", f"{self.name}: M5 → {reading}: "
                                          f"{MEASUREMENT_ERRORS[reading]} ([PRRM] p.122): "
                                          "recorded as NaN")
            return LightReading(math.nan, math.nan, math.nan,
                                measuring_angle_deg=self.MEASURING_ANGLE_DEG)
        axis = self.driver.wavelength_nm
        wl = reading.wavelength_nm
        if wl.shape != axis.shape or not np.allclose(wl, axis, rtol=0, atol=1e-6):
            raise InstrumentError(
                f"{self.name}: M5 reported {wl.size} wavelengths ({wl[0]:g} … {wl[-1]:g} nm), "
                f"not the {self.idn.split(',')[0]} axis D120 gave ({axis[0]:g} … {axis[-1]:g} nm, "
                f"{axis.size} points)")
        return reading

    def close(self) -> None:
        try:
            self.driver.quit_remote()
        except Exception:  # noqa: BLE001 - leaving remote mode is a courtesy
            pass
        self._link.close_driver()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
