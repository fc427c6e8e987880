"""Photo Research PR-655 / PR-670 SpectraScan spectroradiometer (USB CDC serial).

``PHOTO`` (no terminator) enters remote mode (reply ``REMOTE MODE``); commands end with CR,
replies with CR LF and start with a five-character quality code (``00000`` = OK). ``M5``
measures and returns a header then ``wavelength,value`` lines (W sr⁻¹ m⁻² nm⁻¹); ``D1`` then
reports ``qqqqq,U,Y,x,y`` of the same measurement. ``SU1`` selects metric units (cd/m²).
``Q`` leaves remote mode.

References
----------
Photo Research, *PR-655/PR-670 SpectraScan User Manual*, remote-mode appendix (error codes
p. 149–150); PsychoPy ``hardware/pr.py``; colour-science/colour-specio.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

from .resilience import EventCallback, ResilientLink
from .roles import InstrumentError, LightReading
from .transport import GarbledReplyError, read_line, read_timeout

#: Quality / error codes → meaning (PR-655 manual; PR-650 "light low" codes kept).
QUALITY_CODES = {
    0: "OK",
    -1: "light too low",
    10: "light too low",
    18: "light too low for accurate measurement",
    -2: "light overload: the source is too bright",
    -8: "weak light: cannot measure",
    -1000: "illegal command",
    -2000: "invalid data request (no measurement yet)",
}

#: Spectral axis of the PR-655 [nm]: ``M5`` reports 380–780 nm at 4 nm (101 values).
WAVELENGTH_NM = np.arange(380.0, 781.0, 4.0)


class PR655(Instrument):
    """Photo Research PR-655 driver (not SCPI): every command is answered with a quality
    code (0 = OK), which settings read through :meth:`check_set_errors`."""

    metric_units = Instrument.setting(
        "SU%d", """Metric (True: cd/m², W sr⁻¹ m⁻² nm⁻¹) or English units (``SU``).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
        check_set_errors=True)

    def __init__(self, adapter, name="Photo Research PR-655", *, measure_timeout_s: float = 60,
                 **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\r")
        kwargs.setdefault("asrl", {"baud_rate": 9600})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.measure_timeout_s = measure_timeout_s

    def _line(self, what: str) -> str:
        return read_line(self.adapter, what=f"{self.name} {what}")

    def _checked(self, line: str, what: str) -> list[str]:
        code_text, *fields = line.split(",")
        try:
            code = int(code_text)
        except ValueError:
            raise GarbledReplyError(f"{self.name}: {what}: unexpected reply {line[:60]!r}") \
                from None
        if code != 0:
            raise InstrumentError(f"{self.name}: {what} → quality code {code}: "
                                  f"{QUALITY_CODES.get(code, 'unknown code')}")
        return fields

    def check_set_errors(self) -> list:
        """Read a setting's quality code; non-zero raises :class:`InstrumentError`."""
        self._checked(self._line("setting"), "setting")
        return []

    def remote(self) -> None:
        """Enter remote mode (``PHOTO`` without terminator) and select metric units."""
        self.write_bytes(b"PHOTO")
        line = self._line("PHOTO")
        if "REMOTE" not in line.upper():
            raise GarbledReplyError(f"{self.name}: PHOTO: unexpected reply {line[:60]!r}")
        self.metric_units = True

    def quit_remote(self) -> None:
        self.write_bytes(b"Q")

    @property
    def id(self) -> str:
        self.write("D111")
        model = self._checked(self._line("D111"), "D111")
        self.write("D110")
        serial = self._checked(self._line("D110"), "D110")
        return ",".join(model + serial)

    def measure_spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """``M5``: measure; return (wavelength_nm, spectral radiance [W sr⁻¹ m⁻² nm⁻¹])."""
        self.write("M5")
        with read_timeout(self.adapter, self.measure_timeout_s):
            self._checked(self._line("M5"), "M5")
        wavelength, radiance = [], []
        while not wavelength or wavelength[-1] < 780:
            fields = self._line("M5 data").split(",")
            try:
                wavelength.append(float(fields[0]))
                radiance.append(float(fields[1]))
            except (IndexError, ValueError):
                raise GarbledReplyError(f"{self.name}: M5: bad data line {fields!r}") from None
        return np.array(wavelength), np.array(radiance)

    def last_luminance_xy(self) -> tuple[float, float, float]:
        """``D1`` → (Y = L_v [cd m⁻²], x, y) of the last measurement."""
        self.write("D1")
        fields = self._checked(self._line("D1"), "D1")
        try:
            units, lv, x, y = int(fields[0]), float(fields[1]), float(fields[2]), float(fields[3])
        except (IndexError, ValueError):
            raise GarbledReplyError(f"{self.name}: D1: bad reply fields {fields!r}") from None
        if units != 1:
            raise InstrumentError(f"{self.name}: D1 reported units {units}, expected 1 (metric)")
        return lv, x, y


class PR655LightMeter:
    """:class:`~instruments.roles.LightMeter` on a PR-655."""

    def __init__(self, driver, *, reopen: Optional[Callable[[], object]] = None,
                 name: str = "light_meter", on_event: Optional[EventCallback] = None,
                 retries: int = 3, backoff_s: float = 0.05):
        self.name = name
        self._link = ResilientLink(name, driver, reopen=reopen, restore=lambda d: d.remote(),
                                   retries=retries, backoff_s=backoff_s, on_event=on_event)
        self._link.call(lambda d: d.remote())
        self.idn = self._link.call(lambda d: d.id)

    @classmethod
    def open(cls, resource: str, *, name: str = "light_meter", on_event=None,
             retries: int = 3, backoff_s: float = 0.05, **adapter_options):
        from .transport import open_adapter

        options = {"baud_rate": 9600, "timeout_ms": 5000, "write_termination": "\r",
                   **adapter_options}

        def reopen():
            return PR655(open_adapter(resource, **options))

        return cls(reopen(), reopen=reopen, name=name, on_event=on_event, retries=retries,
                   backoff_s=backoff_s)

    @property
    def driver(self):
        return self._link.driver

    @property
    def wavelength_nm(self) -> np.ndarray:
        """Spectral axis [nm]: 380–780 nm at 4 nm (101 values)."""
        return WAVELENGTH_NM.copy()

    def measure(self) -> LightReading:
        def run(d):
            wl, spectrum = d.measure_spectrum()
            lv, x, y = d.last_luminance_xy()
            return LightReading(lv, x, y, wl, spectrum)

        reading = self._link.call(run)
        wl = reading.wavelength_nm
        if wl.shape != WAVELENGTH_NM.shape or not np.allclose(wl, WAVELENGTH_NM, rtol=0,
                                                               atol=1e-6):
            raise InstrumentError(
                f"{self.name}: M5 reported {wl.size} wavelengths ({wl[0]:g} … {wl[-1]:g} nm), "
                "not the PR-655 axis 380–780 nm at 4 nm (a PR-670 or another configuration "
                "needs its own axis)")
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
