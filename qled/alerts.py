"""Alerts of unattended runs through a hook the lab configures, rate-limited.

A hook is a command (run with its arguments, no shell; the alert as one JSON object on stdin
and as ``QLED_ALERT_*`` environment variables) or a webhook URL (HTTP POST of the JSON).
Each alert names the run, the condition and since when. One alert per run and condition is
sent at most every ``min_interval_s``; the times sent are kept in a small JSON file beside
the status page (written through a temporary file and a rename, so a kill cannot leave it
half-written). A hook that fails is reported and retried on the next pass, not recorded.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from qled.errors import UserError

__all__ = ["AlertHook", "send_due_alerts", "check_webhook_url", "load_state"]

#: Longest a hook may take before it counts as failed [s].
HOOK_TIMEOUT_S = 20.0


def check_webhook_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else a one-line UserError."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--alert-webhook = {url!r} is not allowed: give an http:// or "
                        "https:// URL with a host")
    return url


class AlertHook:
    """Where alerts go: ``command`` (a command line, split like a shell would, run without
    one) and/or ``webhook`` (a URL)."""

    def __init__(self, command: str | None = None, webhook: str | None = None):
        self.argv = shlex.split(command) if command else None
        if command is not None and not self.argv:
            raise UserError("--alert-command is empty: give a command line")
        self.webhook = check_webhook_url(webhook) if webhook else None

    def __bool__(self) -> bool:
        return bool(self.argv or self.webhook)

    def send(self, alert: dict) -> list[str]:
        """Deliver ``alert``; the problems (empty list: delivered everywhere)."""
        body = json.dumps(alert, sort_keys=True).encode()
        problems = []
        if self.argv:
            env = {**os.environ, **{f"QLED_ALERT_{k.upper()}": "" if v is None else str(v)
                                    for k, v in alert.items()}}
            try:
                done = subprocess.run(self.argv, input=body, env=env, capture_output=True,
                                      timeout=HOOK_TIMEOUT_S, check=False)
                if done.returncode != 0:
                    err = done.stderr.decode(errors="replace").strip().splitlines()
                    problems.append(f"alert command exited {done.returncode}"
                                    + (f": {err[-1]}" if err else ""))
            except (OSError, subprocess.TimeoutExpired) as exc:
                problems.append(f"alert command failed: {exc}")
        if self.webhook:
            req = urllib.request.Request(self.webhook, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=HOOK_TIMEOUT_S) as resp:
                    resp.read()
            except (OSError, urllib.error.URLError) as exc:
                problems.append(f"alert webhook {self.webhook} failed: {exc}")
        return problems


def load_state(path: Path) -> dict:
    """``"run|condition" -> ISO time last sent``; empty if missing or unreadable."""
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_state(path: Path, state: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def send_due_alerts(alerts: list[dict], hook: AlertHook, state_path: Path, *,
                    min_interval_s: float, now: _dt.datetime | None = None):
    """Send each alert not sent for its run and condition within ``min_interval_s``.

    Returns ``(sent, problems)``: the alerts delivered and one line per failure.
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    state = load_state(state_path)
    sent, problems = [], []
    for alert in alerts:
        key = f"{alert['path']}|{alert['condition']}"
        last = state.get(key)
        if last is not None:
            try:
                age = (now - _dt.datetime.fromisoformat(last)).total_seconds()
            except (TypeError, ValueError):
                age = float("inf")
            if age < min_interval_s:
                continue
        trouble = hook.send(alert)
        if trouble:
            problems.extend(trouble)
            continue
        state[key] = now.isoformat()
        sent.append(alert)
    if sent:
        _save_state(state_path, state)
    return sent, problems
