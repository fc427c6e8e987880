"""J-V-L sweep analysis: per-point efficiencies and the figures of merit papers report.

Pure functions of arrays, no I/O. :func:`jvl_curves` derives the per-point current
efficiency, power efficiency and EQE of a sweep; :func:`summarize_jvl` reduces a sweep to
a :class:`JVLSummary` (turn-on voltage, maxima, EQE at fixed luminance, roll-off, EL line
shape and colour at the EQE maximum, hysteresis between sweep directions).

Conventions
-----------
* The *forward* branch holds the points with ``direction > 0`` (voltage rising), the
  *reverse* branch those with ``direction < 0``. Without ``direction`` the sweep is split
  at its highest voltage: points up to it are forward, later points reverse.
* Turn-on voltage, efficiency maxima, EQE at fixed luminance, roll-off and the EL peak
  shift come from the forward branch (the whole sweep when it has no forward points).
  The maximum luminance is taken over all points.
* Points with luminance below ``luminance_noise_floor_cd_m2`` are excluded from the
  efficiency maxima, the roll-off and the EL peak shift: their efficiencies are ratios of
  noise.
* Rows with a non-finite voltage, current density or luminance are dropped.

References
----------
.. [1] M. Anaya et al., "Best practices for measuring emerging light-emitting diode
   technologies", Nat. Photonics 13, 818 (2019). DOI: 10.1038/s41566-019-0543-y
.. [2] S. R. Forrest, D. D. C. Bradley, M. E. Thompson, "Measuring the efficiency of
   organic light-emitting devices", Adv. Mater. 15, 1043 (2003).
   DOI: 10.1002/adma.200302151
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from analysis import photometry as pm

#: Values of :attr:`JVLCurves.spectrum_source` / :attr:`JVLSummary.eqe_spectrum_source`.
SPECTRUM_SOURCES = ("measured", "nearest_measured", "reference", "none")

_REFERENCE_ROW = -1  # spectrum_row marker: the reference spectrum was used
_NO_ROW = -2  # spectrum_row marker: no spectrum available


@dataclass(frozen=True)
class JVLCurves:
    """Per-point quantities of one sweep (finite rows only, acquisition order).

    Attributes
    ----------
    voltage_V, current_density_mA_cm2, luminance_cd_m2 : numpy.ndarray
        The sweep [V], [mA/cm²], [cd/m²].
    direction : numpy.ndarray
        +1 forward, −1 reverse.
    current_efficiency_cd_A, power_efficiency_lm_W, eqe_percent : numpy.ndarray
        Per-point efficiencies [cd/A], [lm/W] (Lambertian), [%]; NaN where J ≤ 0, V ≤ 0 or
        (EQE) no spectrum is available.
    spectrum_row : numpy.ndarray of int
        Row of ``spectra`` whose spectrum entered the point's EQE; −1 = reference
        spectrum, −2 = none.
    spectrum_source : str
        One of :data:`SPECTRUM_SOURCES`: every point had its own spectrum
        (``measured``), some used the nearest measured one (``nearest_measured``), the
        reference spectrum was used (``reference``) or none was available (``none``).
    above_noise_floor : numpy.ndarray of bool
        Luminance ≥ the noise floor.
    """

    voltage_V: np.ndarray
    current_density_mA_cm2: np.ndarray
    luminance_cd_m2: np.ndarray
    direction: np.ndarray
    current_efficiency_cd_A: np.ndarray
    power_efficiency_lm_W: np.ndarray
    eqe_percent: np.ndarray
    spectrum_row: np.ndarray
    spectrum_source: str
    above_noise_floor: np.ndarray


@dataclass(frozen=True)
class JVLSummary:
    """Figures of merit of one J-V-L sweep; units in the field names.

    ``hysteresis_*`` compare the reverse with the forward branch: the turn-on difference
    is V_on(reverse) − V_on(forward) [V]; the relative differences are the largest
    |y_rev − y_fwd| / y_fwd over the common voltage range at equal voltage (log-interpolated),
    as fractions (0.1 = 10 %), luminance only where both are above the noise floor.
    ``el_peak_shift_nm`` is the EL peak of the last minus that of the first measured
    spectrum above the noise floor on the forward branch (positive = red shift with bias).
    NaN marks a quantity the data do not determine (e.g. threshold never reached).
    """

    turn_on_voltage_V: float
    turn_on_threshold_cd_m2: float
    max_luminance_cd_m2: float
    voltage_at_max_luminance_V: float
    max_current_efficiency_cd_A: float
    max_power_efficiency_lm_W: float
    max_eqe_percent: float
    voltage_at_max_eqe_V: float
    current_density_at_max_eqe_mA_cm2: float
    luminance_at_max_eqe_cd_m2: float
    eqe_at_100_cd_m2_percent: float
    eqe_at_1000_cd_m2_percent: float
    rolloff_current_density_mA_cm2: float
    el_peak_nm: float
    el_fwhm_nm: float
    el_fwhm_meV: float
    el_peak_shift_nm: float
    cie_x: float
    cie_y: float
    dominant_wavelength_nm: float
    dominant_wavelength_white_point: str
    hysteresis_turn_on_difference_V: float
    hysteresis_max_relative_current_density_difference: float
    hysteresis_max_relative_luminance_difference: float
    luminance_noise_floor_cd_m2: float
    angular_factor_sr: float
    eqe_spectrum_source: str
    n_spectra_measured: int
    n_points: int

    def to_dict(self) -> dict:
        """JSON-ready dict: floats and strings, NaN written as ``None`` (strict JSON)."""
        out = {}
        for key, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            out[key] = value
        return out


# ------------------------------------------------------------------ helpers
def _as_1d(name, x, n=None):
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {a.shape}")
    if n is not None and a.size != n:
        raise ValueError(f"{name} must have the same length as voltage_V ({n}), got {a.size}")
    return a


def _directions(voltage_V, direction):
    if direction is None:
        d = np.full(voltage_V.size, -1.0)
        d[: int(np.argmax(voltage_V)) + 1] = 1.0
        return d
    d = _as_1d("direction", direction, voltage_V.size)
    if not np.all(np.isin(d, (-1.0, 1.0))):
        raise ValueError("direction is out of range: allowed values +1 (forward) and -1 (reverse)")
    return d


def _log_fraction(level, y0, y1):
    """Position t of ``level`` between y0 and y1, in log scale when both are positive."""
    if y0 > 0 and y1 > 0 and level > 0:
        return (math.log10(level) - math.log10(y0)) / (math.log10(y1) - math.log10(y0))
    return (level - y0) / (y1 - y0)


def _first_rise(luminance, level):
    """(i, t): first index i with luminance ≥ level and its log-interpolated position t
    between i−1 and i; None when not reached or already reached at the first point."""
    hits = np.flatnonzero(luminance >= level)
    if hits.size == 0:
        return None
    i = int(hits[0])
    if i == 0:
        return (0, 1.0) if luminance[0] == level else None
    return i, _log_fraction(level, luminance[i - 1], luminance[i])


def _lerp(y, i, t):
    return float(y[i - 1] + t * (y[i] - y[i - 1])) if i > 0 else float(y[0])


def _turn_on(voltage, luminance, threshold):
    hit = _first_rise(luminance, threshold)
    return math.nan if hit is None else _lerp(voltage, *hit)


def _nearest_rows(measured):
    """For every point, the index of the nearest measured row (ties to the earlier)."""
    idx = np.flatnonzero(measured)
    n = measured.size
    pos = np.searchsorted(idx, np.arange(n))
    left = idx[np.clip(pos - 1, 0, idx.size - 1)]
    right = idx[np.clip(pos, 0, idx.size - 1)]
    here = np.arange(n)
    return np.where(np.abs(here - left) <= np.abs(right - here), left, right)


def _max_at(values, mask):
    """(max, index) of values over mask, NaN/-1 when empty."""
    v = np.where(mask & np.isfinite(values), values, -np.inf)
    if not np.isfinite(v).any():
        return math.nan, -1
    i = int(np.argmax(v))
    return float(values[i]), i


def _relative_difference(v_fwd, y_fwd, v_rev, y_rev):
    """max |y_rev(V) − y_fwd(V)| / y_fwd at the forward voltages inside the common range,
    interpolating log10 y_rev in V. Only positive values take part."""
    ok_f = y_fwd > 0
    ok_r = y_rev > 0
    if ok_f.sum() < 1 or ok_r.sum() < 2:
        return math.nan
    order = np.argsort(v_rev[ok_r])
    vr, yr = v_rev[ok_r][order], np.log10(y_rev[ok_r][order])
    vf, yf = v_fwd[ok_f], y_fwd[ok_f]
    inside = (vf >= vr[0]) & (vf <= vr[-1])
    if not inside.any():
        return math.nan
    y_at = 10.0 ** np.interp(vf[inside], vr, yr)
    return float(np.max(np.abs(y_at - yf[inside]) / yf[inside]))


# ------------------------------------------------------------------ public API
def jvl_curves(voltage_V, current_density_mA_cm2, luminance_cd_m2, *, wavelength_nm=None,
               spectra=None, reference_spectrum=None, direction=None,
               luminance_noise_floor_cd_m2=0.1, angular_factor=np.pi) -> JVLCurves:
    """Per-point CE, PE and EQE of a J-V-L sweep.

    Parameters
    ----------
    voltage_V : array_like
        Applied voltage per point [V], acquisition order.
    current_density_mA_cm2 : array_like
        Current density per point [mA/cm²].
    luminance_cd_m2 : array_like
        Luminance per point [cd/m²].
    wavelength_nm : array_like, optional
        Wavelength axis of ``spectra`` / ``reference_spectrum`` [nm], strictly increasing.
    spectra : array_like, optional
        EL spectral power per point, shape (n_points, n_wavelengths), any scale; rows of
        NaN where no spectrum was taken. A point without its own spectrum uses the nearest
        measured one (by point index).
    reference_spectrum : array_like, optional
        EL spectral power on ``wavelength_nm`` used when no spectrum was measured.
    direction : array_like, optional
        +1 forward / −1 reverse per point; inferred from the voltage maximum if omitted.
    luminance_noise_floor_cd_m2 : float, default 0.1
        Luminance below which efficiencies are flagged as noise [cd/m²].
    angular_factor : float, default π
        Angular emission integral for the EQE [sr] (π = Lambertian), see
        :func:`analysis.photometry.eqe_percent`.

    Returns
    -------
    JVLCurves

    References
    ----------
    .. [1] Forrest, Bradley, Thompson, Adv. Mater. 15, 1043 (2003).
       DOI: 10.1002/adma.200302151
    """
    v = _as_1d("voltage_V", voltage_V)
    j = _as_1d("current_density_mA_cm2", current_density_mA_cm2, v.size)
    lum = _as_1d("luminance_cd_m2", luminance_cd_m2, v.size)
    d = _directions(v, direction) if direction is not None else None
    floor = float(luminance_noise_floor_cd_m2)
    if not (math.isfinite(floor) and floor >= 0):
        raise ValueError(f"luminance_noise_floor_cd_m2 = {floor} is out of range: allowed >= 0 cd/m²")

    sp = None
    if spectra is not None:
        if wavelength_nm is None:
            raise ValueError("wavelength_nm is required with spectra")
        sp = np.asarray(spectra, dtype=float)
        if sp.ndim != 2 or sp.shape[0] != v.size:
            raise ValueError(
                f"spectra must have shape (n_points={v.size}, n_wavelengths), got {sp.shape}")
    ref = None
    if reference_spectrum is not None:
        if wavelength_nm is None:
            raise ValueError("wavelength_nm is required with reference_spectrum")
        ref = np.asarray(reference_spectrum, dtype=float)

    keep = np.isfinite(v) & np.isfinite(j) & np.isfinite(lum)
    if not keep.any():
        raise ValueError("voltage_V, current_density_mA_cm2, luminance_cd_m2 have no finite point")
    v, j, lum = v[keep], j[keep], lum[keep]
    d = _directions(v, None) if d is None else d[keep]
    if sp is not None:
        sp = sp[keep]

    ce = np.asarray(pm.current_efficiency_cd_A(lum, j), dtype=float)
    pe = np.asarray(pm.power_efficiency_lm_W(lum, j, v), dtype=float)
    eqe = np.full(v.size, np.nan)
    rows = np.full(v.size, _NO_ROW)
    source = "none"
    measured = np.all(np.isfinite(sp), axis=1) if sp is not None else np.zeros(v.size, bool)
    if measured.any():
        rows = _nearest_rows(measured)
        source = "measured" if measured.all() else "nearest_measured"
        eqe = np.asarray(pm.eqe_percent(lum, j, wavelength_nm, sp[rows], angular_factor))
    elif ref is not None:
        rows = np.full(v.size, _REFERENCE_ROW)
        source = "reference"
        eqe = np.asarray(pm.eqe_percent(lum, j, wavelength_nm, ref, angular_factor), dtype=float)
        eqe = np.broadcast_to(eqe, v.shape).copy()
    return JVLCurves(v, j, lum, d, ce, pe, eqe, rows, source, lum >= floor)


def summarize_jvl(voltage_V, current_density_mA_cm2, luminance_cd_m2, *, wavelength_nm=None,
                  spectra=None, reference_spectrum=None, direction=None,
                  turn_on_threshold_cd_m2=1.0, luminance_noise_floor_cd_m2=0.1,
                  angular_factor=np.pi, white_point="E") -> JVLSummary:
    """Figures of merit of a J-V-L sweep (Table S1 of an LED paper and more).

    Parameters
    ----------
    voltage_V, current_density_mA_cm2, luminance_cd_m2 : array_like
        The sweep in acquisition order [V], [mA/cm²], [cd/m²].
    wavelength_nm, spectra, reference_spectrum, direction, luminance_noise_floor_cd_m2,
    angular_factor
        As in :func:`jvl_curves`.
    turn_on_threshold_cd_m2 : float, default 1.0
        Luminance defining the turn-on voltage [cd/m²] (some papers use 0.1).
    white_point : {'E', 'D65'}, default 'E'
        White point of the dominant wavelength.

    Returns
    -------
    JVLSummary

    Notes
    -----
    * Turn-on: the first forward point with L ≥ threshold and its predecessor bracket the
      crossing, interpolated linearly in log10 L vs V (linearly in L if the predecessor is
      ≤ 0). NaN if the threshold is never reached or already exceeded at the first point.
    * EQE at 100 and 1000 cd/m²: interpolated linearly in log10 L at the first forward
      crossing of that luminance.
    * Roll-off: the current density above the EQE maximum where the EQE first falls to
      half its maximum, interpolated in log10 J; NaN if it never does.
    * EL peak, FWHM, CIE 1931 (x, y) and dominant wavelength come from the spectrum that
      entered the EQE at its maximum.

    References
    ----------
    .. [1] Anaya et al., Nat. Photonics 13, 818 (2019). DOI: 10.1038/s41566-019-0543-y
    .. [2] Forrest, Bradley, Thompson, Adv. Mater. 15, 1043 (2003).
       DOI: 10.1002/adma.200302151
    """
    threshold = float(turn_on_threshold_cd_m2)
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(
            f"turn_on_threshold_cd_m2 = {threshold} is out of range: allowed > 0 cd/m²")
    if white_point not in pm.WHITE_POINTS:
        raise ValueError(
            f"white_point = {white_point!r} is not allowed: choose one of {pm.WHITE_POINTS}")
    c = jvl_curves(voltage_V, current_density_mA_cm2, luminance_cd_m2,
                   wavelength_nm=wavelength_nm, spectra=spectra,
                   reference_spectrum=reference_spectrum, direction=direction,
                   luminance_noise_floor_cd_m2=luminance_noise_floor_cd_m2,
                   angular_factor=angular_factor)
    fwd = c.direction > 0
    if not fwd.any():
        fwd = np.ones_like(fwd)
    rev = c.direction < 0
    fv, fj, fl = c.voltage_V[fwd], c.current_density_mA_cm2[fwd], c.luminance_cd_m2[fwd]
    feqe = c.eqe_percent[fwd]
    valid = c.above_noise_floor & (c.current_density_mA_cm2 > 0)

    v_on = _turn_on(fv, fl, threshold)
    i_lmax = int(np.argmax(c.luminance_cd_m2))
    max_ce, _ = _max_at(c.current_efficiency_cd_A, fwd & valid)
    max_pe, _ = _max_at(c.power_efficiency_lm_W, fwd & valid)
    max_eqe, i_eqe = _max_at(c.eqe_percent, fwd & valid)

    def eqe_at(level):
        hit = _first_rise(fl, level)
        return math.nan if hit is None else _lerp(feqe, *hit)

    rolloff = math.nan
    if i_eqe >= 0:
        fwd_index = np.flatnonzero(fwd)
        k0 = int(np.searchsorted(fwd_index, i_eqe))
        fvalid = valid[fwd]
        for k in range(k0 + 1, fwd_index.size):
            if fvalid[k] and feqe[k] <= 0.5 * max_eqe:
                t = (0.5 * max_eqe - feqe[k - 1]) / (feqe[k] - feqe[k - 1])
                lj0, lj1 = math.log10(fj[k - 1]), math.log10(fj[k])
                rolloff = 10.0 ** (lj0 + t * (lj1 - lj0))
                break

    el = dict(el_peak_nm=math.nan, el_fwhm_nm=math.nan, el_fwhm_meV=math.nan,
              cie_x=math.nan, cie_y=math.nan, dominant_wavelength_nm=math.nan)
    n_measured = 0
    shift = math.nan
    if c.spectrum_source != "none":
        wl = np.asarray(wavelength_nm, dtype=float)
        sp = np.asarray(spectra, dtype=float) if spectra is not None else None
        if sp is not None:
            sp = sp[_finite_rows(voltage_V, current_density_mA_cm2, luminance_cd_m2)]
            n_measured = int(np.all(np.isfinite(sp), axis=1).sum())
        if i_eqe >= 0:
            row = c.spectrum_row[i_eqe]
            s = np.asarray(reference_spectrum, float) if row == _REFERENCE_ROW else sp[row]
            x, y = pm.cie1931_xy(wl, s)
            el = dict(el_peak_nm=pm.peak_wavelength_nm(wl, s), el_fwhm_nm=pm.fwhm_nm(wl, s),
                      el_fwhm_meV=pm.fwhm_meV(wl, s), cie_x=x, cie_y=y,
                      dominant_wavelength_nm=pm.dominant_wavelength_nm(wl, s, white_point))
        if sp is not None:
            own = np.flatnonzero(fwd & valid & np.all(np.isfinite(sp), axis=1))
            if own.size >= 2:
                peaks = pm.peak_wavelength_nm(wl, sp[[own[0], own[-1]]])
                shift = float(peaks[1] - peaks[0])

    hyst_von = hyst_j = hyst_l = math.nan
    if rev.sum() >= 2 and (c.direction > 0).sum() >= 2:
        rv, rj, rl = c.voltage_V[rev], c.current_density_mA_cm2[rev], c.luminance_cd_m2[rev]
        order = np.argsort(rv, kind="stable")
        hyst_von = _turn_on(rv[order], rl[order], threshold) - v_on
        hyst_j = _relative_difference(fv, fj, rv, rj)
        floor_f, floor_r = c.above_noise_floor[fwd], c.above_noise_floor[rev]
        hyst_l = _relative_difference(fv[floor_f], fl[floor_f], rv[floor_r], rl[floor_r])

    def at(arr, i):
        return float(arr[i]) if i >= 0 else math.nan

    return JVLSummary(
        turn_on_voltage_V=v_on,
        turn_on_threshold_cd_m2=threshold,
        max_luminance_cd_m2=float(c.luminance_cd_m2[i_lmax]),
        voltage_at_max_luminance_V=float(c.voltage_V[i_lmax]),
        max_current_efficiency_cd_A=max_ce,
        max_power_efficiency_lm_W=max_pe,
        max_eqe_percent=max_eqe,
        voltage_at_max_eqe_V=at(c.voltage_V, i_eqe),
        current_density_at_max_eqe_mA_cm2=at(c.current_density_mA_cm2, i_eqe),
        luminance_at_max_eqe_cd_m2=at(c.luminance_cd_m2, i_eqe),
        eqe_at_100_cd_m2_percent=eqe_at(100.0),
        eqe_at_1000_cd_m2_percent=eqe_at(1000.0),
        rolloff_current_density_mA_cm2=rolloff,
        el_peak_shift_nm=shift,
        dominant_wavelength_white_point=white_point,
        hysteresis_turn_on_difference_V=hyst_von,
        hysteresis_max_relative_current_density_difference=hyst_j,
        hysteresis_max_relative_luminance_difference=hyst_l,
        luminance_noise_floor_cd_m2=float(luminance_noise_floor_cd_m2),
        angular_factor_sr=float(angular_factor),
        eqe_spectrum_source=c.spectrum_source,
        n_spectra_measured=n_measured,
        n_points=int(c.voltage_V.size),
        **{k: float(v) for k, v in el.items()},
    )


def _finite_rows(voltage_V, current_density_mA_cm2, luminance_cd_m2):
    return (np.isfinite(np.asarray(voltage_V, float))
            & np.isfinite(np.asarray(current_density_mA_cm2, float))
            & np.isfinite(np.asarray(luminance_cd_m2, float)))
