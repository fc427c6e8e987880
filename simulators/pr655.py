"""Simulated Photo Research PR-655 / PR-670 SpectraScan (serial, on a pseudo-terminal).

It parses the instrument's command set, measures the pixel it looks at on the bench's scaled
clock over 380–780 nm at 4 nm, and answers in the instrument's reply format. Photometry:
:mod:`simulators.colorimetry`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.constants

from .colorimetry import cie_tables, colorimetry
from .serial_meter import SerialMeter

__all__ = ["PR655Simulator", "pr655_measuring_time_s"]


def pr655_measuring_time_s(luminance_cd_m2: float) -> tuple[float, float]:
    """Measuring time of the PR-655 in adaptive-sensitivity mode.

    Parameters
    ----------
    luminance_cd_m2 : float
        Luminance in the 1° aperture [cd/m²].

    Returns
    -------
    (measuring_time_s, exposure_s) : tuple of float

    Notes
    -----
    Our law: adaptive exposure t_exp = clip(0.25 s · (10 cd/m²) / L, 3 ms, 6 s)
    (the PR-655 exposure range; 250 ms at 10 cd/m² as in the manual's ``D13``
    example), one light and one dark frame plus 0.5 s overhead:
    T = 0.5 s + 2·t_exp (≈ 0.5 s bright, 12.5 s at the weak-light floor).
    """
    lum = max(float(luminance_cd_m2), 1e-12)
    t_exp = min(max(2.5 / lum, 0.003), 6.0)
    return 0.5 + 2.0 * t_exp, t_exp


# ---------------------------------------------------------------------------
# Shared machinery: line splitting, faults, replies due later
# ---------------------------------------------------------------------------

class PR655Simulator(SerialMeter):
    """Photo Research PR-655 SpectraScan spectroradiometer (USB CDC serial).

    Parameters
    ----------
    source, clock, faults, noise
        As for :class:`CS2000Simulator`.
    min_luminance_cd_m2 : float
        Weak-light floor (1° aperture, MS-75 lens; approximate): below it a
        measurement returns quality code −8. Default 0.3 cd/m².
    max_luminance_cd_m2 : float
        Overload ceiling: above it −2. Default 5×10⁴ cd/m² (approximate).
    serial_number : str

    Notes
    -----
    Protocol (PR-655/670 User Manual, remote mode appendix, pp.129-150, as
    mirrored by colour-science/colour-specio and PsychoPy's ``pr.py``):

    * ``PHOTO`` typed with no terminator enters remote mode → ``REMOTE MODE``;
      before that all bytes are ignored. ``Q`` (one byte) leaves it, no reply.
    * Commands end with CR (LF also accepted); every reply line ends CR LF and
      starts with the five-character code ``qqqqq`` (``00000`` OK).
    * ``M<n>`` measures, then reports data code n; ``D<n>`` reports data code
      n of the last measurement; ``M0`` measures and answers ``00000``.
      Data codes: 1 → ``qqqqq,U,Y,x,y``; 2 → ``qqqqq,U,X,Y,Z``; 3 → ``qqqqq,U,Y,u',v'``;
      5 → ``qqqqq,U,peak λ,integrated radiance,integrated photon radiance``
      then one ``wavelength,value`` line per sample (380-780 nm, 4 nm, W sr⁻¹ m⁻² nm⁻¹);
      6 → ``qqqqq,U,Y,x,y,u',v'``; 13 → ``qqqqq,Normal,<exposure> msec``;
      110 serial number, 111 model name, 120 hardware configuration.
    * ``SU<n>``: units 0 = English (Y in footlamberts), 1 = metric (cd/m², default).
      Other ``S…`` setup commands are accepted (``00000``).
    * Error codes (manual p.149-150): −1000 illegal command, −2000 invalid data
      request (``D<n>`` before any measurement), −8 weak light, −2 light overload
      (a failed measurement answers the code alone, no data).
    * A command arriving during a measurement waits until it ends (the
      instrument does not read the port while measuring).

    Thin public material: the meaning of the units digit, the photon-radiance
    unit (we report photons s⁻¹ sr⁻¹ m⁻²) and the two luminance limits. The
    PR-650's quality codes 10/18 ("light low") are not PR-655 codes.
    """

    role = "spectroradiometer"
    WAVELENGTH_NM = np.arange(380, 781, 4, dtype=float)
    _FOOTLAMBERT_CD_M2 = 1.0 / (math.pi * scipy.constants.foot ** 2)  # 1 fL = (1/π) cd/ft² ≈ 3.426 cd/m²

    def __init__(self, source: Any, clock: Any, faults: Any = None, noise: Any = None, *,
                 min_luminance_cd_m2: float = 0.3, max_luminance_cd_m2: float = 5e4,
                 serial_number: str = "65061234"):
        super().__init__(source, clock, faults, noise)
        if not 0 < min_luminance_cd_m2 < max_luminance_cd_m2:
            raise ValueError(f"min_luminance_cd_m2 = {min_luminance_cd_m2!r} is out of range: "
                             f"allowed 0 < min < max_luminance_cd_m2 = {max_luminance_cd_m2!r}")
        self.min_luminance_cd_m2 = float(min_luminance_cd_m2)
        self.max_luminance_cd_m2 = float(max_luminance_cd_m2)
        self.serial_number = str(serial_number)
        self.remote = False
        self.units = 1
        self._meas_done_s: float | None = None
        self._meas_code = 0
        self._pending: dict | None = None
        self._after: int | None = None  # data code to report when the measurement ends
        self._data: dict | None = None
        self._data_code = -2000
        self._after_actions = None
        cie_tables(380, 780, 4)  # warm the table cache off the serving thread

    # -- framing ------------------------------------------------------------
    def _process(self) -> None:
        while self._meas_done_s is None:
            if not self.remote:
                i = self._buf.find(b"PHOTO")
                if i < 0:
                    # Keep only a possible beginning of "PHOTO" (ignore other bytes).
                    keep = next((k for k in range(4, 0, -1) if self._buf.endswith(b"PHOTO"[:k])), 0)
                    del self._buf[:len(self._buf) - keep]
                    return
                del self._buf[:i + 5]
                self._dispatch("PHOTO", self._handle, b"\r\n")
                continue
            while self._buf[:1] in (b"\r", b"\n"):
                del self._buf[:1]
            if not self._buf:
                return
            if self._buf[:1] in (b"Q", b"q"):
                del self._buf[:1]
                self._dispatch("Q", self._handle, b"\r\n")
                continue
            ends = [i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0]
            if not ends:
                return
            end = min(ends)
            line = bytes(self._buf[:end]).decode("ascii", "replace").strip()
            del self._buf[:end + 1]
            self._dispatch(line, self._handle, b"\r\n")

    def _error_reply(self, code: int) -> bytes:
        return f"{int(code):05d}".encode()

    # -- measurement clock --------------------------------------------------
    def _pending_sim_s(self) -> float | None:
        return self._meas_done_s

    def _update(self) -> None:
        if self._meas_done_s is None or self.clock.time() < self._meas_done_s:
            return
        self._meas_done_s = None
        self._data_code = self._meas_code
        self._data = self._pending if self._meas_code == 0 else None
        self._pending = None
        code, self._after = self._after, None
        if code is not None:
            self._emit_with(self._report(code), self._after_actions, b"\r\n")

    # -- commands -----------------------------------------------------------
    def _handle(self, command: str) -> bytes | None:
        if command == "PHOTO":
            self.remote = True
            return b"REMOTE MODE\r\n"
        if command == "Q":
            self.remote = False
            return None
        cmd = command.upper()
        if cmd.startswith("M") and cmd[1:].isdigit():
            self._start_measurement(int(cmd[1:]))
            return None  # the reply comes when the measurement ends
        if cmd.startswith("D") and cmd[1:].isdigit():
            return self._report(int(cmd[1:]))
        if cmd.startswith("SU") and cmd[2:] in ("0", "1"):
            self.units = int(cmd[2:])
            return b"00000\r\n"
        if cmd.startswith("S") and len(cmd) > 1:
            return b"00000\r\n"
        return b"-1000\r\n"

    def _start_measurement(self, code: int) -> None:
        spectrum = self._sample(self.WAVELENGTH_NM)
        colo = colorimetry(spectrum, 380, 780, 4)
        t_meas, t_exp = pr655_measuring_time_s(colo["Lv"])
        if colo["Lv"] > self.max_luminance_cd_m2 or self._over_range_fault():
            self._meas_code = -2
        elif colo["Lv"] < self.min_luminance_cd_m2:
            self._meas_code = -8
        else:
            self._meas_code = 0
        self._pending = {"spectrum": spectrum, "colorimetry": colo, "exposure_s": t_exp}
        self._after = code
        self._after_actions = self._actions
        self._meas_done_s = self.clock.time() + t_meas

    def _report(self, code: int) -> bytes:
        if code == 110:
            return f"00000,{self.serial_number}\r\n".encode()
        if code == 111:
            return b"00000,PR-655\r\n"
        if code == 120:
            n = self.WAVELENGTH_NM.size
            return f"00000,{n},0.00,380,780,4,128,7,120\r\n".encode()
        if code == 0 and self._data is not None:
            return b"00000\r\n"
        if code not in (0, 1, 2, 3, 5, 6, 13):
            return b"-1000\r\n"
        if self._data is None:
            return f"{self._data_code:05d}\r\n".encode()
        c = self._data["colorimetry"]
        u = self.units
        # Photometric values in the selected units; spectra are always radiometric.
        k = 1.0 if u == 1 else 1.0 / self._FOOTLAMBERT_CD_M2
        Y = c["Lv"] * k
        if code == 1:
            line = f"00000,{u},{Y:.3e},{c['x']:.4f},{c['y']:.4f}"
        elif code == 2:
            line = f"00000,{u},{c['X'] * k:.3e},{Y:.3e},{c['Z'] * k:.3e}"
        elif code == 3:
            line = f"00000,{u},{Y:.3e},{c['u_prime']:.4f},{c['v_prime']:.4f}"
        elif code == 6:
            line = (f"00000,{u},{Y:.3e},{c['x']:.4f},{c['y']:.4f},"
                    f"{c['u_prime']:.4f},{c['v_prime']:.4f}")
        elif code == 13:
            line = f"00000,Normal,{round(self._data['exposure_s'] * 1e3)} msec"
        else:  # 5: header, then one line per wavelength
            head = (f"00000,{u},{_exp3(c['peak_nm'])},{c['Le']:.3e},"
                    f"{c['photon_radiance_s_sr_m2']:.3e}")
            rows = [f"{int(w)},{v:.3e}" for w, v in zip(self.WAVELENGTH_NM, self._data["spectrum"])]
            return ("\r\n".join([head, *rows]) + "\r\n").encode()
        return (line + "\r\n").encode()


def _exp3(value: float) -> str:
    """Format like the manual's ``w.wwwe+eee`` (three-digit exponent)."""
    mantissa, exp = f"{value:.3e}".split("e")
    return f"{mantissa}e{int(exp):+04d}"
