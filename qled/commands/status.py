"""``qled status DIR …``: the state of running and recent runs, as text or a self-contained
HTML page, with alerts through a hook the lab configures.

Read-only: runs are read through :mod:`reports.status` (a shared lock for milliseconds, never
a writer's run lock). With ``--watch S`` the page is rewritten every S seconds and reloads
itself; without it one pass is made. Alerts (stalled, channel stopped early, failed) go to
``--alert-command`` and/or ``--alert-webhook``, at most one per run and condition every
``--alert-min-interval-s``; the record of what was sent is ``<page>.alerts.json`` beside the
page (``DIR/.qled-status.alerts.json`` without ``--html``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from qled.commands.catalogue import add_query_options
from qled.errors import EXIT_OK, UserError

__all__ = ["register", "status_pass", "run_paths"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "status", help="status page and alerts of running and recent runs",
        description="Show running and recent runs (running / stalled / finished / aborted / "
        "failed / channel stopped early) with elapsed time, L/L0, last row age and a small "
        "plot; write a self-contained HTML page; alert through a command or a webhook.")
    p.add_argument("dirs", nargs="*", metavar="DIR", help="folder(s) or run file(s)")
    p.add_argument("--from-catalogue", default=None, metavar="URL",
                   help="also show the runs the catalogue at URL finds with the query options "
                   "below (as 'qled find'; finished runs only: running ones are not registered)")
    add_query_options(p)
    p.add_argument("--html", default=None, metavar="OUT", help="write the page to OUT (.html)")
    p.add_argument("--watch", type=float, default=None, metavar="SECONDS",
                   help="rewrite the page every SECONDS (0.5 … 86400); the page reloads itself")
    p.add_argument("--stall-intervals", type=int, default=2, metavar="K",
                   help="a running run is stalled after K log intervals without a new row "
                   "(1 … 1000; default 2)")
    p.add_argument("--recent", type=int, default=20, metavar="N",
                   help="how many runs that are not running to list (0 … 10000; default 20)")
    p.add_argument("--flush-interval", type=float, default=1.0, metavar="S",
                   help="the writers' flush interval [s] for files that do not record it "
                   "(rows reach the file this late; default 1)")
    p.add_argument("--alert-command", default=None, metavar="CMD",
                   help="command run per alert (the alert as JSON on stdin and QLED_ALERT_* "
                   "environment variables)")
    p.add_argument("--alert-webhook", default=None, metavar="URL",
                   help="URL the alert is POSTed to as JSON")
    p.add_argument("--alert-min-interval-s", type=float, default=3600.0, metavar="S",
                   help="at most one alert per run and condition every S seconds "
                   "(0 … 1e7; default 3600)")
    p.add_argument("--passes", type=int, default=None, help=argparse.SUPPRESS)  # tests
    p.set_defaults(func=_status)


def _check(args) -> None:
    if args.watch is not None and not 0.5 <= args.watch <= 86400:
        raise UserError(f"--watch = {args.watch:g} is out of range: allowed 0.5 … 86400 s")
    if not 1 <= args.stall_intervals <= 1000:
        raise UserError(f"--stall-intervals = {args.stall_intervals} is out of range: "
                        "allowed 1 … 1000")
    if not 0 <= args.recent <= 10000:
        raise UserError(f"--recent = {args.recent} is out of range: allowed 0 … 10000")
    if not 0.01 <= args.flush_interval <= 3600:
        raise UserError(f"--flush-interval = {args.flush_interval:g} is out of range: "
                        "allowed 0.01 … 3600 s")
    if not 0 <= args.alert_min_interval_s <= 1e7:
        raise UserError(f"--alert-min-interval-s = {args.alert_min_interval_s:g} is out of "
                        "range: allowed 0 … 1e7 s")
    if not args.dirs and not args.from_catalogue:
        raise UserError("DIR: give folder(s) or run file(s) (or --from-catalogue URL)")
    for d in args.dirs:
        if not Path(d).exists():
            raise FileNotFoundError(f"DIR = {d!r} does not exist")
    if args.html is not None and not Path(args.html).resolve().parent.is_dir():
        raise FileNotFoundError(f"--html = {args.html!r}: its folder does not exist")


def run_paths(dirs, args=None) -> list:
    """The inputs whose runs are shown: folders or files, and the run files a catalogue
    query finds (``--from-catalogue URL`` with the query options)."""
    paths = [Path(d) for d in dirs]
    if args is not None and getattr(args, "from_catalogue", None):
        from qled.commands.catalogue import catalogue_paths

        paths += catalogue_paths(args, args.from_catalogue)
    return paths


def status_pass(args, hook=None) -> list:
    """One look at the runs: the page (if ``--html``), the text table, the due alerts."""
    from qled.alerts import send_due_alerts
    from reports.status import ALERT_STATES, atomic_write_text, run_states
    from reports.status_page import render_status_page

    states = run_states(run_paths(args.dirs, args), stall_intervals=args.stall_intervals,
                        flush_interval_s=args.flush_interval, recent=args.recent)
    if args.html:
        atomic_write_text(args.html, render_status_page(
            states, refresh_s=args.watch, source=", ".join(
                [*map(str, args.dirs), *([args.from_catalogue] if args.from_catalogue else [])])))
    else:
        _print_table(states)
    if hook:
        alerts = [s.alert() for s in states if s.state in ALERT_STATES]
        sent, problems = send_due_alerts(alerts, hook, _state_path(args),
                                         min_interval_s=args.alert_min_interval_s)
        for a in sent:
            print(f"qled status: alert sent: {a['run']} {a['condition']} since {a['since']}",
                  file=sys.stderr)
        for line in problems:
            print(f"qled status: warning: {line}", file=sys.stderr)
    return states


def _state_path(args) -> Path:
    if args.html:
        out = Path(args.html)
        return out.with_name(out.name + ".alerts.json")
    if not args.dirs:                      # a catalogue query only: beside nothing else
        return Path.cwd() / ".qled-status.alerts.json"
    base = Path(args.dirs[0])
    return (base if base.is_dir() else base.parent) / ".qled-status.alerts.json"


def _print_table(states) -> None:
    from reports.status_page import format_duration

    for s in states:
        rel = f"{s.relative_luminance:.4f}" if s.relative_luminance == s.relative_luminance \
            else "–"
        age = format_duration(s.last_row_age_s) if s.status == "running" else "–"
        print(f"{s.state:22s} {s.name:48s} elapsed {format_duration(s.elapsed_s):>12s}  "
              f"L/L0 {rel:>7s}  last row {age:>10s}  {s.reason}")
    if not states:
        print("no runs")


def _status(args) -> int:
    from qled.alerts import AlertHook

    _check(args)
    hook = AlertHook(args.alert_command, args.alert_webhook)
    done = 0
    while True:
        status_pass(args, hook)
        done += 1
        if args.watch is None or (args.passes is not None and done >= args.passes):
            break
        time.sleep(args.watch)
    if args.html:
        print(f"status page: {args.html}")
    return EXIT_OK
