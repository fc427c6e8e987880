"""Measurement kinds as plug-ins: one registration per kind, found through entry points.

A *kind* is everything the ``qled`` program needs to offer one kind of measurement: its
PyMeasure procedure, the analysis of a stored run, its report page, the GUI's live-plot
preset, its runs in ``qled demo`` and the headline figures of the demo's summary. Each is one
:class:`Kind` object published under the entry-point group :data:`ENTRY_POINT_GROUP`::

    [project.entry-points."qled_bench.kinds"]
    jvl = "qled.builtin_kinds.jvl:KIND"

qled-bench registers its own kinds that way (``pyproject.toml``); a lab adds a kind from its
own package the same way, without forking (see ``tests/plugins/qled_fixed_voltage``).
Adding a kind is its procedure, its analysis, its report and one entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Optional

__all__ = ["Kind", "ENTRY_POINT_GROUP", "kinds", "kind_named", "kind_of_run", "kind_key",
           "kind_of_procedure", "load_problems"]

#: Entry-point group under which packages publish their :class:`Kind` objects.
ENTRY_POINT_GROUP = "qled_bench.kinds"


def kind_key(procedure_path: str) -> str:
    """Key of a run kind in ``/analysis`` and report folders: the procedure class name without
    ``Procedure``, lower case (``procedures.jvl:JVLProcedure`` → ``jvl``)."""
    name = str(procedure_path).rpartition(":")[2].rpartition(".")[2]
    return (name[:-len("Procedure")] if name.endswith("Procedure") else name).lower()


@dataclass(frozen=True)
class Kind:
    """One kind of measurement, as the ``qled`` program offers it.

    Parameters
    ----------
    name : str
        ``qled run NAME`` / ``qled gui NAME`` (letters, digits and ``-``).
    procedure : type
        A :class:`procedures.base.QledProcedure` subclass: its parameters become the options
        of ``qled run NAME`` and the inputs of the GUI window.
    analyze : callable, optional
        ``analyze(run) -> dict``: JSON-able figures of one loaded run
        (:class:`acquisition.store.Run`), stored in the file's ``/analysis/<key>``.
    report : callable, optional
        ``report(run, out_dir, **options) -> Path``: writes the run's page, returns its path.
    gui_preset : object, optional
        The window's live plots (:class:`qled.gui.presets.Preset`); None: one plot per
        measured column against the first.
    demo : callable, optional
        ``demo(out_dir, progress=print, **options) -> list[Path]``: this kind's runs in
        ``qled demo``.
    headlines : tuple of (key, title, format)
        Figures of ``analyze``'s result printed per run in the demo summary; a dotted key
        indexes into nested results (``up.v_tfl_V``, ``n_dl_cm3.0``).
    sim_devices : tuple of str
        The simulated devices this kind runs on (``--station sim:<device>``); the first is
        the default of ``--station sim``.
    metrics : tuple of str
        Keys of ``analyze``'s result a recipe condition may rank pixels by (``best 2 by
        max_eqe_percent from jvl``; dotted keys index nested results); empty: the keys of
        ``headlines``.
    add_options, run_command, resume_command : callable, optional
        Hooks for kinds whose ``qled run`` is more than one procedure run (lifetime channels):
        ``add_options(parser)``, ``run_command(args, values) -> int``,
        ``resume_command(path, flush_interval_s=...) -> RunResult``.
    """

    name: str
    procedure: type
    analyze: Optional[Callable[..., dict]] = None
    report: Optional[Callable[..., Path]] = None
    title: str = ""
    gui_preset: Any = None
    demo: Optional[Callable[..., list]] = None
    headlines: tuple = ()
    sim_devices: tuple = ()
    add_options: Optional[Callable] = None
    run_command: Optional[Callable] = None
    resume_command: Optional[Callable] = None
    report_options: dict = field(default_factory=dict)
    metrics: tuple = ()

    @property
    def procedure_path(self) -> str:
        """``module:Class`` of the procedure, as a run file's ``procedure`` attribute names it."""
        return f"{self.procedure.__module__}:{self.procedure.__qualname__}"

    @property
    def key(self) -> str:
        """Key of this kind's results in ``/analysis`` and of its report folder."""
        return kind_key(self.procedure_path)

    @property
    def metric_keys(self) -> tuple:
        """What a recipe condition may rank by: :attr:`metrics`, else the headline keys."""
        return tuple(self.metrics) or tuple(key for key, _, _ in self.headlines)

    @property
    def summary(self) -> str:
        """One line for ``--help``: ``title`` or the procedure docstring's first line."""
        doc = (self.procedure.__doc__ or self.name).strip().splitlines()[0]
        return self.title or doc


