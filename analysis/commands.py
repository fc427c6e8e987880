"""``qled analyze FILE`` and ``qled report DIR``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["register", "write_index_report"]


def register(subparsers) -> None:
    a = subparsers.add_parser("analyze", help="analyse a run file",
                              description="Analyse one run file (J-V-L, lifetime, DLCP, C-V, "
                              "SCLC, PL stability) and store the result in its /analysis.")
    a.add_argument("file", help="run file (.h5)")
    a.add_argument("--json", action="store_true", help="print the result as one JSON object")
    a.set_defaults(func=_analyze)
    r = subparsers.add_parser("report", help="write reports for every run in a folder",
                              description="Write a report per run and a batch comparison of "
                              "the J-V-L runs (Table S1 style) for every run file in DIR.")
    r.add_argument("dir", help="folder holding run files (.h5)")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="folder for the reports (default DIR/report)")
    r.set_defaults(func=_report)


def _analyze(args) -> int:
    from procedures.commands import _json_default, analyze_file

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"file = {args.file!r} does not exist")
    result = analyze_file(path)
    if result is None:
        return 1
    if args.json:
        print(json.dumps(result, default=_json_default, allow_nan=False
                         if _finite(result) else True))
    else:
        for key, value in result.items():
            if not isinstance(value, (list, dict)):
                print(f"{key:40s} {value}")
    return 0


def _finite(obj) -> bool:
    import math

    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_finite(v) for v in obj)
    return True


def _report(args) -> int:
    folder = Path(args.dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"dir = {args.dir!r} is not a folder")
    out = Path(args.out) if args.out else folder / "report"
    page = write_index_report(sorted(folder.glob("*.h5")), out)
    print(page)
    return 0


def write_index_report(paths, out: Path, progress=None) -> Path:
    """Reports for every run file in ``paths``: the J-V-L batch page plus one page per run of
    the other kinds, linked from ``out/index.md``. Returns the index path."""
    from acquisition.store import load_run
    from analysis.dispatch import reporter, run_kind
    from analysis.report import write_batch_report

    paths = list(paths)
    if not paths:
        raise FileNotFoundError(f"no run files (*.h5) to report on in {out.parent}")
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for p in paths:
        run = load_run(p)
        runs.setdefault(run_kind(run), []).append((p, run))
    lines = ["# qled-bench report", ""]
    if "jvl" in runs:
        batch = write_batch_report([r for _, r in runs["jvl"]], out / "jvl")
        lines.append(f"- J-V-L batch comparison ({len(runs['jvl'])} runs): "
                     f"[{batch.relative_to(out).as_posix()}]({batch.relative_to(out).as_posix()})")
    for kind, items in sorted(runs.items()):
        if kind == "jvl":
            continue
        try:
            report = reporter(kind)
        except ValueError as exc:
            lines.append(f"- {kind}: {len(items)} runs, no report ({exc})")
            continue
        for p, run in items:
            page = report(run, out / kind)
            rel = Path(page).relative_to(out).as_posix()
            lines.append(f"- {kind}: {p.name} → [{rel}]({rel})")
        if progress:
            progress(kind)
    index = out / "index.md"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index
