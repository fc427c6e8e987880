"""ResilientLink.lock: exchanges from two threads on one link never interleave."""
import threading
import time

import pytest

from instruments.resilience import ResilientLink


class RecordingDriver:
    """A fake driver whose exchange is 'write, wait, read': records enter/exit per thread."""

    def __init__(self, fail_first: int = 0):
        self.log = []
        self.fail_first = fail_first
        self.adapter = None

    def exchange(self, tag, hold_s=0.002):
        self.log.append(("enter", tag))
        time.sleep(hold_s)                    # give the other thread every chance to barge in
        if self.fail_first > 0:
            self.fail_first -= 1
            self.log.append(("exit", tag))
            raise ConnectionResetError("link dropped")
        self.log.append(("exit", tag))
        return tag


def _pairs_are_whole(log):
    assert len(log) % 2 == 0
    for (e, a), (x, b) in zip(log[::2], log[1::2]):
        assert (e, x) == ("enter", "exit") and a == b, log


def _hammer(link, tags, n):
    errors, start = [], threading.Barrier(len(tags))

    def worker(tag):
        try:
            start.wait()
            for _ in range(n):
                assert link.call(lambda d, t: d.exchange(t), tag) == tag
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tags]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors


def test_two_threads_never_interleave_on_one_link():
    driver = RecordingDriver()
    link = ResilientLink("lcr", driver)
    _hammer(link, ("run", "abort"), 40)
    assert len(driver.log) == 2 * 80
    _pairs_are_whole(driver.log)
    tags = [tag for _, tag in driver.log]
    assert {"run", "abort"} == set(tags)       # both threads did get through


def test_the_lock_covers_the_reconnection_too():
    """A reconnect (close, reopen, restore) and the repeated exchange belong to the thread that
    hit the error: the other thread's exchange waits for all of it."""
    drivers = [RecordingDriver(fail_first=1)]
    restored = []

    def reopen():
        drivers.append(RecordingDriver())
        drivers[-1].log = drivers[0].log       # one log across the reconnection
        return drivers[-1]

    def restore(driver):
        driver.log.append(("enter", "restore"))
        time.sleep(0.005)
        driver.log.append(("exit", "restore"))
        restored.append(driver)

    link = ResilientLink("lcr", drivers[0], reopen=reopen, restore=restore, backoff_s=0.001,
                         sleep=time.sleep)
    _hammer(link, ("run", "abort"), 10)
    assert len(restored) == 1 and link.reconnects == 1
    _pairs_are_whole(drivers[0].log)


def test_lock_is_held_for_the_whole_call_and_is_reentrant():
    link = ResilientLink("smu", RecordingDriver())
    seen = {}

    def fn(driver):
        result = []
        other = threading.Thread(target=lambda: result.append(link.lock.acquire(timeout=0.05)))
        other.start()
        other.join()
        seen["other_thread_got_it"] = result[0]
        seen["nested"] = link.call(lambda d: "inner")       # same thread: re-entrant
        return "outer"

    assert link.call(fn) == "outer"
    assert seen == {"other_thread_got_it": False, "nested": "inner"}
    assert link.lock.acquire(timeout=0.05)                   # released afterwards
    link.lock.release()


def test_gui_serialisation_keeps_the_links_own_lock():
    """qled.gui.windows.serialise_station leaves a link that has a lock alone."""
    pytest.importorskip("qtpy")
    from qled.gui.windows import serialise_station

    link = ResilientLink("smu", RecordingDriver())
    call, lock = link.call, link.lock
    station = type("S", (), {"smu": type("A", (), {"_link": link})()})()
    assert serialise_station(station) == 1
    assert link.lock is lock and link.call == call
