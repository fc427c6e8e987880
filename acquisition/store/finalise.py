"""The end of a run: the final status reaches the journal first, the HDF5 file only with room.

:class:`_Finisher` (a mixin of :class:`~acquisition.store.writer.RunWriter`) flushes what is
buffered, writes the final status and end time as the journal's finish record (into the room
the journal keeps reserved for it), and patches the HDF5 file's ``status`` and ``end_time``
only when the disk has room, then checks that the file reads back with that status. A full
disk or an I/O error therefore never damages what is saved: the file keeps its committed rows
(status ``running``) and the journal says how it ended, until
:func:`~acquisition.store.recovery.recover` (``qled recover FILE``) finishes it. The journal is
deleted only when the file is complete and the run had no store error. The writer's run lock
is released last. :attr:`saved_note` says, in one line, what is saved and how to finish.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shlex
import traceback

from .journal import _finish_record
from .locking import StoreBusy, StoreError, _free_bytes, _FREE_SPACE_MARGIN_B, _locked, _open_h5
from .recovery import _DAMAGE_ERRORS, _opens_cleanly
from .schema import STATUSES, _iso, _utc_now


class _Finisher:
    """Finishing of :class:`~acquisition.store.writer.RunWriter` (a mixin).

    Uses the writer's ``path``, ``error``, ``status``, ``rows_flushed``, ``lock``,
    ``lock_timeout_s``, ``saved_note``, ``_journal_fd``, ``_journal_rows``, ``_closed``,
    ``_stop``, ``_flusher``, and its ``event``, ``flush``, ``_journal_put`` and
    ``_journal_close``. Also :meth:`close` and the context manager (an exception finishes
    the run ``failed``, Ctrl-C ``aborted``).
    """

    def finish(self, status: str = "finished", message: str | None = None) -> str:
        """Flush, set the final status and end time, and close. Returns the status.

        If the final flush fails the status is ``failed``. The status always reaches the
        journal; the file gets it when the disk has room (otherwise ``qled recover`` gives
        it later). Every committed row stays readable; :attr:`saved_note` says what is
        saved when the file could not be written.
        """
        if status not in STATUSES[1:]:
            raise ValueError(f"status = {status!r} is not allowed: use finished, "
                             "aborted or failed")
        if self._closed:
            return self.status
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
        try:
            if message:
                self.event("error" if status == "failed" else "info", message)
            try:
                self.flush(lock_timeout_s=max(self.lock_timeout_s, 30.0))
            except (OSError, StoreBusy) as exc:
                if self.error is None:
                    self.error = StoreError(errno.EBUSY, f"cannot finalise {self.path}: {exc}")
                status = "failed"
            self._finalise(status, _iso(_utc_now()))
        finally:
            self.status = status
            self._closed = True
            if self.lock is not None:
                self.lock.release()
        return status

    def close(self) -> None:
        """Finalise as ``aborted`` if still running (idempotent)."""
        if not self._closed:
            self.finish("aborted" if self.error is None else "failed")

    def __enter__(self) -> "_Finisher":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish("finished")
        else:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self.event("error", f"exception: {text}")
            self.finish("aborted" if issubclass(exc_type, KeyboardInterrupt) else "failed")

    def _finalise(self, status: str, end_time: str) -> None:
        journalled = False
        if self._journal_fd is not None:
            with contextlib.suppress(OSError):
                rec = _finish_record(status, end_time, self.rows_flushed)
                self._journal_put(rec, reserve=False)   # into the room kept for it
                journalled = True
        patched = False
        if _free_bytes(self.path.parent) >= _FREE_SPACE_MARGIN_B:
            with contextlib.suppress(StoreBusy, *_DAMAGE_ERRORS):
                with _locked(self.path, True, max(self.lock_timeout_s, 10.0)) as fd:
                    with _open_h5(self.path, "r+") as f:
                        f.attrs["status"] = status
                        f.attrs["end_time"] = end_time
                    os.fsync(fd)
                patched = _reads_back(self.path, status)
        self._journal_close(delete=patched and self.error is None)
        if self.error is not None or not patched:
            self.saved_note = self._note(status, patched, journalled)

    def _note(self, status: str, patched: bool, journalled: bool) -> str:
        """One line: what is saved where, and how to finish the file."""
        n, j = self.rows_flushed, self._journal_rows
        rows = f"rows 0..{n - 1}" if n else "no rows"
        recover = f"qled recover {shlex.quote(str(self.path))}"
        if patched:
            extra = (f"; its journal also holds rows {n}..{j - 1}, which `{recover}` adds "
                     "once the disk has room") if j > n and journalled else ""
            return f"{rows} are saved in {self.path.name} (status {status}){extra}"
        where = "in its journal" if journalled else "nowhere (the journal could not be written)"
        if _opens_cleanly(self.path):
            return (f"{rows} are saved in {self.path.name} (readable as it is, status still "
                    f"running); the status {status} is {where}: to finish the file run "
                    f"`{recover}` once the disk has room")
        held = f"rows 0..{j - 1}" if j else "no rows"
        return (f"{self.path.name} needs rebuilding: {held} are in its journal, status "
                f"{status}; run `{recover}` once the disk has room")


def _reads_back(path, status: str) -> bool:
    try:
        with _open_h5(path, "r") as f:
            ok = f.attrs["status"] == status
        return ok and _opens_cleanly(path)
    except (ValueError, *_DAMAGE_ERRORS):
        return False
