#!/usr/bin/env python3
"""Instructions per request: Tollgate's user-space work on one scenario, counted by callgrind.

CPU microseconds per request (bench/run.sh) move with whatever else the machine does; the number
of instructions Tollgate executes per request does not (the same binary gives the same count to
within 0.1%, loaded machine or not). Use it to compare two builds of a change on the request path:

    bench/instructions.py target/release/tollgate /tmp/tollgate-before
    bench/instructions.py --scenario http_proxy_monitored target/release/tollgate

For each binary it starts bench.py's backend and a Tollgate under `valgrind --tool=callgrind`,
configures the scenario through the management API as bench.py does, warms up with wrk, zeroes the
counters (`callgrind_control -z`), runs `wrk -t1 -c8` for --seconds, dumps the counters
(`callgrind_control -d`) and prints the instructions over the requests wrk completed. The dump
stays in the printed directory for `callgrind_annotate`. Kernel work (syscalls, TCP) is not
counted: it is what the same syscalls cost, compare it with bench/run.sh.

Needs valgrind, wrk and nginx (bench/run.sh installs the last two), and boto3.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import bench
from benchlib import BenchError, Procs


def count(binary: str, scenario: bench.Scenario, seconds: int, warmup: int) -> tuple[int, int, Path]:
    """(requests, instructions, dump) for one binary."""
    work = Path(tempfile.mkdtemp(prefix="tollgate-instructions."))
    dump = work / "callgrind.out"
    wrapper = work / "tollgate-under-callgrind"
    wrapper.write_text("#!/bin/sh\n"
                       f"exec valgrind --tool=callgrind --callgrind-out-file={dump}.%p "
                       f"{Path(binary).resolve()} \"$@\"\n")
    wrapper.chmod(0o755)
    os.environ["TOLLGATE_BIN"] = str(wrapper)
    procs = Procs(work)
    try:
        _, backend = bench.start_backend(procs, work, 1, False)
        proc, port, target = bench.start_tollgate(procs, work, scenario, backend, 0)
        url = f"http://127.0.0.1:{port}{target.path}"
        headers = [arg for name, value in target.headers.items() for arg in ("-H", f"{name}: {value}")]
        wrk = ["wrk", "-t1", "-c8", *headers]
        subprocess.run([*wrk, f"-d{warmup}s", url], capture_output=True, check=True)
        pid = str(proc.popen.pid)
        subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)
        run = subprocess.run([*wrk, f"-d{seconds}s", url], capture_output=True, text=True, check=True)
        subprocess.run(["callgrind_control", "-d", pid], capture_output=True, check=True)
        m = re.search(r"(\d+) requests in", run.stdout)
        if not m or "Non-2xx" in run.stdout:
            raise BenchError(f"wrk: {run.stdout}")
        requests = int(m.group(1))
        dumps = sorted(work.glob("callgrind.out.*"), key=lambda p: p.stat().st_mtime)
        totals = [line for line in (dumps[-1].read_text().splitlines() if dumps else [])
                  if line.startswith(("summary:", "totals:"))]
        if not totals:
            raise BenchError("callgrind wrote no counts")
        return requests, int(totals[-1].split()[1]), dumps[-1]
    finally:
        procs.stop_all()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binaries", nargs="+", help="tollgate binaries to count")
    ap.add_argument("--scenario", default="http_proxy_small", help="a bench.py scenario (--list there)")
    ap.add_argument("--seconds", type=int, default=8, help="seconds of counted load (8)")
    ap.add_argument("--warmup", type=int, default=3,
                    help="seconds of load before counting (3); routes_10k needs ~40: under "
                         "callgrind its plans are still compiling for the first half minute")
    args = ap.parse_args()
    scenario = next((s for s in bench.SCENARIOS if s.name == args.scenario), None)
    if scenario is None:
        ap.error(f"no scenario {args.scenario}")
    rows = []
    for binary in args.binaries:
        try:
            requests, instructions, dump = count(binary, scenario, args.seconds, args.warmup)
        except (BenchError, subprocess.CalledProcessError) as e:
            print(f"{binary}: {e}", file=sys.stderr)
            return 1
        rows.append((binary, requests, instructions / requests))
        print(f"-- {binary}: {requests} requests, {instructions:,} instructions (dump {dump})",
              file=sys.stderr)
    print(f"\n{args.scenario}: instructions per request (user space, callgrind)\n")
    first = rows[0][2]
    for binary, requests, per_request in rows:
        print(f"{per_request:>10,.0f}  {per_request / first:5.2f}  {binary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
