"""Command+query exchanges per second against the TCP SCPI simulator (raw socket, TCP_NODELAY).

One exchange is a command and a query: ``:SOUR:VOLT 1.0`` then ``:READ?`` as two messages
(the issue's definition), or the combined ``:SOUR:VOLT 1.0;:READ?``. Loads:

- a Keithley 2400 simulator on a 1 kΩ resistor (SCPI engine + transport alone);
- the bench's 2400 driving the default LED pixel (device physics, noise, lazy ageing) at
  1.0 V (below turn-on) and along a sweep 2.5 … 3.5 V (lit: every point a new diode solution,
  photometry and ageing step), at
  NPLC 0.01 with the clock at time_scale 1e4, so the simulated reading time (0.01/50 Hz +
  1 ms overhead = 1.2 ms simulated, 0.12 µs wall) is negligible;
- the same pixel at time_scale 1, where each reading really takes its 1.2 ms;
- a trivial echo server in the same process: the transport ceiling.

The client runs in this process (it shares the GIL with the server thread, a conservative
set-up). The machine is shared, so every figure is the median of ``repeats`` interleaved runs,
with the spread. Usage: ``python benchmarks/sim_exchange_rate.py [N] [REPEATS]``.
"""
from __future__ import annotations

import json
import socket
import statistics
import sys
import threading
import time

from simulators.bench import Bench, OperatingPoint
from simulators.clock import ScaledClock
from simulators.keithley2400 import Keithley2400
from simulators.transports import TcpServer

SETUP = ":SENS:CURR:NPLC 0.01;:SOUR:DEL:AUTO OFF;:SENS:CURR:PROT 0.1;:OUTP ON"
TWO = [b":SOUR:VOLT 1.0\n", b":READ?\n"]
ONE = [b":SOUR:VOLT 1.0;:READ?\n"]
#: 2.5 … 3.5 V in 1 mV steps, one combined set-and-read per point: the pixel lit and ageing.
SWEEP = [b":SOUR:VOLT %.4f;:READ?\n" % (2.5 + 0.001 * k) for k in range(1000)]


class Resistor:
    """A 1 kΩ load: isolates the SCPI engine + transport cost from the device physics."""

    def apply(self, function, level, compliance, output_on):
        if not output_on:
            return OperatingPoint(0.0, 0.0)
        return OperatingPoint(level, level / 1e3) if function == "VOLT" else OperatingPoint(level * 1e3, level)


def run(port: int, messages: list[bytes], n: int) -> float:
    """Exchanges per second of ``n`` exchanges (each: the messages, then one reply line).

    ``messages`` is one exchange's messages, or (``SWEEP``) one message per exchange taken
    in turn — a J-V-L sweep through the lit region, where every point is a new current.
    """
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    plan = [[m] for m in messages] if messages is SWEEP else [messages]
    try:
        for k in range(50):  # warm the header cache and the connection
            for m in plan[k % len(plan)]:
                s.sendall(m)
            f.readline()
        t0 = time.perf_counter()
        for k in range(n):
            for m in plan[k % len(plan)]:
                s.sendall(m)
            f.readline()
        return n / (time.perf_counter() - t0)
    finally:
        f.close()
        s.close()


class EchoServer:
    """Answers every query line with a fixed number: the cost of the transport alone."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with conn, conn.makefile("rb") as f:
                for line in f:
                    if line.endswith(b"?\n"):
                        conn.sendall(b"+1.000000E+00\n")

    def close(self):
        self.srv.close()
        self.thread.join(timeout=1)


def main(n: int = 4000, repeats: int = 5) -> dict:
    resistor_smu = Keithley2400(Resistor(), ScaledClock(1e4))
    resistor_smu.handle(SETUP)
    results: dict[str, list[float]] = {}
    with TcpServer(resistor_smu, "bench-2400") as resistor, \
            Bench(noise=True, time_scale=1e4, serial_meters=False) as bench:
        smu = bench.instrument("smu")
        smu.handle(SETUP)
        led_port = int(bench.resources["smu"].split("::")[2])
        echo = EchoServer()
        cases = {
            "resistor_write_then_query": (resistor.port, TWO, n),
            "resistor_combined": (resistor.port, ONE, n),
            "led_pixel_write_then_query": (led_port, TWO, n),
            "led_pixel_combined": (led_port, ONE, n),
            "led_pixel_lit_sweep_combined": (led_port, SWEEP, n),
            "echo_baseline_write_then_query": (echo.port, TWO, n),
        }
        try:
            for _ in range(repeats):   # interleaved: a load burst hits every case alike
                for name, (port, messages, count) in cases.items():
                    results.setdefault(name, []).append(run(port, messages, count))
            bench.clock.time_scale = 1.0   # the reading now takes its real 1.2 ms
            for _ in range(repeats):
                results.setdefault("led_pixel_write_then_query_time_scale_1", []).append(
                    run(led_port, TWO, max(200, n // 20)))
        finally:
            echo.close()
    summary = {name: {"median": round(statistics.median(v)), "min": round(min(v)),
                      "max": round(max(v))} for name, v in results.items()}
    summary["led_pixel_over_echo"] = round(summary["led_pixel_write_then_query"]["median"]
                                           / summary["echo_baseline_write_then_query"]["median"], 3)
    summary["settings"] = {"exchanges_per_run": n, "repeats": repeats, "nplc": 0.01,
                           "time_scale": 1e4, "unit": "exchanges/s"}
    return summary


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(main(*args), indent=1))
