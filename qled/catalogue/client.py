"""Register runs in a Tiled catalogue and query it (the station is only ever a client).

:func:`publish` registers finished run files as external HDF5 nodes (the server reads the
file where it lies, which must be a folder the server may read, ``tiled serve … -r DIR``),
each keyed by :func:`~qled.catalogue.metadata.run_id` with the metadata
:func:`~qled.catalogue.metadata.lift_metadata` lifts, replacing an earlier entry of the same
run. The bulk path posts the registrations straight to Tiled's ``/register`` endpoint (the
route ``Container.new`` uses) from several threads on one HTTP/1.1 connection pool: the
server reads each file once, the client never opens it as a Tiled adapter. :func:`find`
queries the catalogue and returns a pandas DataFrame. The API key comes from a file or
``QLED_TILED_API_KEY`` and is sent to the server only (never written into a run file).
"""
from __future__ import annotations

import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from qled.catalogue.metadata import lift_metadata

__all__ = ["API_KEY_ENV", "api_key", "connect", "copy_to_share", "find", "parse_where",
           "publish", "publish_many"]

#: Environment variable holding the catalogue's API key.
API_KEY_ENV = "QLED_TILED_API_KEY"

_OPS = {">": "__gt__", ">=": "__ge__", "<": "__lt__", "<=": "__le__", "==": "__eq__",
        "=": "__eq__", "!=": "__ne__"}
_WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<|=)\s*(.+?)\s*$")


def api_key(key_file: str | os.PathLike | None = None) -> str | None:
    """The API key: the first line of ``key_file``, else ``$QLED_TILED_API_KEY``, else None."""
    if key_file is not None:
        return Path(key_file).read_text(encoding="utf-8").strip() or None
    return os.environ.get(API_KEY_ENV) or None


def connect(url: str, key: str | None = None):
    """A Tiled client of the catalogue at ``url`` (a node of it)."""
    import httpx
    from tiled.client import from_uri

    from qled.errors import UserError

    try:
        return from_uri(url, api_key=key)
    except httpx.TransportError as exc:
        raise UserError(f"the catalogue at {url} cannot be reached: {exc}") from None
    except httpx.HTTPStatusError as exc:
        raise UserError(f"the catalogue at {url} refused the connection: HTTP "
                        f"{exc.response.status_code} (is the API key right?)") from None
    except RuntimeError as exc:
        if "API key" not in str(exc):
            raise
        raise UserError(f"the catalogue at {url} requires an API key: pass --api-key-file F "
                        f"or set {API_KEY_ENV}") from None


