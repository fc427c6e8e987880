"""Test helper: a Tiled server on 127.0.0.1 (a free port) with a temporary sqlite catalogue,
an API key, and permission to read one folder of run files."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

API_KEY = "qledtestkey7f3a91c2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def tiled_server(readable: Path, log: Path):
    """Yield the URL of a running ``tiled serve catalog --temp`` (stopped afterwards)."""
    import httpx

    port = free_port()
    tiled = Path(sys.executable).with_name("tiled")
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(tiled), "serve", "catalog", "--temp", "--api-key", API_KEY,
                                 "-r", str(readable), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tiled server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
