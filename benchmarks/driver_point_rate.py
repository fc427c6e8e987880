"""Point-loop rate (set V, read V and I) over the TCP Keithley 2400 simulator, three ways.

(a) raw socket with TCP_NODELAY, the same commands our driver sends per point
    (``:SOUR:VOLT v;:READ?``): the exchange-rate ceiling of the transport + simulator;
(b) stock PyMeasure ``Keithley2400`` over pyvisa-py, naive: ``source_voltage = v`` (a write)
    then ``measure_all`` style ``:READ?`` (a query) — the write+query pattern that stalls on
    Nagle + delayed ACK;
(c) our :class:`instruments.keithley2400.Keithley2400SourceMeter` (pyvisa-py with TCP_NODELAY on
    the session socket, one message per point).

The simulator is served by ``qled sim serve`` in its own process (as a LAN instrument is; in
the same process its thread would compete for the GIL with the client under test) at NPLC
0.01 on a clock at time_scale 1e4, so instrument reading time is negligible and the figures
measure the software path. Target: (c) ≥ 0.8 × (a). The machine is shared (the raw rate
swings ±50 % from run to run), so (a) and (c) alternate in pairs, ``repeats`` times, and the
figure is the median of the per-pair ratios. The bench runs as ``python -m simulators.serve``
(the server behind ``qled sim serve``).
Usage: python benchmarks/driver_point_rate.py [N] [REPEATS]
"""
from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

from pymeasure.instruments.keithley import Keithley2400 as StockKeithley2400

from instruments.keithley2400 import Keithley2400SourceMeter

VOLTS = [2.0 + 0.001 * (k % 1000) for k in range(100000)]


def raw_socket(port: int, n: int) -> float:
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    try:
        for cmd in (b":SOUR:FUNC VOLT\n", b":SENS:CURR:PROT 0.01\n", b":SENS:CURR:NPLC 0.01\n",
                    b"OUTPUT 1\n"):
            s.sendall(cmd)
        s.sendall(b"*OPC?\n")
        f.readline()
        t0 = time.perf_counter()
        for k in range(n):
            s.sendall(b":SOUR:VOLT %.7g;:READ?\n" % VOLTS[k])
            f.readline()
        elapsed = time.perf_counter() - t0
        s.sendall(b"OUTPUT 0\n")
        return n / elapsed
    finally:
        f.close()
        s.close()


def stock_pymeasure(resource: str, n: int) -> float:
    smu = StockKeithley2400(resource, visa_library="@py", read_termination="\n",
                            write_termination="\n", timeout=5000)
    try:
        smu.source_mode = "voltage"
        smu.compliance_current = 0.01
        smu.current_nplc = 0.01
        smu.source_enabled = True
        t0 = time.perf_counter()
        for k in range(n):
            smu.source_voltage = VOLTS[k]
            smu.values(":READ?")
        elapsed = time.perf_counter() - t0
        smu.source_enabled = False
        return n / elapsed
    finally:
        smu.adapter.close()


def ours(resource: str, n: int) -> float:
    with Keithley2400SourceMeter.open(resource) as smu:
        smu.configure_voltage_source(compliance_A=0.01, nplc=0.01)
        smu.output_on()
        t0 = time.perf_counter()
        for k in range(n):
            smu.source_voltage_and_measure(VOLTS[k])
        return n / (time.perf_counter() - t0)


def main(n: int = 1500, repeats: int = 9) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-m", "simulators.serve", "--json",
                             "--no-noise", "--time-scale", "1e4"], cwd=root,
                            stdout=subprocess.PIPE, text=True)
    try:
        resource = json.loads(proc.stdout.readline())["smu"]
        port = int(resource.split("::")[2])
        raws, fasts, ratios = [], [], []
        for k in range(repeats):
            # Alternate which goes first, so a drift in machine load hits both alike.
            if k % 2:
                fast, raw = ours(resource, n), raw_socket(port, n)
            else:
                raw, fast = raw_socket(port, n), ours(resource, n)
            raws.append(raw)
            fasts.append(fast)
            ratios.append(fast / raw)
        naive = stock_pymeasure(resource, max(20, n // 75))   # ~44 ms each: keep it short
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    raw, fast = statistics.median(raws), statistics.median(fasts)
    return {"raw_socket_points_per_s": round(raw, 1),
            "stock_pymeasure_pyvisa_points_per_s": round(naive, 1),
            "qled_driver_points_per_s": round(fast, 1),
            "qled_over_raw_median_of_pairs": round(statistics.median(ratios), 3),
            "qled_over_raw_pairs": [round(r, 3) for r in ratios],
            "qled_over_stock": round(fast / naive, 1),
            "settings": {"points_per_run": n, "repeats": repeats, "nplc": 0.01,
                         "time_scale": 1e4, "noise": False}}


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(main(*args), indent=1))
