"""Helpers shared by the benchmarks (bench.py, functions_bench.py): constants, the processes a
run starts (pinned with taskset, recorded for the shell scripts' safety net), HTTP probes, wrk
result checks, tables and the results files."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import datetime as dt
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
LUA = BENCH_DIR / "report.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A scenario is broken (a proxy does not start or answers wrongly): the run fails."""


def log(msg: str) -> None:
    print(f"-- {msg}", file=sys.stderr, flush=True)


class Procs:
    """Every process this run starts, recorded in $BENCH_WORK/pids for run.sh's safety net."""

    def __init__(self, work: Path):
        self.pidfile = work / "pids"
        self.live: list[Proc] = []

    def add(self, proc: Proc, group: bool = False) -> None:
        """Records proc; with group, its process group (negated, for the scripts to signal)."""
        self.live.append(proc)
        with open(self.pidfile, "a") as f:
            f.write(f"{'-' if group else ''}{proc.popen.pid}\n")

    def stop_all(self) -> None:
        for p in reversed(self.live):
            p.stop()
        self.live.clear()


def read_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name, which is in parentheses and may contain anything.
    return raw[raw.rindex(")") + 2 :].split()


def status_kb(pid: int, field: str) -> int:
    """A kB figure of /proc/PID/status (VmRSS, VmHWM); 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = read_stat(int(entry))
            if st and int(st[1]) == pid:  # st[1] is ppid (field 4)
                kids.append(int(entry))
    return kids


class Proc:
    def __init__(self, procs: Procs, name: str, argv: list[str], cpu: int, log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None,
                 new_session: bool = False):
        self.name = name
        self.log_path = log_path
        self.log_file = open(log_path, "wb")
        # taskset execs the program, so the pid is the program's own.
        self.popen = subprocess.Popen(
            ["taskset", "-c", str(cpu), *argv],
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=new_session,
        )
        procs.add(self, group=new_session)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def pids(self) -> list[int]:
        """The process and its children (nginx: the master and its worker)."""
        return [self.pid, *children_of(self.pid)]

    def cpu_ticks(self) -> int:
        total = 0
        for pid in self.pids():
            st = read_stat(pid)
            if st:
                total += int(st[11]) + int(st[12])  # utime, stime (fields 14, 15), all threads
        return total

    def peak_rss_kb(self) -> int:
        return sum(status_kb(pid, "VmHWM") for pid in self.pids())

    def log_tail(self, lines: int = 20) -> str:
        self.log_file.flush()
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.alive():
            kids = children_of(self.pid)
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                for pid in [self.pid, *kids]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.popen.wait(timeout=5)
        self.log_file.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(proc: Proc, port: int, path: str, ok: Callable[[int], bool], timeout: float,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Polls GET path until ok(status); raises BenchError with the last answer otherwise."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while time.monotonic() < deadline:
        if not proc.alive():
            raise BenchError(
                f"{proc.name} exited with code {proc.popen.returncode}:\n{proc.log_tail()}"
            )
        try:
            status, body = http_get(port, path, headers, timeout=2)
            if ok(status):
                return status, body
            last = f"HTTP {status}: {body[:300]!r}"
        except OSError as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.1)
    raise BenchError(f"{proc.name}: GET {path} did not succeed within {timeout:.0f}s ({last})")


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def http_get(port: int, path: str, headers: dict[str, str] | None = None,
             timeout: float = 5.0) -> tuple[int, bytes]:
    return http_request(port, "GET", path, headers=headers, timeout=timeout)


def broken_reason(r: dict[str, Any]) -> str | None:
    """Why a wrk run shows a broken scenario; None when it is fine. Never about speed."""
    e = r["errors"]
    if r["requests"] == 0:
        return "no request completed"
    if e["status"]:
        return f"{e['status']} responses with status >= 400"
    if e["connect"]:
        return f"{e['connect']} connect errors"
    socket_errors = e["read"] + e["write"] + e["timeout"]
    if socket_errors > r["requests"] / 100:
        return f"{socket_errors} read/write/timeout errors for {r['requests']} requests"
    return None


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def ratio(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.2f}"


def table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def save_results(out: Path, prefix: str, suffix: str, report: dict[str, Any], md: str) -> Path:
    """Writes out/{prefix}{stamp}{suffix}.json and .md, and copies them to
    {prefix}latest.json / .md; returns the base path."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = out / f"{prefix}{stamp}{suffix}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    base.with_suffix(".md").write_text(md)
    shutil.copyfile(base.with_suffix(".json"), out / f"{prefix}latest.json")
    shutil.copyfile(base.with_suffix(".md"), out / f"{prefix}latest.md")
    print(f"\nresults: {base}.json, {base}.md")
    return base
