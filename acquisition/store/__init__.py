"""The HDF5 run store: one crash-safe, live-readable file per run.

The layout is documented in ``acquisition/schema.md``. In short: the skeleton is written
under a temporary name and hard-linked to its final name (never overwritten, never seen
half-created); rows are buffered in memory and flushed every ``flush_interval_s`` (or when
``max_buffer_rows`` are buffered), each flush first appended to a checksummed journal
beside the file (``<file>.h5.journal``) and then written to the HDF5 file under ``flock``,
which is closed and fsynced, so between flushes any tool opens it plainly and a kill or a
full disk cannot lose committed rows. The journal is deleted when the run ends cleanly.

Where things live (each module's docstring says more):

``schema``
    What a run file is: :data:`SCHEMA_VERSION`, :data:`STATUSES`, :data:`METADATA_KEYS`,
    column units (:data:`UNIT_SUFFIXES`, :func:`units_for_column`), file names
    (:func:`sanitise_name`, :func:`procedure_short_name`, :func:`run_file_name`), time
    stamps, the skeleton layout and how a batch of rows extends it.
``encoding``
    Python values as HDF5 attributes and datasets and back: scalars, nested trees
    (truth, analysis), parameters.
``locking``
    ``flock`` coordination of writers and readers, HDF5 handles, fsync of folders, the
    free-space check, and the errors :class:`StoreError` and :class:`StoreBusy`.
``runlock``
    One writer per run file for its whole life: :func:`run_lock` on ``<file>.h5.lock``
    (holder's host, pid, start), :class:`RunLocked` naming the holder, stale locks of dead
    processes of this host taken over, other hosts' locks never broken.
``journal``
    The write-ahead journal: :func:`journal_path`, its record format, the skeleton, batch
    and finish records, and the writer's side of it (open, write with a reserve kept for
    the finish record, snapshot on resume, close).
``buffer``
    The writer's in-memory rows and events until the next flush.
``finalise``
    The end of a run: final status to the journal first, to the HDF5 file only with room,
    and the one line that says what is saved.
``writer``
    :class:`RunWriter`: create, reopen (resume), append, the flush thread.
``recovery``
    :func:`recover` (rebuild a damaged file from its journal, finish one a full disk left
    open), the clean-open check, repack and truncate.
``readers``
    :class:`Run` and :func:`load_run`, :class:`LiveReader`, :func:`export_csv` and
    :func:`write_analysis`.

The modules import each other one way only (import-linter's ``no-circles`` contract):
``encoding`` and ``locking`` import no other module of the store; ``runlock`` imports
``locking``; ``schema`` imports ``encoding``; ``journal`` imports those; ``recovery``
imports ``journal``, ``runlock`` and below; ``buffer`` imports ``schema``; ``finalise``
imports ``recovery`` and below; ``writer`` imports all but ``readers``; ``readers`` imports
all but ``buffer``, ``finalise`` and ``writer``. Everything public is imported from here
(``from acquisition.store import RunWriter, load_run``); private helpers from the module
that holds them.
"""
from __future__ import annotations

from .journal import journal_path
from .locking import StoreBusy, StoreError
from .readers import (LiveReader, Run, export_csv, journal_status, load_run, resume_clock_s,
                      write_analysis)
from .recovery import recover
from .runlock import RunLocked, lock_path, run_lock
# also public, though (as before the split) not in __all__: METADATA_KEYS, UNIT_SUFFIXES,
# UNITLESS_NAMES, procedure_short_name
from .schema import (METADATA_KEYS, SCHEMA_VERSION, STATUSES, UNIT_SUFFIXES, UNITLESS_NAMES,
                     procedure_short_name, run_file_name, sanitise_name, units_for_column)
from .writer import RunWriter

__all__ = [
    "SCHEMA_VERSION", "STATUSES", "RunWriter", "Run", "load_run", "LiveReader",
    "export_csv", "write_analysis", "recover", "units_for_column", "sanitise_name",
    "run_file_name", "StoreError", "StoreBusy", "journal_path", "RunLocked", "run_lock",
    "lock_path", "resume_clock_s", "journal_status",
]
