"""The status page of unattended runs: one self-contained HTML file.

No server and no external assets (inline CSS, one inline SVG sparkline of L/L0 vs time per
run), so it can sit on the lab share and be opened from there; written by ``qled status
--watch`` it reloads itself (``<meta http-equiv="refresh">``). Each row carries its state as
``data-state`` and a CSS class, so a browser test (or a script) reads it from the DOM.
"""
from __future__ import annotations

import datetime as _dt
import html
import math

from .status import RunState

__all__ = ["render_status_page", "format_duration", "sparkline_svg"]

_COLOURS = {"running": "#1a7f37", "stalled": "#b35900", "finished": "#57606a",
            "aborted": "#6e40c9", "failed": "#cf222e", "channel stopped early": "#cf222e",
            "unreadable": "#cf222e"}

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.2em;color:#1f2328;background:#fff}
h1{font-size:1.3em;margin:0 0 .2em}
p.meta{color:#57606a;margin:0 0 1em;font-size:.9em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border-bottom:1px solid #d0d7de;padding:.35em .5em;text-align:left;vertical-align:middle}
th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.run,td.who{white-space:nowrap}
td.run{font-size:.85em}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.why{color:#57606a;font-size:.85em;min-width:13em}
span.state{display:inline-block;padding:.1em .6em;border-radius:1em;color:#fff;
 font-weight:600;white-space:nowrap}
tr.alert{background:#fff8f0}
.summary span{margin-right:1.2em}
svg.spark{display:block}
"""


def format_duration(seconds: float) -> str:
    """``3725`` → ``1 h 02 min``; ``42.5`` → ``42.5 s``; NaN → ``–``."""
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return "–"
    s = float(seconds)
    if abs(s) < 60:
        return f"{s:.1f} s"
    if abs(s) < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    if abs(s) < 86400:
        return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"
    return f"{int(s // 86400)} d {int(s % 86400 // 3600):02d} h"


def sparkline_svg(spark, width: int = 140, height: int = 36) -> str:
    """An inline SVG of L/L0 (0 … max(1, L/L0)) against time; empty text without data."""
    if spark is None or len(spark[0]) < 1:
        return ""
    t, y = spark
    t0, t1 = float(t[0]), float(t[-1])
    top = max(1.0, float(max(y)))
    span = (t1 - t0) or 1.0
    pts = " ".join(f"{2 + (width - 4) * (float(a) - t0) / span:.1f},"
                   f"{height - 2 - (height - 4) * max(0.0, float(b)) / top:.1f}"
                   for a, b in zip(t, y))
    half = height - 2 - (height - 4) * 0.5 / top
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} '
            f'{height}" role="img" aria-label="L/L0 against time">'
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f6f8fa"/>'
            f'<line x1="0" x2="{width}" y1="{half:.1f}" y2="{half:.1f}" stroke="#d0d7de" '
            f'stroke-dasharray="3,3"/>'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{pts}"/></svg>')


def _readable(stamp: str) -> str:
    """``2026-12-08T00:51:26.021Z`` → ``2026-12-08 00:51:26 UTC``."""
    return f"{stamp[:10]} {stamp[11:19]} UTC" if len(stamp) >= 19 else (stamp or "–")


def _row(s: RunState) -> str:
    e = html.escape
    colour = _COLOURS.get(s.state, "#57606a")
    who = e(s.sample) + (f" · pixel {e(s.pixel)}" if s.pixel else "") + \
        (f" · ch {s.channel}" if s.channel is not None else "")
    rel = f"{s.relative_luminance:.4f}" if math.isfinite(s.relative_luminance) else "–"
    age = format_duration(s.last_row_age_s) if s.status == "running" else "–"
    cls = "run alert" if s.state in ("stalled", "channel stopped early", "failed",
                                     "unreadable") else "run"
    return (f'<tr class="{cls}" data-state="{e(s.state)}" data-run="{e(s.name)}">'
            f'<td><span class="state state-{e(s.state.replace(" ", "-"))}" '
            f'style="background:{colour}">{e(s.state)}</span></td>'
            f'<td class="run" title="{e(str(s.path))}">{e(s.name)}<br><small>{e(s.kind)}</small></td>'
            f'<td class="who">{who}</td>'
            f'<td class="num" data-elapsed-s="{s.elapsed_s!r}">{format_duration(s.elapsed_s)}'
            f'</td><td class="num" data-l-l0="{s.relative_luminance!r}">{rel}</td>'
            f'<td class="num" data-age-s="{s.last_row_age_s!r}">{age}</td>'
            f'<td>{sparkline_svg(s.spark)}</td>'
            f'<td class="why">{e(s.reason)}{"<br>" if s.reason else ""}'
            f'<small>since {e(_readable(s.since))}</small></td></tr>')


def render_status_page(states: list[RunState], *, title: str = "qled-bench: run status",
                       refresh_s: float | None = None, now: _dt.datetime | None = None,
                       source: str = "") -> str:
    """The page as HTML text; ``refresh_s`` adds a meta refresh (the ``--watch`` period)."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    counts: dict[str, int] = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    summary = "".join(f'<span><b>{n}</b> {html.escape(k)}</span>'
                      for k, n in sorted(counts.items())) or "<span>no runs</span>"
    refresh = (f'<meta http-equiv="refresh" content="{max(1, round(refresh_s))}">'
               if refresh_s else "")
    rows = "\n".join(_row(s) for s in states)
    stamp = now.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{refresh}'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>'
            f'<h1>{html.escape(title)}</h1>'
            f'<p class="meta">written {stamp}'
            f'{" from " + html.escape(source) if source else ""}'
            f'{f" · refreshes every {max(1, round(refresh_s))} s" if refresh_s else ""}</p>'
            f'<p class="summary">{summary}</p>'
            f'<table><thead><tr><th>state</th><th>run</th><th>sample</th><th>elapsed</th>'
            f'<th>L/L0</th><th>last row</th><th>L/L0 vs time <small>(dashed: 0.5)</small></th><th>why / since</th></tr>'
            f'</thead><tbody>\n{rows}\n</tbody></table></body></html>\n')
