"""Constants, CIE tables and parameter checks the device models share.

Every physical constant comes from :mod:`scipy.constants`, every CIE table from :mod:`colour`
(CIE 1924 photopic V(λ), CIE 1931 2° colour-matching functions, 360–830 nm at 1 nm).
"""
from __future__ import annotations

import math

import colour
import numpy as np
from scipy import constants

Q_C = constants.e
H_J_S = constants.h
C_M_S = constants.c
KB_J_K = constants.k
EPS0_F_M = constants.epsilon_0
K_M_LM_W = float(colour.constants.CONSTANT_K_M)  # 683 lm/W, maximum photopic luminous efficacy

_V_LAMBDA = colour.colorimetry.SDS_LEFS_PHOTOPIC["CIE 1924 Photopic Standard Observer"]
_CMFS = colour.colorimetry.MSDS_CMFS["CIE 1931 2 Degree Standard Observer"]
#: Wavelength grid [nm] of the CIE tables (360-830 nm, 1 nm) on which photometry is integrated.
CIE_WAVELENGTH_NM = np.asarray(_V_LAMBDA.wavelengths, dtype=float)
_V_VALUES = np.asarray(_V_LAMBDA.values, dtype=float)
_CMF_VALUES = np.asarray(_CMFS.values, dtype=float)
if not np.array_equal(np.asarray(_CMFS.wavelengths, dtype=float), CIE_WAVELENGTH_NM):
    raise RuntimeError("colour-science CIE 1931 CMFs and CIE 1924 V(lambda) grids differ")
# Trapezoid weights [nm] on the CIE grid.
_CIE_WEIGHTS_NM = np.gradient(CIE_WAVELENGTH_NM) * np.r_[0.5, np.ones(CIE_WAVELENGTH_NM.size - 2), 0.5]


def photopic_efficiency(wavelength_nm):
    """CIE 1924 photopic luminous efficiency V(λ) (dimensionless), linear between 1-nm table rows.

    Outside 360-830 nm the value is 0.
    """
    return np.interp(np.asarray(wavelength_nm, dtype=float), CIE_WAVELENGTH_NM, _V_VALUES,
                     left=0.0, right=0.0)


def cie1931_cmfs(wavelength_nm):
    """CIE 1931 2° colour-matching functions x̄, ȳ, z̄ → array (..., 3), linear between rows."""
    lam = np.asarray(wavelength_nm, dtype=float)
    return np.stack([np.interp(lam, CIE_WAVELENGTH_NM, _CMF_VALUES[:, i], left=0.0, right=0.0)
                     for i in range(3)], axis=-1)


def _out_of_range(name, value, allowed):
    return ValueError(f"{name} = {value!r} is out of range: allowed {allowed}")


def _check_positive(name, value, unit=""):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise _out_of_range(name, value, f"> 0 {unit}".rstrip() + " (finite)")


def _check_range(name, value, lo, hi, unit=""):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
        raise _out_of_range(name, value, f"{lo:g} … {hi:g} {unit}".rstrip())


def _jsonable(value):
    """Plain floats, ints, strings and lists from numpy scalars/arrays, tuples and dicts."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
