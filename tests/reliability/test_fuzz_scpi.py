"""Property-based fuzzing of the SCPI engine behind every simulated instrument.

Any program message → a reply or an error-queue entry; never an exception escaping
``handle``, never a hang, and the instrument still answers ``*IDN?`` afterwards. Messages
are drawn from the instrument's own command tree (headers in short and long form, with
hostile arguments: NaN, inf, 1e999, huge integers, quotes, suffixes) and from raw text.
"""
from __future__ import annotations

import re
import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.bench import Bench
from simulators.scpi import SCPIInstrument, Setting, _expand

pytestmark = pytest.mark.reliability

ROLES = ("smu", "smu2450", "photodiode", "lcr", "lcr4284")
_ERR = re.compile(r'^[+-]?\d+,".*"$')


@pytest.fixture(scope="module")
def bench():
    # A fast clock: commands that take simulated time (sweeps, long apertures) stay short.
    b = Bench(noise=True, time_scale=1e6, photodiode="6485", serial_meters=False).start()
    yield b
    b.close()


def headers_of(cls: type[SCPIInstrument]) -> list[str]:
    """Every header of the instrument's command tree, short form and long form, ± '?'."""
    patterns = []
    for klass in cls.__mro__:
        for attr in vars(klass).values():
            if isinstance(attr, Setting):
                patterns += [p for p in attr.patterns] + [p + "?" for p in attr.patterns]
            elif callable(attr) and hasattr(attr, "__scpi__"):
                patterns += [p for p, _, _ in attr.__scpi__]
    out = set()
    for pattern in patterns:
        query = "?" if pattern.endswith("?") else ""
        if pattern.startswith("*"):
            out.add(pattern)
            continue
        for variant in _expand(pattern.rstrip("?")):
            out.add(":" + ":".join(s for s, _, _ in variant) + query)
            out.add(":" + ":".join(lng for _, lng, _ in variant) + query)
    return sorted(out)


ARGS = st.one_of(
    st.sampled_from(["0", "1", "-1", "1e999", "-1e999", "nan", "NaN", "inf", "1E6", "+1.000000E+00",
                     "1e-300", "MIN", "MAX", "DEF", "ON", "OFF", "", '"', "'", '""', "''",
                     '"defbuffer1"', "VOLT", "CURR", "CPD", "SHOR", "9" * 400, "1" + "0" * 30,
                     "0x10", "1,2,3", ",", ",,", "#", "\x00", "\ufffd"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-10 ** 30, max_value=10 ** 30).map(str),
    st.text(max_size=12),
)


def unit_strategy(headers):
    head = st.one_of(st.sampled_from(headers),
                     st.sampled_from(headers).map(str.lower),
                     st.sampled_from(headers).map(lambda h: h.lstrip(":")),   # relative path
                     st.sampled_from(headers).map(lambda h: h.replace(":", ":X", 1)),
                     st.from_regex(r"\A[:*]?[A-Za-z]{1,8}\d{0,3}\??\Z"))
    args = st.lists(ARGS, max_size=4).map(lambda a: ",".join(a))
    return st.tuples(head, args).map(lambda ha: f"{ha[0]} {ha[1]}" if ha[1] else ha[0])


def message_strategy(headers):
    units = st.lists(unit_strategy(headers), min_size=1, max_size=4).map(";".join)
    raw = st.text(max_size=60).map(lambda s: s.replace("\n", " "))
    return st.one_of(units, units, raw)


def _check_message(inst: SCPIInstrument, message: str) -> None:
    inst.handle("*CLS")
    n_before = inst.error_count
    t0 = time.monotonic()
    reply = inst.handle(message)               # must not raise
    assert time.monotonic() - t0 < 10.0, f"{message!r} took {time.monotonic() - t0:.1f} s"
    assert reply is None or isinstance(reply, str)
    units = [u.strip() for u in message.split(";") if u.strip()]
    queried = any(u.split(None, 1)[0].endswith("?") for u in units if '"' not in u and "'" not in u)
    if queried and reply is None:
        # no reply to a query: the reason is in the error queue
        assert inst.error_count > n_before, f"{message!r}: no reply and no error queued"
    for _ in range(inst.error_count + 1):
        entry = inst.handle(":SYST:ERR?")
        assert entry is not None and _ERR.match(entry), entry
    assert inst.error_count == 0
    assert inst.handle("*IDN?") == inst.IDN


@pytest.mark.parametrize("role", ROLES)
def test_any_message_gives_a_reply_or_an_error_entry(bench, role):
    inst = bench.instrument(role)
    headers = headers_of(type(inst))
    assert len(headers) > 20

    @settings(max_examples=250, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(message_strategy(headers))
    def fuzz(message):
        try:
            _check_message(inst, message)
        finally:
            inst.handle("*RST;*CLS")

    fuzz()


def _query(sock_file, sock, line: bytes) -> bytes:
    sock.sendall(line)
    return sock_file.readline()


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300))
def test_hostile_bytes_over_tcp_never_hang_the_server(bench, payload):
    """Arbitrary bytes (NUL, non-ASCII, CR, lone LFs) on the wire; the server keeps serving."""
    port = int(bench.resources["smu"].split("::")[2])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s, \
            s.makefile("rb") as f:
        s.sendall(payload.replace(b"?", b"") + b"\n")   # no stray replies to count
        assert _query(f, s, b"*IDN?\n").startswith(b"KEITHLEY")
        s.sendall(b"*CLS\n")


HOSTILE = ["1e999", "-1e999", "nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "0", "-0",
           "99999999999999999999999", "-1", "2.5", "MAX", "MIN", "DEF", "ON", "OFF", '""', '"',
           "'", "x", ",", "1,", ",1", "1,2", "1," * 40 + "1", "\ufffd", "#H10"]


@pytest.mark.parametrize("role", ROLES)
def test_every_header_with_every_hostile_argument(bench, role):
    """Systematic: each header of the tree (short and long form) × each hostile argument."""
    inst = bench.instrument(role)
    failures = []
    for header in headers_of(type(inst)):
        for arg in [None] + HOSTILE:
            message = header if arg is None else f"{header} {arg}"
            try:
                _check_message(inst, message)
            except Exception as exc:  # noqa: BLE001 - collect them all, report at once
                failures.append(f"{message[:60]!r}: {type(exc).__name__}: {exc}"[:160])
            finally:
                inst.handle("*RST;*CLS")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
