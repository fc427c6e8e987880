"""``qled publish`` and ``qled find``: the lab-wide run catalogue on Tiled (extra ``catalogue``).

The station is a client of the catalogue server: nothing here listens on a socket. The API
key is read from ``--api-key-file`` or ``$QLED_TILED_API_KEY`` and sent only to the server.
"""
from __future__ import annotations

from pathlib import Path

from qled.errors import EXIT_OK

__all__ = ["register", "query_from_args", "add_query_options"]


def add_query_options(p) -> None:
    """The options of a catalogue query (``qled find``, ``qled report --from-catalogue``)."""
    p.add_argument("--sample", default=None, help="runs of this sample")
    p.add_argument("--kind", default=None, help="runs of this kind (jvl, lifetime, dlcp, …)")
    p.add_argument("--station", default=None, help="runs of this station")
    p.add_argument("--where", action="append", default=[], metavar="'NAME OP VALUE'",
                   help="a condition on a figure of merit, e.g. 'max_eqe_percent > 15' "
                   "(repeat: all must hold)")
    p.add_argument("--since", default=None, metavar="DATE",
                   help="runs started on or after this ISO date (UTC)")
    p.add_argument("--api-key-file", default=None, metavar="F",
                   help="file holding the catalogue's API key (default $QLED_TILED_API_KEY)")


def register(subparsers) -> None:
    p = subparsers.add_parser("publish", help="register finished runs in a Tiled catalogue",
                              description="Register finished run files (a FILE or every "
                              "*.h5 in DIR) in the Tiled catalogue at URL, lifting station, "
                              "sample, pixel, kind, status, operator, dates and figures of "
                              "merit into searchable metadata; an earlier entry of the same "
                              "run is replaced. Files still written are refused.")
    p.add_argument("path", help="run file (.h5) or folder of run files")
    p.add_argument("--to", required=True, metavar="URL", help="catalogue URL "
                   "(e.g. http://tiled.lab:8000); the server must be allowed to read the files")
    p.add_argument("--api-key-file", default=None, metavar="F",
                   help="file holding the catalogue's API key (default $QLED_TILED_API_KEY)")
    p.add_argument("--copy-to", default=None, metavar="SHARE",
                   help="copy each file to this lab share first (atomic, never overwriting "
                   "a different file) and register the copy")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="concurrent registrations (1 … 32, default 2; a sqlite catalogue serialises writers)")
    p.set_defaults(func=_publish)
    f = subparsers.add_parser("find", help="query the run catalogue",
                              description="Find runs in the Tiled catalogue at --from; prints "
                              "a table or writes CSV / parquet.")
    add_query_options(f)
    f.add_argument("--from", dest="url", required=True, metavar="URL", help="catalogue URL")
    f.add_argument("--csv", default=None, metavar="F", help="write the table as CSV")
    f.add_argument("--parquet", default=None, metavar="F", help="write the table as parquet")
    f.set_defaults(func=_find)


def _paths(arg: str) -> list[Path]:
    path = Path(arg)
    if path.is_dir():
        files = sorted(path.glob("*.h5"))
        if not files:
            raise FileNotFoundError(f"no run files (*.h5) to publish in {path}")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"path = {arg!r} does not exist")
    return [path]


def _publish(args) -> int:
    from qled.catalogue import api_key, publish

    if not 1 <= args.workers <= 32:
        raise ValueError(f"--workers = {args.workers} is out of range: allowed 1 … 32")
    ids = publish(_paths(args.path), args.to, key=api_key(args.api_key_file),
                  copy_to=args.copy_to, workers=args.workers)
    print(f"published {len(ids)} run{'s' * (len(ids) != 1)} to {args.to}")
    return EXIT_OK


def query_from_args(args, url: str):
    """The DataFrame of the runs a parsed query (:func:`add_query_options`) selects."""
    from qled.catalogue import api_key, find

    return find(url, key=api_key(args.api_key_file), sample=args.sample, kind=args.kind,
                station=args.station, where=args.where, since=args.since)


def catalogue_paths(args, url: str) -> list[Path]:
    """The registered run files a parsed query selects, readable here (``qled batch analyze
    --from-catalogue``, ``qled status --from-catalogue``); one line when none match or some
    cannot be read from this machine."""
    table = query_from_args(args, url)
    if table.empty:
        raise FileNotFoundError(f"no runs match the query in the catalogue at {url}")
    paths = [Path(p) for p in table["path"]]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} catalogued run file(s) are not readable "
                                f"here, e.g. {missing[0]}")
    return paths


_SHOWN = ("run_id", "kind", "sample", "pixel", "station", "status", "start_time")


def _find(args) -> int:
    table = query_from_args(args, args.url)
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.parquet:
        table.to_parquet(args.parquet, index=False)
    if not (args.csv or args.parquet):
        if table.empty:
            print("no runs match")
        else:
            extra = [w.split()[0] for w in args.where if w.split() and w.split()[0] in table]
            cols = [c for c in (*_SHOWN, *extra) if c in table]
            print(table[cols].to_string(index=False))
    return EXIT_OK
