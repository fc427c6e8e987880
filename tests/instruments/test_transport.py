"""Line reading on serial ports: whole chunks, not one byte per call; order and timeouts kept."""

import pytest
import serial
from pymeasure.adapters import SerialAdapter

from instruments.transport import GarbledReplyError, read_line


class CountingLoop:
    """pyserial's loop:// port, counting the read() calls the reader makes."""

    def __init__(self, timeout_s=0.05):
        self.port = serial.serial_for_url("loop://", timeout=timeout_s)
        self.reads = 0
        real = self.port.read

        def read(size=1):
            self.reads += 1
            return real(size)

        self.port.read = read
        self.adapter = SerialAdapter(self.port, read_termination="\n", write_termination="\n")

    def feed(self, data: bytes):
        self.port.write(data)


@pytest.fixture
def loop():
    lp = CountingLoop()
    yield lp
    lp.port.close()


def test_a_long_line_is_read_in_chunks_not_bytewise(loop):
    block = "OK00," + ",".join(["3F800000"] * 100)      # one CS-2000 spectral block (905 bytes)
    loop.feed(block.encode() + b"\n")
    assert read_line(loop.adapter, what="cs2000") == block
    assert loop.reads <= 3                               # byte-wise would be 906 calls


def test_lines_arriving_together_come_out_one_per_call_in_order(loop):
    loop.feed(b"OK00,1\nOK00\nER10\n")                  # MEAS reply, completion, next reply
    assert [read_line(loop.adapter, what="m") for _ in range(3)] == ["OK00,1", "OK00", "ER10"]
    with pytest.raises(TimeoutError, match="no reply"):
        read_line(loop.adapter, what="m")


def test_silence_times_out_and_a_partial_line_is_returned_for_the_caller_to_judge(loop):
    with pytest.raises(TimeoutError, match="m: no reply before the timeout"):
        read_line(loop.adapter, what="m")
    loop.feed(b"OK00,12")                                # the rest never comes
    assert read_line(loop.adapter, what="m") == "OK00,12"
    loop.feed(b"OK\xff\n")
    with pytest.raises(GarbledReplyError, match="non-ASCII"):
        read_line(loop.adapter, what="m")
