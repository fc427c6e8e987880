"""What the simulated PR-655 answers: setup ranges with their error codes, and the data codes.

Source: Photo Research, *PR-655 / PR-670 User Manual*, "Remote Control Mode", manual pp. 99–123
("[PRRM]"): setup commands pp. 107-112, data codes pp. 113-121, error codes pp. 122-123.
"""
from __future__ import annotations

import math
from typing import Any

import scipy.constants

from .colorimetry import cct_and_dominant

__all__ = ["FOOTLAMBERT_CD_M2", "SETUP_RANGES", "MEASURED_CODES", "data_reply"]

#: 1 footlambert = (1/π) cd/ft² ≈ 3.426 cd/m² (the PR-7XX manual's "multiply cd/m² by 0.2919").
FOOTLAMBERT_CD_M2 = 1.0 / (math.pi * scipy.constants.foot ** 2)

#: Setup specifier → (error code, allowed values) ([PRRM] pp.107-112; codes and valid values
#: pp.122-123). ``-1035`` "Parameter not applicable to this instrument": the PR-670-only
#: setups SD, SF, SG, SH on a PR-655 (that this is the code a PR-655 sends: inference). Add-on
#: accessories: none is calibrated here, ``-1`` deselects (PR-7XX manual, sibling). SZ has no
#: error code in the table: −1000 (guess).
SETUP_RANGES: dict[str, tuple[int, Any]] = {
    "A": (-1003, {-1}), "B": (-1004, {-1}), "C": (-1025, {-1}), "P": (-1002, {0}),
    "D": (-1035, None), "F": (-1035, None), "G": (-1035, None), "H": (-1035, None),
    "E": (-1010, {0, *range(3, 6001)}), "K": (-1023, range(20, 401)),
    "N": (-1012, range(1, 100)), "O": (-1015, {2, 10}), "S": (-1019, {0, 1, 3}),
    "U": (-1009, {0, 1}), "Z": (-1000, {0, 1}),
}

#: Data codes that report a measurement (−2000 before the first one, p.123).
MEASURED_CODES = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 12, 13})

_SYNC = {0: "None", 1: "Auto Sync", 3: "User Sync"}
_SYNC_602 = {0: "No Sync", 1: "Auto Sync", 3: "User Frequency"}


def _exp3(value: float) -> str:
    """``w.wwwe+eee``: 3 decimals and a three-digit exponent ([PRRM] code 5 header p.116; the
    D5 data lines of real units are 16 bytes, ``380,1.627e-006``, per Psychtoolbox's
    fixed-width ``PR655parsespdstr.m`` — client code)."""
    mantissa, exponent = f"{value:.3e}".split("e")
    return f"{mantissa}e{int(exponent):+04d}"


def data_reply(meter: Any, code: int, data: dict | None) -> list[str] | None:
    """Lines of the reply to data code ``code`` (CR LF added by the caller), or None when the
    code does not exist here or needs a measurement that has not been made."""
    s = meter.setup
    if code == 110:
        return [f"00000,{meter.serial_number}"]
    if code == 111:
        return ["00000,PR-655"]
    if code == 112:
        return ["00000,1,1"]                       # accessories, apertures (p.118)
    if code == 114:
        return ["00000,2.22D"]                     # the manual's example version (p.119)
    if code == 116:
        return ["00000,0,MS-75,Primary,Luminance,Radiance"]   # p.119 example
    if code == 117:
        return ["00000,0,1 deg,0.00"]              # one aperture on a PR-655 (guess)
    if code == 120:
        n = meter.WAVELENGTH_NM.size               # 101 at 4 nm: client code (Psychtoolbox)
        return [f"00000,{n},0.00,380,780,4,128,7,120"]   # pixel figures: guess
    if code == 601:
        mode = 0 if s["E"] == 0 else 1             # exposure mode 0 = adaptive (p.121 example)
        return [f"00000,{s['P']},{s['A']},{s['B']},{s['C']},0,{s['U']},{mode},{s['E']},0,"
                f"{s['N']},{s['O']},0,{s['S']},0,{s['K']:.2f}"]
    if code == 602:
        addon = lambda k: "None" if s[k] < 0 else str(s[k])  # noqa: E731
        return [f"00000,MS-75,{addon('A')},{addon('B')},{addon('C')},1 deg,"
                f"{'Metric' if s['U'] else 'English'},{'Adaptive' if s['E'] == 0 else 'Fixed'},"
                f"{s['E']} msec,Normal,{s['N']} cycles,{s['O']} deg,No Smart Dark,"
                f"{_SYNC_602[s['S']]},Standard Sensitivity,{s['K']:.2f} Hertz"]
    if code == 14:
        f_Hz = s["K"] if s["S"] == 3 else 0.0
        return [f"00000,{_SYNC[s['S']]},{f_Hz:.2f} Hertz"]
    if code not in MEASURED_CODES or data is None:
        return None
    c = data["colorimetry"]
    u = meter.units_field
    k = meter.luminance_factor()                   # SU: cd/m² or fL (p.112)
    Y = f"{c['Lv'] * k:.3e}"
    if code == 0:
        return ["00000"]
    if code == 1:
        return [f"00000,{u},{Y},{c['x']:.4f},{c['y']:.4f}"]
    if code == 2:
        return [f"00000,{u},{c['X'] * k:.3e},{Y},{c['Z'] * k:.3e}"]
    if code == 3:
        return [f"00000,{u},{Y},{c['u_prime']:.4f},{c['v_prime']:.4f}"]
    if code == 4:
        extra = data.get("cct") or data.setdefault("cct", cct_and_dominant(c))
        return [f"00000,{u},{Y},{round(extra['T']):7d},{extra['duv']:.4f}"]
    if code == 6:
        return [f"00000,{u},{Y},{c['x']:.4f},{c['y']:.4f},{c['u_prime']:.4f},{c['v_prime']:.4f}"]
    if code in (7, 12):                            # CIE 1960 u, v = u', 2/3 v'
        uv = f"{c['u_prime']:.4f},{2.0 * c['v_prime'] / 3.0:.4f}"
        return [f"00000,{u},{Y},{uv}" if code == 7 else
                f"00000,{u},{Y},{c['x']:.4f},{c['y']:.4f},{uv}"]
    if code == 13:
        return [f"00000,Normal,{round(data['exposure_s'] * 1e3)} msec"]
    # 5: header, then one line per wavelength (p.116)
    head = (f"00000,{u},{_exp3(c['peak_nm'])},{c['Le']:.3e},"
            f"{c['photon_radiance_s_sr_m2']:.3e}")
    rows = [f"{int(w)},{_exp3(v)}" for w, v in zip(meter.WAVELENGTH_NM, data["spectrum"])]
    return [head, *rows]
