"""Command+query exchanges per second against the TCP SCPI simulator (raw socket, TCP_NODELAY).

Measures (a) ``:SOUR:VOLT 1.0`` then ``:READ?`` as two messages, (b) the combined
``:SOUR:VOLT 1.0;:READ?``, against a Keithley 2400 simulator driving an LED pixel at
NPLC 0.01 on a clock at time_scale 1e4 (so the reading time itself is negligible), and
(c) a trivial echo server in the same process as the transport baseline.
Usage: python benchmarks/sim_exchange_rate.py [N]
"""
from __future__ import annotations

import socket
import sys
import threading
import time

from simulators.bench import Bench, OperatingPoint
from simulators.clock import ScaledClock
from simulators.smu import Keithley2400
from simulators.transports import TcpServer


class Resistor:
    """A 1 kΩ load: isolates the SCPI engine + transport cost from the device physics."""

    def apply(self, function, level, compliance, output_on):
        if not output_on:
            return OperatingPoint(0.0, 0.0)
        return OperatingPoint(level, level / 1e3) if function == "VOLT" else OperatingPoint(level * 1e3, level)


def _client(port: int):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, s.makefile("rb")


def run(port: int, messages: list[bytes], n: int) -> float:
    s, f = _client(port)
    try:
        for _ in range(50):  # warm the header cache
            for m in messages:
                s.sendall(m)
            f.readline()
        t0 = time.perf_counter()
        for _ in range(n):
            for m in messages:
                s.sendall(m)
            f.readline()
        return n / (time.perf_counter() - t0)
    finally:
        f.close()
        s.close()


def echo_server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = conn.makefile("rb")
        with conn:
            for line in f:
                if line.endswith(b"?\n"):
                    conn.sendall(b"+1.000000E+00\n")
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv, t


def main(n: int = 5000) -> None:
    smu = Keithley2400(Resistor(), ScaledClock(1e4))
    smu.handle(":SENS:CURR:NPLC 0.01;:SOUR:DEL:AUTO OFF;:SENS:CURR:PROT 0.1;:OUTP ON")
    with TcpServer(smu, "bench-2400") as server:
        r_two = run(server.port, [b":SOUR:VOLT 1.0\n", b":READ?\n"], n)
        r_one = run(server.port, [b":SOUR:VOLT 1.0;:READ?\n"], n)
    with Bench(noise=True, time_scale=1e4, serial_meters=False) as bench:
        smu = bench.instrument("smu")
        smu.handle(":SENS:CURR:NPLC 0.01;:SOUR:DEL:AUTO OFF;:SENS:CURR:PROT 0.1;:OUTP ON")
        port = int(bench.resources["smu"].split("::")[2])
        two = run(port, [b":SOUR:VOLT 1.0\n", b":READ?\n"], n)
        one = run(port, [b":SOUR:VOLT 1.0;:READ?\n"], n)
    srv, t = echo_server()
    base = run(srv.getsockname()[1], [b":SOUR:VOLT 1.0\n", b":READ?\n"], n)
    srv.close()
    print(f"2400 on 1 kOhm, write + query       : {r_two:8.0f} exchanges/s")
    print(f"2400 on 1 kOhm, one combined message: {r_one:8.0f} exchanges/s")
    print(f"2400 on LED pixel (ageing at 1e4x), write + query: {two:8.0f} exchanges/s")
    print(f"2400 on LED pixel, one combined message: {one:8.0f} exchanges/s")
    print(f"echo baseline,  write + query      : {base:8.0f} exchanges/s")
    print(f"2400 (1 kOhm) / baseline            : {r_two / base:8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
