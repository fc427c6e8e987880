"""Pure functions of the logged arrays: initial and final luminance, drift rate."""
from __future__ import annotations

import numpy as np


def luminance_drift(time_s, luminance_cd_m2) -> dict:
    """L at the first and last row [cd/m²], L_end/L_start and the least-squares slope of
    L/L_start against time [%/h] (numpy.polyfit, degree 1)."""
    t = np.asarray(time_s, float)
    lum = np.asarray(luminance_cd_m2, float)
    ok = np.isfinite(t) & np.isfinite(lum)
    t, lum = t[ok], lum[ok]
    if t.size < 2 or lum[0] <= 0:
        raise ValueError("luminance_cd_m2 needs ≥ 2 finite rows with L > 0 at the start")
    slope = np.polyfit(t / 3600.0, 100.0 * lum / lum[0], 1)[0]
    return {"l_start_cd_m2": float(lum[0]), "l_end_cd_m2": float(lum[-1]),
            "relative_change": float(lum[-1] / lum[0]), "drift_percent_per_h": float(slope),
            "n_points": int(t.size)}