_KINDS: Optional[dict[str, Kind]] = None
_PROBLEMS: list[str] = []


def _load() -> dict[str, Kind]:
    found: dict[str, Kind] = {}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_entry_order):
        try:
            kind = ep.load()
        except ImportError as exc:
            missing = getattr(exc, "name", None) or str(exc)
            _PROBLEMS.append(f"kind {ep.name!r} ({ep.value}) is not available: it needs "
                             f"{missing!r}, which is not installed")
            continue
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not take qled down
            first = str(exc).splitlines()[0] if str(exc) else ""
            _PROBLEMS.append(f"kind {ep.name!r} ({ep.value}) could not be loaded: "
                             f"{type(exc).__name__}: {first}")
            continue
        if not isinstance(kind, Kind):
            _PROBLEMS.append(f"kind {ep.name!r} ({ep.value}) is not a qled.kinds.Kind")
            continue
        if kind.name in found:
            _PROBLEMS.append(f"kind {kind.name!r} is registered twice; {ep.value} ignored")
            continue
        found[kind.name] = kind
    return found


#: Built-in kinds first, in the order a lab measures; plug-ins after them, by name.
_BUILTIN_ORDER = ("jvl", "lifetime", "dlcp", "cv", "sclc", "pl-stability")


def _entry_order(ep) -> tuple:
    builtin = ep.value.startswith("qled.builtin_kinds.")
    return (0, _BUILTIN_ORDER.index(ep.name)) if builtin and ep.name in _BUILTIN_ORDER \
        else (1, ep.name)


def kinds() -> dict[str, Kind]:
    """Every registered kind by name (loaded once per process)."""
    global _KINDS
    if _KINDS is None:
        _KINDS = _load()
    return _KINDS


def load_problems() -> list[str]:
    """One line per registered kind that could not be loaded (shown by ``qled --help``)."""
    kinds()
    return list(_PROBLEMS)


def kind_named(name: str) -> Kind:
    """The kind called ``name``; ValueError naming the known ones otherwise."""
    known = kinds()
    if name not in known:
        raise ValueError(f"kind = {name!r} is not known: known kinds are "
                         f"{', '.join(known) or 'none'}")
    return known[name]


def kind_of_procedure(procedure_class: type) -> Kind:
    """The registered kind whose procedure is ``procedure_class`` (or a base class of it)."""
    for kind in kinds().values():
        if kind.procedure is procedure_class:
            return kind
    for kind in kinds().values():
        if issubclass(procedure_class, kind.procedure):
            return kind
    raise ValueError(f"{procedure_class.__name__} is not the procedure of a registered kind")


def kind_of_run(run) -> Kind:
    """The kind that wrote ``run`` (its ``procedure`` attribute), or ValueError.

    Matched on the procedure's ``module:Class`` path, else on its key (a class moved since the
    file was written). Nothing named in a file is imported: a crafted ``procedure``
    attribute matches no kind.
    """
    target = str(getattr(run, "attrs", {}).get("procedure", ""))
    known = list(kinds().values())
    for kind in known:
        if kind.procedure_path == target:
            return kind
    key = kind_key(target)
    for kind in known:
        if kind.key == key:
            return kind
    raise ValueError(f"runs of kind '{key}' (procedure {target!r}) belong to no installed "
                     f"kind: known kinds are {', '.join(k.key for k in known)}")


def _reset_for_tests() -> None:  # pragma: no cover - tests that install plug-ins
    global _KINDS
    _KINDS = None
    _PROBLEMS.clear()
