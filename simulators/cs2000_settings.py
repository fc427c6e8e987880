"""The CS-2000 simulator's setting commands (speed, sync, calibration channel, lens, ND, observer).

A mixin of :class:`simulators.cs2000.CS2000Simulator`; each command cites the page of
Konica Minolta, *Spectroradiometer CS-2000/CS-2000A Communication Specifications*, Rev. 7.00
(KMSE A0E3-CS.07E, 2020) — "[CS7]" — that defines it. Firmware 1.10.0003 or later only: the
first firmware's SPMS/SPMR forms ([CS7] pp.18-21) are not modelled.
"""
from __future__ import annotations

__all__ = ["CS2000Settings", "Refused"]


class Refused(Exception):
    """A command answered with an error-check code (the code is the argument)."""


class CS2000Settings:
    """Setting commands; the host class holds the state attributes they change."""

    #: Setting commands implemented here and in the host (each a flash write under RMTS,1:
    #: [CS7] RMTS p.12, §1.7 p.8).
    SETTINGS = frozenset({"SCMS", "SPMS", "UCCS", "LNSS", "NDFS", "MSWE", "OBSS"})

    @staticmethod
    def _ints(args: list[str], counts: tuple[int, ...], widths: int = 9) -> list[int]:
        """Parse integer parameters; a wrong count → ER00, a non-integer → ER00 (guess: "not a
        valid command string"), more digits than the field allows → ER17 ([CS7] §1.5 p.8)."""
        if len(args) not in counts:
            raise Refused("ER00")
        if not all(a.isdigit() for a in args):
            raise Refused("ER00")
        if any(len(a) > widths for a in args):
            raise Refused("ER17")
        return [int(a) for a in args]

    def _cmd_SPMS(self, args: list[str]) -> str:
        """Speed mode ([CS7] SPMS pp.20-22, §9.2.1 p.88), firmware 1.10.0003 or later: ``0|1[,nd]``,
        ``2|4,<1..16 s>[,nd]``, ``3,<5000..120000000 µs>,<0|1>``; an omitted nd is 2 (auto);
        a third parameter in mode 0/1 → ER00."""
        numbers = self._ints(args, (1, 2, 3))
        mode = numbers[0]
        if mode in (0, 1):
            if len(numbers) > 2:
                return "ER00"
            t, nd = None, numbers[1] if len(numbers) == 2 else 2
            allowed_nd = (0, 1, 2)
        elif mode in (2, 4):
            if len(numbers) < 2:
                return "ER00"
            t, nd, allowed_nd = numbers[1], numbers[2] if len(numbers) == 3 else 2, (0, 1, 2)
            if not 1 <= t <= 16:
                return "ER17"
        elif mode == 3:
            if len(numbers) != 3:
                return "ER00"
            t, nd, allowed_nd = numbers[1], numbers[2], (0, 1)
            if not 5_000 <= t <= 120_000_000:
                return "ER17"
        else:
            return "ER17"
        if nd not in allowed_nd:
            return "ER17"
        self.speed_mode = (mode, t, nd)
        return "OK00"

    def _cmd_SPMR(self, args: list[str]) -> str:
        """``OK00,<mode>,<nd>`` (0/1), ``OK00,<mode>,<tt 2 digits>,<nd>`` (2/4),
        ``OK00,3,<9-digit µs>,<nd>`` ([CS7] SPMR pp.17-18)."""
        self._ints(args, (0,))
        mode, t, nd = self.speed_mode
        if mode in (2, 4):
            return f"OK00,{mode},{t:02d},{nd}"
        if mode == 3:
            return f"OK00,{mode},{t:09d},{nd}"
        return f"OK00,{mode},{nd}"

    def _cmd_SCMS(self, args: list[str]) -> str:
        """``SCMS,0|2`` or ``SCMS,1,<2000..20000>`` (Hz × 100) ([CS7] SCMS p.16)."""
        numbers = self._ints(args, (1, 2), 5)
        mode = numbers[0]
        if mode not in (0, 1, 2):
            return "ER17"
        if (mode == 1) != (len(numbers) == 2):
            return "ER00"
        if mode == 1 and not 2_000 <= numbers[1] <= 20_000:
            return "ER17"
        self.sync_mode = (mode, numbers[1] if mode == 1 else None)
        return "OK00"

    def _cmd_SCMR(self, args: list[str]) -> str:
        """``OK00,<m>`` or ``OK00,1,<fffff>``: 5 digits, zero-padded ([CS7] SCMR p.15)."""
        self._ints(args, (0,))
        mode, f = self.sync_mode
        return f"OK00,1,{f:05d}" if mode == 1 else f"OK00,{mode}"

    def _cmd_UCCS(self, args: list[str]) -> str:
        """User calibration channel 00-10; no user data is stored here, so 01-10 → ER05 "No
        compensation values" ([CS7] UCCS p.24)."""
        (channel,) = self._ints(args, (1,), 2)
        if channel > 10:
            return "ER17"
        if channel != 0:
            return "ER05"
        self.calibration_channel = channel
        return "OK00"

    def _cmd_UCCR(self, args: list[str]) -> str:
        self._ints(args, (0,))
        return f"OK00,{self.calibration_channel:02d}"

    def _cmd_LNSS(self, args: list[str]) -> str:
        """Close-up lens 0/1; without stored lens factors 1 → ER05 ([CS7] LNSS p.31)."""
        (lens,) = self._ints(args, (1,), 1)
        if lens not in (0, 1):
            return "ER17"
        return "ER05" if lens else "OK00"

    def _cmd_LNSR(self, args: list[str]) -> str:
        self._ints(args, (0,))
        return f"OK00,{self.close_up_lens}"

    def _cmd_NDFS(self, args: list[str]) -> str:
        """External ND 0/1/2; without stored ND factors 1/2 → ER05 ([CS7] NDFS p.36)."""
        (nd,) = self._ints(args, (1,), 1)
        if nd not in (0, 1, 2):
            return "ER17"
        return "ER05" if nd else "OK00"

    def _cmd_NDFR(self, args: list[str]) -> str:
        self._ints(args, (0,))
        return f"OK00,{self.external_nd}"

    def _cmd_OBSS(self, args: list[str]) -> str:
        """Observer 0 = 2°, 1 = 10° (the display's; [CS7] OBSS p.69)."""
        (obs,) = self._ints(args, (1,), 1)
        if obs not in (0, 1):
            return "ER17"
        self.observer = obs
        return "OK00"

    def _cmd_OBSR(self, args: list[str]) -> str:
        self._ints(args, (0,))
        return f"OK00,{self.observer}"