def copy_to_share(path: Path, share: str | os.PathLike) -> Path:
    """Copy ``path`` into the folder ``share`` atomically (temporary name, then rename);
    an identical file there is kept, a different one of that name is never overwritten."""
    share = Path(share)
    if not share.is_dir():
        raise NotADirectoryError(f"--copy-to = {str(share)!r} is not a folder")
    target = share / path.name
    if target.exists():
        if target.stat().st_size == path.stat().st_size and \
                target.read_bytes() == path.read_bytes():
            return target
        raise FileExistsError(f"{target} exists and differs from {path}: not overwritten "
                              "(rename one of them)")
    tmp = share / f".{path.name}.{os.getpid()}.part"
    shutil.copyfile(path, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    try:
        os.link(tmp, target)       # fails if another publisher got there first
    finally:
        tmp.unlink()
    return target


def _body(path: Path, metadata: dict) -> dict:
    from tiled.utils import ensure_uri

    return {"id": metadata["run_id"], "ancestors": [], "metadata": metadata,
            "structure_family": "container", "specs": [], "access_tags": None,
            "data_sources": [{
                "structure_family": "container", "mimetype": "application/x-hdf5",
                "structure": None, "parameters": {}, "management": "external",
                "properties": {}, "id": None,
                "assets": [{"data_uri": ensure_uri(str(path.resolve())),
                            "is_directory": False, "parameter": "data_uris", "num": None,
                            "size": path.stat().st_size, "id": None}]}]}


def _register(client, path: Path, metadata: dict) -> None:
    """POST one registration; an existing entry of the same run is deleted first."""
    import httpx

    http = client.context.http_client
    base = client.uri.split("/api/v1/")[0] + "/api/v1"
    parts = client.path_parts
    prefix = "/".join(parts)
    body = _body(path, metadata)
    body["ancestors"] = list(parts)
    url = f"{base}/register/{prefix}"     # (the root's trailing / avoids a 307 round trip)
    replaced = False
    for attempt in range(_ATTEMPTS):
        response = http.post(url, json=body, headers={"Accept": "application/json"})
        if response.status_code == httpx.codes.CONFLICT and not replaced:
            key = f"{prefix}/{metadata['run_id']}".strip("/")
            http.delete(f"{base}/metadata/{key}", params={"recursive": True}).raise_for_status()
            replaced = True
            continue
        if response.status_code >= 500 and attempt + 1 < _ATTEMPTS:
            # a sqlite catalogue answers 500 ("database is locked") to concurrent writers:
            # the key makes the retry idempotent (a 409 then means our own earlier post)
            time.sleep(0.05 * 2 ** attempt)
            continue
        if response.status_code == httpx.codes.CONFLICT and replaced:
            return                   # our own retried post went through
        if response.is_error:
            raise OSError(f"catalogue refused {path.name}: HTTP {response.status_code} "
                          f"{response.text[:200]}")
        return


#: Attempts at one registration (5xx answers are retried with exponential back-off).
_ATTEMPTS = 8


def publish(paths: Iterable[str | os.PathLike], url: str, *, key: str | None = None,
            copy_to: str | os.PathLike | None = None, workers: int = 4,
            on_done=None) -> list[str]:
    """Register each finished run file (copied first to ``copy_to`` if given; the copy is
    registered). Returns the run ids. ``RunNotFinished`` (before anything is sent) for a file
    still written; ``workers`` > 1 registers concurrently."""
    paths = [Path(p) for p in paths]
    lifted = [(p, lift_metadata(p)) for p in paths]          # refuses before registering
    if copy_to is not None:
        lifted = [(c, {**md, "path": str(c.resolve())})
                  for c, md in ((copy_to_share(p, copy_to), md) for p, md in lifted)]
    client = connect(url, key)

    def one(item):
        _register(client, *item)
        if on_done is not None:
            on_done(item[1]["run_id"])
        return item[1]["run_id"]

    if workers <= 1 or len(lifted) < 2:
        return [one(item) for item in lifted]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, lifted))


publish_many = publish


def parse_where(text: str):
    """``"max_eqe_percent > 15"`` → a Tiled query; ValueError naming the allowed form."""
    from tiled.queries import Key

    m = _WHERE.match(text or "")
    if not m:
        raise ValueError(f"--where = {text!r} is not allowed: use 'NAME OP VALUE' with OP one "
                         "of > >= < <= == !=, e.g. 'max_eqe_percent > 15'")
    name, op, raw = m.groups()
    try:
        value: Any = float(raw)
    except ValueError:
        value = raw.strip("'\"")
    return getattr(Key(name), _OPS[op])(value)


def _since_unix_s(since: str) -> float:
    from datetime import datetime, timezone

    try:
        t = datetime.fromisoformat(since)
    except ValueError:
        raise ValueError(f"--since = {since!r} is not allowed: use an ISO date, "
                         "e.g. 2026-11-01 or 2026-11-01T08:00") from None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()


def find(url: str, *, key: str | None = None, sample: str | None = None,
         kind: str | None = None, where: Iterable[str] = (), since: str | None = None,
         station: str | None = None, client=None) -> pd.DataFrame:
    """Runs of the catalogue at ``url`` matching every condition, one row each (the
    metadata's keys as columns, sorted by start time)."""
    from tiled.queries import Eq, Key

    node = client if client is not None else connect(url, key)
    for name, value in (("sample", sample), ("kind", kind), ("station", station)):
        if value is not None:
            node = node.search(Eq(name, value))
    for text in where:
        node = node.search(parse_where(text))
    if since is not None:
        node = node.search(Key("start_unix_s") >= _since_unix_s(since))
    rows = [dict(meta) for _, meta in _metadata_items(node)]
    table = pd.DataFrame(rows, columns=None if rows else list(_EMPTY_COLUMNS))
    if "start_unix_s" in table:
        table = table.sort_values("start_unix_s", kind="stable").reset_index(drop=True)
    return table


#: The columns of a query that matched nothing.
_EMPTY_COLUMNS = ("run_id", "file", "path", "kind", "sample", "pixel", "station", "status",
                  "start_time", "end_time", "start_unix_s")


def _metadata_items(node):
    """(key, metadata) of every entry, page by page, without building child clients."""
    items = node.items()
    for key, child in items:
        yield key, child.metadata
