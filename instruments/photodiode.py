"""Photodiode route: responsivity table, on-axis geometry, and photocurrent readers.

A calibrated Si photodiode of radius r at distance d on the axis of a Lambertian pixel collects
the fraction sin²α = r²/(d²+r²) of the forward flux. With responsivity R(λ) [A/W] and the
pixel's normalised EL spectrum S(λ) (any scale),

    P  = (I_PD / sin²α) · ∫S dλ / ∫S·R dλ                     optical power [W]
    N  = (I_PD / sin²α) · ∫S·λ/(hc) dλ / ∫S·R dλ              photon flux [s⁻¹]
    L  = K_m · (I_PD / sin²α) · ∫S·V dλ / ∫S·R dλ / (π·A)     luminance [cd m⁻²]

with V(λ) the CIE 1924 photopic luminous efficiency (from ``colour``) and K_m = 683 lm/W.

References
----------
Archer et al., "Accurate efficiency measurements of organic light-emitting diodes via angle-
resolved spectroscopy", Adv. Opt. Mater. 9, 2000838 (2021), doi:10.1002/adom.202000838.
Anaya et al., Nat. Photonics 13, 818 (2019), doi:10.1038/s41566-019-0543-y (reporting).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from scipy import constants

from .resilience import EventCallback, ResilientLink
from .roles import DarkCurrent
from .validation import check_range

SI_DEFAULT = "si_default"
#: Wavelength grid of the ``si_default`` table [nm].
SI_DEFAULT_GRID_NM = np.arange(300.0, 1101.0, 1.0)


def si_default_responsivity_A_W(wavelength_nm) -> np.ndarray:
    """Modelled responsivity of a typical Si photodiode, R(λ) = η(λ)·q·λ/(h·c) [A/W].

    η(λ) = 0.85·[1 − exp(−(λ − 300 nm)/60 nm)] / [1 + exp((λ − 1030 nm)/25 nm)] for
    λ > 300 nm (0 below): blue loss to surface recombination, infrared cut-off at the Si band
    gap; ≈ 0.28 A/W at 450 nm, 0.37 A/W at 550 nm, peak ≈ 0.6 A/W near 950 nm — the shape of
    common Si photodiodes (e.g. the Hamamatsu S1337 data sheet). The same model defines the
    simulated bench's detector, so ``responsivity = "si_default"`` is exact there; on a real
    detector it is only typical — load the calibration certificate instead.
    """
    lam = np.asarray(wavelength_nm, dtype=float)
    eta = 0.85 * (1.0 - np.exp(-np.clip(lam - 300.0, 0.0, None) / 60.0))
    eta = eta / (1.0 + np.exp((lam - 1030.0) / 25.0))
    return eta * constants.e * lam * 1e-9 / (constants.h * constants.c)


@lru_cache(maxsize=1)
def _photopic():
    import colour

    sd = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"]
    return np.asarray(sd.wavelengths, float), np.asarray(sd.values, float), \
        float(colour.constants.CONSTANT_K_M)


def _trapz(y, x):
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def collection_fraction(radius_mm: float, distance_mm: float) -> float:
    """sin²α = r²/(d²+r²): fraction of a Lambertian source's flux on an on-axis disc.

    References
    ----------
    Archer et al., Adv. Opt. Mater. 9, 2000838 (2021).
    """
    r = check_range("radius_mm", radius_mm, 1e-3, 1e3, "mm")
    d = check_range("distance_mm", distance_mm, 0.0, 1e5, "mm")
    return r * r / (d * d + r * r)


@dataclass(frozen=True)
class PhotodiodeCalibration:
    """Responsivity table R(λ) and on-axis geometry of a photodiode.

    Attributes
    ----------
    wavelength_nm, responsivity_A_W : numpy.ndarray
        The table; R is linearly interpolated and taken as 0 outside it.
    radius_mm, distance_mm : float
        Detector active radius and pixel-detector distance [mm].
    source : str
        Where the table came from (``"si_default"`` or a file path), stored with runs.
    """

    wavelength_nm: np.ndarray
    responsivity_A_W: np.ndarray
    radius_mm: float
    distance_mm: float
    source: str = "table"

    def __post_init__(self):
        wl = np.asarray(self.wavelength_nm, dtype=float)
        r = np.asarray(self.responsivity_A_W, dtype=float)
        if wl.ndim != 1 or wl.size < 2 or wl.shape != r.shape:
            raise ValueError("responsivity table must have ≥ 2 rows of wavelength_nm, "
                             "responsivity_A_W")
        if np.any(np.diff(wl) <= 0):
            raise ValueError("wavelength_nm of the responsivity table must strictly increase")
        if np.any(~np.isfinite(r)) or np.any(r < 0) or np.any(r > 1.5):
            raise ValueError("responsivity_A_W is out of range: allowed 0 … 1.5 A/W "
                             "(a value in mA/W or % would be off by 1000 or 100)")
        collection_fraction(self.radius_mm, self.distance_mm)    # validates geometry
        object.__setattr__(self, "wavelength_nm", wl)
        object.__setattr__(self, "responsivity_A_W", r)

    @classmethod
    def from_csv(cls, path, *, radius_mm: float, distance_mm: float) -> "PhotodiodeCalibration":
        """Read ``wavelength_nm,responsivity_A_W`` rows (``#`` comments and a header allowed)."""
        path = Path(path)
        rows = []
        with path.open(newline="") as fh:
            for row in csv.reader(line for line in fh if not line.lstrip().startswith("#")):
                if not row or not row[0].strip():
                    continue
                try:
                    rows.append((float(row[0]), float(row[1])))
                except (ValueError, IndexError):
                    if rows:   # only the first non-comment line may be a header
                        raise ValueError(f"responsivity file {path}: bad row {row!r}") from None
        if not rows:
            raise ValueError(f"responsivity file {path}: no wavelength_nm,responsivity_A_W rows")
        wl, r = np.array(rows).T
        return cls(wl, r, radius_mm, distance_mm, source=str(path))

    @classmethod
    def si_default(cls, *, radius_mm: float, distance_mm: float) -> "PhotodiodeCalibration":
        """The modelled typical Si responsivity (:func:`si_default_responsivity_A_W`)."""
        return cls(SI_DEFAULT_GRID_NM, si_default_responsivity_A_W(SI_DEFAULT_GRID_NM),
                   radius_mm, distance_mm, source=SI_DEFAULT)

    @property
    def fraction(self) -> float:
        """Collected fraction sin²α of the forward flux."""
        return collection_fraction(self.radius_mm, self.distance_mm)

    def responsivity(self, wavelength_nm) -> np.ndarray:
        """R(λ) [A/W] on ``wavelength_nm`` (linear interpolation, 0 outside the table)."""
        return np.interp(np.asarray(wavelength_nm, float), self.wavelength_nm,
                         self.responsivity_A_W, left=0.0, right=0.0)

    def _scale(self, photocurrent_A, wavelength_nm, spectrum):
        wl = np.asarray(wavelength_nm, dtype=float)
        s = np.asarray(spectrum, dtype=float)
        if wl.ndim != 1 or wl.shape != s.shape or wl.size < 2 or np.any(np.diff(wl) <= 0):
            raise ValueError("wavelength_nm and spectrum must be 1-D, same length (≥ 2), "
                             "wavelengths strictly increasing")
        denominator = _trapz(s * self.responsivity(wl), wl)
        if not denominator > 0:
            raise ValueError("spectrum does not overlap the responsivity table "
                             f"({self.wavelength_nm[0]:g} … {self.wavelength_nm[-1]:g} nm)")
        return float(photocurrent_A) / self.fraction / denominator, wl, s

    def optical_power_W(self, photocurrent_A, wavelength_nm, spectrum) -> float:
        """Forward optical power [W]: P = (I/sin²α)·∫S dλ / ∫S·R dλ."""
        k, wl, s = self._scale(photocurrent_A, wavelength_nm, spectrum)
        return k * _trapz(s, wl)

    def photon_flux_per_s(self, photocurrent_A, wavelength_nm, spectrum) -> float:
        """Forward photon flux [s⁻¹]: N = (I/sin²α)·∫S·λ/(hc) dλ / ∫S·R dλ (Archer 2021)."""
        k, wl, s = self._scale(photocurrent_A, wavelength_nm, spectrum)
        return k * _trapz(s * wl * 1e-9 / (constants.h * constants.c), wl)

    def luminance_cd_m2(self, photocurrent_A, wavelength_nm, spectrum, *, area_cm2) -> float:
        """Lambertian luminance [cd m⁻²]: L = K_m·(I/sin²α)·∫S·V dλ / ∫S·R dλ / (π·A)."""
        area_m2 = check_range("area_cm2", area_cm2, 1e-8, 1e3, "cm²") * 1e-4
        k, wl, s = self._scale(photocurrent_A, wavelength_nm, spectrum)
        v_wl, v, k_m = _photopic()
        v_on = np.interp(wl, v_wl, v, left=0.0, right=0.0)
        return k_m * k * _trapz(s * v_on, wl) / (math.pi * area_m2)

    def describe(self) -> dict:
        """JSON-able record of the calibration (stored with runs)."""
        return {"source": self.source, "radius_mm": self.radius_mm,
                "distance_mm": self.distance_mm, "collection_fraction": self.fraction,
                "wavelength_nm": self.wavelength_nm.tolist(),
                "responsivity_A_W": self.responsivity_A_W.tolist()}


def load_calibration(responsivity: str, *, radius_mm: float, distance_mm: float,
                     base_dir: Optional[Path] = None) -> PhotodiodeCalibration:
    """``"si_default"`` or a CSV path (relative to ``base_dir``) → calibration."""
    if responsivity == SI_DEFAULT:
        return PhotodiodeCalibration.si_default(radius_mm=radius_mm, distance_mm=distance_mm)
    path = Path(responsivity)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return PhotodiodeCalibration.from_csv(path, radius_mm=radius_mm, distance_mm=distance_mm)


# ------------------------------------------------------------------------------- readers

def dark_current_of(read_A: Callable[[], float], n: int) -> DarkCurrent:
    """Mean and sample standard deviation of ``n`` readings of ``read_A()`` [A]."""
    n = int(check_range("n", n, 1, 10_000))
    values = np.array([read_A() for _ in range(n)], dtype=float)
    std = float(np.std(values, ddof=1)) if n > 1 else 0.0
    return DarkCurrent(float(np.mean(values)), std, n)


class _DarkCurrentReader:
    """``measure_dark_current_A`` of a photodiode reader (readings as the photocurrent)."""

    def measure_dark_current_A(self, n: int = 10) -> DarkCurrent:
        """Dark current: ``n`` photocurrent readings, their mean and standard deviation.
        Only a dark current if the LED's source output is off (the procedure's job)."""
        return dark_current_of(self.read_photocurrent_A, n)


class SMUPhotodiode(_DarkCurrentReader):
    """:class:`~instruments.roles.PhotodiodeMeter` on an SMU channel held at 0 V.

    ``polarity`` = +1 (default) for the cathode on HI, where the photocurrent reads positive;
    −1 for the anode on HI. ``read_photocurrent_A`` returns light as a positive current.
    """

    def __init__(self, source_meter, calibration: PhotodiodeCalibration, *, polarity: int = 1,
                 compliance_A: float = 1e-3, nplc: float = 1.0):
        if polarity not in (-1, 1):
            raise ValueError(f"polarity = {polarity!r} is not allowed: use -1 or 1")
        self.smu = source_meter
        self.calibration = calibration
        self.polarity = polarity
        self.idn = source_meter.idn
        self.smu.configure_voltage_source(compliance_A=compliance_A, nplc=nplc)
        self.smu.set_voltage(0.0)
        self.smu.output_on()

    def read_photocurrent_A(self) -> float:
        return self.polarity * self.smu.measure().current_A

    def close(self) -> None:
        self.smu.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PicoammeterPhotodiode(_DarkCurrentReader):
    """:class:`~instruments.roles.PhotodiodeMeter` on a Keithley 6485 picoammeter."""

    def __init__(self, driver, calibration: PhotodiodeCalibration, *,
                 reopen: Optional[Callable[[], object]] = None, polarity: int = 1,
                 nplc: float = 1.0, name: str = "photodiode",
                 on_event: Optional[EventCallback] = None, retries: int = 3,
                 backoff_s: float = 0.05):
        if polarity not in (-1, 1):
            raise ValueError(f"polarity = {polarity!r} is not allowed: use -1 or 1")
        self.calibration = calibration
        self.polarity = polarity
        self.nplc = check_range("nplc", nplc, 0.01, 6)
        self._link = ResilientLink(name, driver, reopen=reopen,
                                   restore=lambda d: d.configure(self.nplc), retries=retries,
                                   backoff_s=backoff_s, on_event=on_event)
        self.idn = self._link.call(lambda d: d.id)
        self._link.call(lambda d: d.configure(self.nplc))

    @classmethod
    def open(cls, resource: str, calibration: PhotodiodeCalibration, *, polarity: int = 1,
             nplc: float = 1.0, name: str = "photodiode", on_event=None, retries: int = 3,
             backoff_s: float = 0.05, **adapter_options):
        from .keithley6485 import Keithley6485
        from .transport import open_adapter

        def reopen():
            return Keithley6485(open_adapter(resource, **adapter_options))

        return cls(reopen(), calibration, reopen=reopen, polarity=polarity, nplc=nplc,
                   name=name, on_event=on_event, retries=retries, backoff_s=backoff_s)

    def read_photocurrent_A(self) -> float:
        return self.polarity * self._link.call(lambda d: d.read_current_A())

    def close(self) -> None:
        self._link.close_driver()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
