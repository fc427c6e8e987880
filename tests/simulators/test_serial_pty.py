"""PtyServer: a raw pseudo-terminal that pyserial and pyvisa-py open like a real port."""
from __future__ import annotations

import os
import threading
import time

import pytest
import serial

from simulators.serial_pty import HangUp, PtyServer


class Echo:
    """Upper-cases every chunk; ``DROP`` hangs up; ``LATER`` answers 0.2 s later via poll."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.due: float | None = None
        self.resets = 0

    def feed(self, data, write):
        self.chunks.append(data)
        if b"DROP" in data:
            raise HangUp("test")
        if b"LATER" in data:
            self.due = time.monotonic() + 0.2
            return
        write(data.upper())

    def poll(self, write):
        if self.due is not None and time.monotonic() >= self.due:
            self.due = None
            write(b"DONE\n")

    def next_event_s(self):
        return None if self.due is None else self.due - time.monotonic()

    def connection_reset(self):
        self.resets += 1


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def baseline():
    """Fail the test if it leaks a thread or a file descriptor."""
    fds, threads = _fds(), set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and (set(threading.enumerate()) - threads or _fds() > fds):
        time.sleep(0.01)
    assert set(threading.enumerate()) - threads == set()
    assert _fds() == fds


def test_pyserial_round_trip_with_and_without_rtscts(baseline):
    with PtyServer(Echo(), name="echo") as server:
        assert server.path.startswith("/dev/pts/")
        for rtscts in (True, False):
            with serial.Serial(server.path, 115200, rtscts=rtscts, timeout=2) as port:
                port.write(b"hello\n")
                assert port.readline() == b"HELLO\n"


def test_raw_line_no_echo_no_crlf_translation(baseline):
    handler = Echo()
    with PtyServer(handler) as server, serial.Serial(server.path, timeout=0.3) as port:
        port.write(b"a\rb\r\nc\n")
        expected = b"A\rB\r\nC\n"
        got = b""
        deadline = time.monotonic() + 2
        while len(got) < len(expected) and time.monotonic() < deadline:
            got += port.read(len(expected) - len(got))
        assert got == expected  # no CR->LF mapping either way
        assert b"".join(handler.chunks) == b"a\rb\r\nc\n"
        assert port.read(10) == b""  # the line does not echo what we sent


def test_handler_answers_later_through_poll(baseline):
    with PtyServer(Echo()) as server, serial.Serial(server.path, timeout=0.05) as port:
        port.write(b"LATER\n")
        t0 = time.monotonic()
        assert port.readline() == b""  # not yet
        port.timeout = 2
        assert port.readline() == b"DONE\n"
        assert 0.15 < time.monotonic() - t0 < 1.5


def test_pyvisa_py_asrl_exchange(baseline):
    pyvisa = pytest.importorskip("pyvisa")
    with PtyServer(Echo()) as server:
        rm = pyvisa.ResourceManager("@py")
        try:
            inst = rm.open_resource(f"ASRL{server.path}::INSTR", baud_rate=115200,
                                    read_termination="\n", write_termination="\n", timeout=2000)
            assert inst.query("idn") == "IDN"
            inst.close()
        finally:
            rm.close()


def test_hang_up_is_seen_by_the_client_and_restart_recovers(baseline):
    handler = Echo()
    with PtyServer(handler) as server:
        first = server.device
        port = serial.Serial(server.path, timeout=1)
        try:
            port.write(b"DROP\n")
            with pytest.raises(serial.SerialException):
                port.readline()
                port.write(b"x\n")  # whichever the OS reports first
            assert server.hung_up and not server.running
            assert handler.resets == 1
            server.restart()
            assert not server.hung_up and server.running
            assert server.device != first  # the old pts stays held by our stale client
            with serial.Serial(server.path, timeout=2) as again:
                again.write(b"back\n")
                assert again.readline() == b"BACK\n"
        finally:
            port.close()


def test_stable_link_is_repointed_on_restart(tmp_path, baseline):
    link = tmp_path / "cs2000"
    with PtyServer(Echo(), link=link) as server:
        assert server.path == str(link)
        assert os.readlink(link) == server.device
        server.hang_up()
        server.restart()
        assert os.readlink(link) == server.device
        with serial.Serial(str(link), timeout=2) as port:
            port.write(b"ok\n")
            assert port.readline() == b"OK\n"
    assert not link.exists() and not link.is_symlink()


def test_close_with_a_client_still_connected_does_not_hang(baseline):
    server = PtyServer(Echo()).start()
    port = serial.Serial(server.path, timeout=0.2)
    port.write(b"ping\n")
    assert port.readline() == b"PING\n"
    t0 = time.monotonic()
    server.close()
    server.close()  # idempotent
    assert time.monotonic() - t0 < 2.0
    with pytest.raises(serial.SerialException):
        port.write(b"after\n")
        port.readline()
    port.close()


def test_client_that_stops_reading_does_not_block_shutdown(baseline):
    class Flood:
        def feed(self, data, write):
            write(b"x" * 200_000)  # far more than the pty buffer holds

    server = PtyServer(Flood()).start()
    port = serial.Serial(server.path, timeout=0.2)
    port.write(b"go\n")
    assert len(port.read(1000)) == 1000
    t0 = time.monotonic()
    server.close()
    assert time.monotonic() - t0 < 2.0
    port.close()


def test_bad_use_is_refused(baseline):
    with pytest.raises(ValueError, match="feed"):
        PtyServer(object())
    server = PtyServer(Echo())
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.path
    server.start()
    with pytest.raises(RuntimeError, match="already started"):
        server.start()
    server.close()
    with pytest.raises(RuntimeError, match="closed"):
        server.start()


def _wait_for(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return predicate()


def test_automatic_restart_after_a_handler_hang_up(tmp_path, baseline):
    link = tmp_path / "cs2000"
    handler = Echo()
    with PtyServer(handler, link=link, restart_after_s=0.05) as server:
        first = server.device
        with serial.Serial(str(link), timeout=1) as port:
            port.write(b"DROP\n")
            # While the line is down the path is gone (never a stale /dev/pts/N) …
            assert _wait_for(lambda: server.restarts == 1 or not link.is_symlink())
            # … and 50 ms later the meter is back behind the same path, on a new pty.
            assert _wait_for(lambda: server.restarts == 1)
        assert server.running and server.device != first
        assert os.readlink(link) == server.device and handler.resets == 1
        with serial.Serial(str(link), timeout=2) as again:
            again.write(b"back\n")
            assert again.readline() == b"BACK\n"
    assert not link.is_symlink()


def test_close_during_the_restart_delay_is_prompt_and_clean(tmp_path, baseline):
    server = PtyServer(Echo(), link=tmp_path / "m", restart_after_s=30.0).start()
    with serial.Serial(server.path, timeout=1) as port:
        port.write(b"DROP\n")
        assert _wait_for(lambda: server.hung_up)
    t0 = time.monotonic()
    server.close()                       # wakes the 30 s wait at once
    assert time.monotonic() - t0 < 5.0 and server.restarts == 0
    with pytest.raises(ValueError, match="restart_after_s = -1 is out of range"):
        PtyServer(Echo(), restart_after_s=-1)
