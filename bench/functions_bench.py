#!/usr/bin/env python3
"""Tollgate functions benchmark; started by bench/functions.sh, which installs tools and builds.

Three measurements, in one run (see bench/README.md, "Functions benchmark"):

1. warm: single-request latency (wrk -c1) of an AWS_PROXY route to a trivial Node function,
   of a MOCK route on the same stage, and of invoking the same function directly (POST
   /2015-03-31/functions/NAME/invocations on Tollgate's endpoint), interleaved; the gateway's
   added overhead is AWS_PROXY minus direct invoke (and AWS_PROXY minus MOCK).
2. cold: the first invoke of a provided.al2023 function (tests/fixtures/rust-fn, AWS's
   lambda_runtime crate) after create_function and after update_function_configuration.
3. throughput: wrk with the same connections and duration, interleaved, against the Tollgate
   stage and against serverless-offline running the same Node handler.

Everything under test (Tollgate with its function instances, serverless-offline with its workers)
runs on one core (taskset); wrk and the Python client on the other.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as lib  # noqa: E402  - the process, HTTP, table and results helpers
from bench import lift_account_throttle  # noqa: E402
from benchlib import BenchError, Proc, Procs, free_port, http_request, log  # noqa: E402

BENCH_DIR = lib.BENCH_DIR
REPO = lib.REPO
REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bench"
NODE_HANDLER = 'exports.handler = async () => ({statusCode: 200, body: "ok"});\n'
NODE_FN = "bench-node"
STAGE = "bench"

# Targets (goals from the brief); the report prints them next to what was measured.
GOAL_OVERHEAD_P50_US = 200
GOAL_COLD_MS = 50
GOAL_THROUGHPUT_RATIO = 10


# ------------------------------------------------------------------ helpers


def zip_bytes(name: str, data: bytes, executable: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3  # Unix, so that the mode bits below are honoured
        info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
        zf.writestr(info, data)
    return buf.getvalue()


def descendants(pid: int) -> list[int]:
    """pid's whole process tree (function instances are children of Tollgate's children)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = lib.read_stat(int(entry))
            if st:
                parent[int(entry)] = int(st[1])
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        frontier += kids
    return out


def own_ticks(pid: int) -> int:
    """CPU ticks (user + system, all threads) of pid alone."""
    st = lib.read_stat(pid)
    return int(st[11]) + int(st[12]) if st else 0


def tree_cpu_ticks(pid: int) -> int:
    total = 0
    for p in [pid, *descendants(pid)]:
        st = lib.read_stat(p)
        if st:
            total += int(st[11]) + int(st[12])
    return total


def tree_rss_kb(pid: int) -> int:
    return sum(lib.status_kb(p, "VmRSS") for p in [pid, *descendants(pid)])


class GroupProc(Proc):
    """A Proc in its own session (process group), stopped with the whole group: for
    serverless-offline, whose node may start helpers. The group id is recorded negated in
    $BENCH_WORK/pids so that functions.sh's safety net signals the group."""

    def __init__(self, procs: Procs, name: str, argv: list[str], cpu: int, log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None):
        super().__init__(procs, name, argv, cpu, log_path, env, cwd, new_session=True)

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # stragglers of the group, if any
        except (ProcessLookupError, PermissionError):
            pass
        if self.popen.poll() is None:
            self.popen.wait(timeout=5)
        self.log_file.close()


def invoke_path(name: str) -> str:
    return f"/2015-03-31/functions/{name}/invocations"


def clients(port: int) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    kw = dict(endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
              aws_access_key_id="test", aws_secret_access_key="test",
              config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60))
    return boto3.client("apigateway", **kw), boto3.client("lambda", **kw)


# ------------------------------------------------------------------ wrk


@dataclass
class Load:
    duration: int
    warmup: int
    rounds: int
    connections: int
    latency_duration: int
    proxy_cpu: int
    load_cpu: int


def wrk_script(work: Path, method: str, body: str | None) -> Path:
    """report.lua, prefixed with the request's method and body when it is not a plain GET."""
    if method == "GET" and body is None:
        return lib.LUA
    path = work / f"wrk-{method.lower()}.lua"
    head = f'wrk.method = "{method}"\n'
    if body is not None:
        head += f"wrk.body = {json.dumps(body)}\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
    path.write_text(head + lib.LUA.read_text())
    return path


def run_wrk(load: Load, port: int, path: str, duration: int, connections: int,
            script: Path) -> dict[str, Any]:
    argv = ["taskset", "-c", str(load.load_cpu), "wrk", "-t1", f"-c{connections}",
            f"-d{duration}s", "--latency", "--timeout", "10s", "-s", str(script),
            f"http://127.0.0.1:{port}{path}"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"wrk did not finish: {' '.join(argv)}") from e
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            r = json.loads(line[len("BENCH_RESULT "):])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0
            return r
    raise BenchError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")


def check(name: str, r: dict[str, Any]) -> None:
    reason = lib.broken_reason(r)
    if reason:
        raise BenchError(f"{name}: {reason}")


# ------------------------------------------------------------------ Tollgate


def start_tollgate(procs: Procs, work: Path, name: str, cpu: int) -> tuple[Proc, int]:
    data = work / f"tollgate-{name}"
    data.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env["TOLLGATE_LOG"] = "warn"
    for k in ("TOLLGATE_NODE", "TOLLGATE_PYTHON"):
        if k in os.environ:
            env[k] = os.environ[k]
    proc = Proc(procs, f"tollgate-{name}",
                [os.environ["TOLLGATE_BIN"], "serve", "--listen", f"127.0.0.1:{port}",
                 "--data-dir", str(data)], cpu, work / f"tollgate-{name}.log", env=env)
    lib.wait_for(proc, port, "/restapis", lambda s: s == 200, 30)
    return proc, port


@dataclass
class Stage:
    api_id: str
    proxy_path: str  # AWS_PROXY route: /restapis/{id}/bench/_user_request_/hello
    mock_path: str   # MOCK route on the same stage


def setup_stage(apigw: Any, lam: Any) -> Stage:
    # Tollgate now serves more than the account throttle's default 10,000 requests/s.
    lift_account_throttle(apigw)
    fn = lam.create_function(FunctionName=NODE_FN, Runtime="nodejs20.x", Role=ROLE,
                             Handler="index.handler", Timeout=10, MemorySize=256,
                             Code={"ZipFile": zip_bytes("index.js", NODE_HANDLER.encode())})
    arn = fn["FunctionArn"]
    if arn != f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{NODE_FN}":
        log(f"note: FunctionArn is {arn}")
    api = apigw.create_rest_api(name="bench-functions")
    api_id, root = api["id"], api["rootResourceId"]
    proxy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")
    apigw.put_method(restApiId=api_id, resourceId=proxy["id"], httpMethod="ANY",
                     authorizationType="NONE")
    uri = (f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
           f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{NODE_FN}/invocations")
    apigw.put_integration(restApiId=api_id, resourceId=proxy["id"], httpMethod="ANY",
                          type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
    # A literal resource wins over {proxy+}: the MOCK baseline on the same stage.
    mock = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="mock")
    key = dict(restApiId=api_id, resourceId=mock["id"], httpMethod="GET")
    apigw.put_method(**key, authorizationType="NONE")
    apigw.put_integration(**key, type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(**key, statusCode="200")
    apigw.put_integration_response(**key, statusCode="200",
                                   responseTemplates={"application/json": "ok"})
    apigw.create_deployment(restApiId=api_id, stageName=STAGE)
    base = f"/restapis/{api_id}/{STAGE}/_user_request_"
    return Stage(api_id, f"{base}/hello", f"{base}/mock")


def wait_ok(proc: Proc, port: int, path: str, timeout: float = 30) -> None:
    """The data plane learns of deployments asynchronously: poll until 200 'ok'."""
    lib.wait_for(proc, port, path, lambda s: s == 200, timeout)
    st, body = lib.http_get(port, path, timeout=30)
    if st != 200 or body != b"ok":
        raise BenchError(f"GET {path} answered {st} {body[:200]!r}, expected 200 'ok'")


# ------------------------------------------------------------------ 1. warm overhead


def pctl(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def bench_warm(load: Load, work: Path, tg: Proc, port: int, stage: Stage, lam: Any,
               boto_calls: int) -> dict[str, Any]:
    """Single requests (wrk -c1), interleaved rounds, on the three paths."""
    get = lib.LUA
    post = wrk_script(work, "POST", "{}")
    targets = [
        ("gateway_aws_proxy", stage.proxy_path, get),
        ("gateway_mock", stage.mock_path, get),
        ("direct_invoke", invoke_path(NODE_FN), post),
    ]
    st, body = http_request(port, "POST", invoke_path(NODE_FN), b"{}")
    if st != 200 or json.loads(body) != {"statusCode": 200, "body": "ok"}:
        raise BenchError(f"direct invoke answered {st} {body[:200]!r}")
    for name, path, script in targets:  # warm-up: one instance is busy at a time with -c1
        check(f"warm-up {name}", run_wrk(load, port, path, 1, 1, script))
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n, _, _ in targets}
    for rnd in range(1, load.rounds + 1):
        for name, path, script in targets:
            c0, o0 = tree_cpu_ticks(tg.pid), own_ticks(tg.pid)
            r = run_wrk(load, port, path, load.latency_duration, 1, script)
            r["cpu_s"] = (tree_cpu_ticks(tg.pid) - c0) / lib.CLK_TCK
            r["own_cpu_s"] = (own_ticks(tg.pid) - o0) / lib.CLK_TCK
            check(name, r)
            runs[name].append(r)
            log(f"warm round {rnd} {name}: p50 {r['latency_us']['p50']:.0f} µs, "
                f"p99 {r['latency_us']['p99']:.0f} µs, {r['rps']:,.0f} req/s")

    # boto3 invoke, sequential, for reference: includes boto3's own signing and parsing.
    boto_us: list[float] = []
    for _ in range(boto_calls):
        t0 = time.perf_counter_ns()
        resp = lam.invoke(FunctionName=NODE_FN, Payload=b"{}")
        resp["Payload"].read()
        boto_us.append((time.perf_counter_ns() - t0) / 1000)
        if resp.get("FunctionError"):
            raise BenchError(f"boto3 invoke: function error {resp['FunctionError']}")

    def med(name: str, key: str) -> float:
        return statistics.median(r["latency_us"][key] for r in runs[name])

    out: dict[str, Any] = {"paths": {}, "runs": runs}
    for name, path, _ in targets:
        out["paths"][name] = {"path": path, "p50_us": med(name, "p50"), "p99_us": med(name, "p99"),
                              "mean_us": med(name, "mean"),
                              "rps": statistics.median(r["rps"] for r in runs[name]),
                              "requests": sum(r["requests"] for r in runs[name]),
                              "cpu_us_per_req": sum(r["cpu_s"] for r in runs[name]) * 1e6
                              / max(1, sum(r["requests"] for r in runs[name])),
                              "own_cpu_us_per_req": sum(r["own_cpu_s"] for r in runs[name]) * 1e6
                              / max(1, sum(r["requests"] for r in runs[name]))}
    out["paths"]["boto3_invoke"] = {
        "path": "lambda.invoke (boto3, sequential)", "p50_us": pctl(boto_us, 50),
        "p99_us": pctl(boto_us, 99), "mean_us": statistics.fmean(boto_us) if boto_us else None,
        "rps": None, "requests": len(boto_us), "cpu_us_per_req": None,
        "own_cpu_us_per_req": None}
    p = out["paths"]
    out["overhead_vs_direct_p50_us"] = p["gateway_aws_proxy"]["p50_us"] - p["direct_invoke"]["p50_us"]
    out["overhead_vs_direct_p99_us"] = p["gateway_aws_proxy"]["p99_us"] - p["direct_invoke"]["p99_us"]
    out["function_vs_mock_p50_us"] = p["gateway_aws_proxy"]["p50_us"] - p["gateway_mock"]["p50_us"]
    out["function_vs_mock_p99_us"] = p["gateway_aws_proxy"]["p99_us"] - p["gateway_mock"]["p99_us"]
    out["round_overheads_p50_us"] = [
        a["latency_us"]["p50"] - b["latency_us"]["p50"]
        for a, b in zip(runs["gateway_aws_proxy"], runs["direct_invoke"])]
    return out


# ------------------------------------------------------------------ 2. cold start


def timed_invoke(port: int, name: str, payload: bytes = b"{}") -> tuple[float, int, bytes]:
    """One invoke on a fresh keep-alive-less connection; ms from request to full response."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.connect()
        t0 = time.perf_counter_ns()
        conn.request("POST", invoke_path(name), body=payload,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        ms = (time.perf_counter_ns() - t0) / 1e6
        if r.getheader("X-Amz-Function-Error"):
            raise BenchError(f"invoke {name}: function error: {body[:300]!r}")
        return ms, r.status, body
    finally:
        conn.close()


def bench_cold(port: int, lam: Any, bootstrap: bytes, trials: int,
               node_trials: int) -> dict[str, Any]:
    rust_zip = zip_bytes("bootstrap", bootstrap, executable=True)
    node_zip = zip_bytes("index.js", NODE_HANDLER.encode())
    series: dict[str, list[float]] = {"rust_create": [], "rust_update": [], "rust_warm": [],
                                      "node_create": [], "node_warm": []}

    def fresh(ms: float, st: int, body: bytes, what: str) -> None:
        if st != 200:
            raise BenchError(f"{what}: invoke answered {st} {body[:300]!r}")
        doc = json.loads(body)
        if "invocation" in doc and doc["invocation"] != 1:
            raise BenchError(f"{what}: not a cold start (invocation {doc['invocation']})")

    for i in range(trials):
        name = f"cold-rust-{i}"
        lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE,
                            Handler="bootstrap", Timeout=10, Code={"ZipFile": rust_zip})
        ms, st, body = timed_invoke(port, name)
        fresh(ms, st, body, f"{name} after create")
        series["rust_create"].append(ms)
        warm = [timed_invoke(port, name)[0] for _ in range(5)]
        series["rust_warm"].append(statistics.median(warm))
        # A configuration change bumps the pool's generation: the next invoke starts anew.
        lam.update_function_configuration(FunctionName=name,
                                          Environment={"Variables": {"TRIAL": str(i)}})
        ms, st, body = timed_invoke(port, name)
        fresh(ms, st, body, f"{name} after update_function_configuration")
        series["rust_update"].append(ms)
        lam.delete_function(FunctionName=name)
        log(f"cold trial {i + 1}: rust after create {series['rust_create'][-1]:.1f} ms, "
            f"after update {ms:.1f} ms, warm {series['rust_warm'][-1]:.2f} ms")
    for i in range(node_trials):
        name = f"cold-node-{i}"
        lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE,
                            Handler="index.handler", Timeout=10, Code={"ZipFile": node_zip})
        ms, st, body = timed_invoke(port, name)
        fresh(ms, st, body, name)
        series["node_create"].append(ms)
        series["node_warm"].append(statistics.median(timed_invoke(port, name)[0] for _ in range(5)))
        lam.delete_function(FunctionName=name)
        log(f"cold trial {i + 1}: node after create {ms:.1f} ms")

    def summ(xs: list[float]) -> dict[str, Any] | None:
        if not xs:
            return None
        return {"n": len(xs), "min_ms": min(xs), "median_ms": statistics.median(xs),
                "max_ms": max(xs), "all_ms": [round(x, 2) for x in xs]}

    return {k: summ(v) for k, v in series.items()}


# ------------------------------------------------------------------ 3. serverless-offline


SLS_YML = """service: tollgate-bench
frameworkVersion: "3"
provider:
  name: aws
  runtime: nodejs20.x
  region: us-east-1
  stage: bench
functions:
  hello:
    handler: handler.handler
    events:
      - http:
          method: GET
          path: hello
plugins:
  - serverless-offline
custom:
  serverless-offline:
    host: 127.0.0.1
    httpPort: {http}
    lambdaPort: {lambda_}
    websocketPort: {ws}
    albPort: {alb}
    noPrependStageInUrl: true
"""


def sls_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off",
               SLS_DEPRECATION_DISABLE="*", SLS_TRACKING_DISABLED="1",
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION=REGION)
    return env


def install_sls(dir_: Path, timeout: int) -> str | None:
    """npm install into dir_; returns why it failed, or None."""
    if (dir_ / "node_modules" / "serverless-offline").is_dir() and \
            (dir_ / "node_modules" / "serverless" / "bin" / "serverless.js").is_file():
        return None
    if not shutil.which("npm"):
        return "npm not found"
    dir_.mkdir(parents=True, exist_ok=True)
    if not (dir_ / "package.json").exists():
        (dir_ / "package.json").write_text('{"name": "tollgate-bench-sls", "private": true}\n')
    log(f"npm install serverless@3 serverless-offline@13 in {dir_} (about a minute)")
    try:
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                            "serverless@3", "serverless-offline@13"], cwd=dir_,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"npm install did not finish within {timeout}s"
    if r.returncode != 0:
        return f"npm install failed ({r.returncode}): {(r.stderr or r.stdout)[-800:]}"
    return None


def start_sls(procs: Procs, work: Path, sls_dir: Path, cpu: int) -> tuple[GroupProc, int, str]:
    svc = work / "sls-service"
    svc.mkdir()
    (svc / "handler.js").write_text(NODE_HANDLER.replace("exports.handler", "module.exports.handler"))
    port = free_port()
    (svc / "serverless.yml").write_text(SLS_YML.format(http=port, lambda_=free_port(),
                                                       ws=free_port(), alb=free_port()))
    # serverless resolves plugins from the service directory: link the installed node_modules.
    (svc / "node_modules").symlink_to(sls_dir / "node_modules")
    cli = sls_dir / "node_modules" / "serverless" / "bin" / "serverless.js"
    node = shutil.which("node") or "node"
    proc = GroupProc(procs, "serverless-offline",
                     [node, str(cli), "offline", "start", "--httpPort", str(port),
                      "--noPrependStageInUrl"], cpu, work / "serverless-offline.log",
                     env=sls_env(), cwd=svc)
    lib.wait_for(proc, port, "/hello", lambda s: s == 200, 90)
    st, body = lib.http_get(port, "/hello", timeout=30)
    if st != 200 or body != b"ok":
        raise BenchError(f"serverless-offline: GET /hello answered {st} {body[:200]!r}")
    version = "serverless-offline " + json.loads(
        (sls_dir / "node_modules" / "serverless-offline" / "package.json").read_text())["version"]
    version += ", serverless " + json.loads(
        (sls_dir / "node_modules" / "serverless" / "package.json").read_text())["version"]
    return proc, port, version


def bench_throughput(load: Load, systems: dict[str, tuple[Proc, int, str]]) -> dict[str, Any]:
    for name, (proc, port, path) in systems.items():
        log(f"throughput warm-up {name} {load.warmup}s (-c{load.connections})")
        run_wrk(load, port, path, load.warmup, load.connections, lib.LUA)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in systems}
    for rnd in range(1, load.rounds + 1):
        for name, (proc, port, path) in systems.items():
            c0, o0 = tree_cpu_ticks(proc.pid), own_ticks(proc.pid)
            r = run_wrk(load, port, path, load.duration, load.connections, lib.LUA)
            r["cpu_s"] = (tree_cpu_ticks(proc.pid) - c0) / lib.CLK_TCK
            r["own_cpu_s"] = (own_ticks(proc.pid) - o0) / lib.CLK_TCK
            r["rss_mb"] = tree_rss_kb(proc.pid) / 1024
            r["processes"] = 1 + len(descendants(proc.pid))
            runs[name].append(r)
            log(f"throughput round {rnd} {name}: {r['rps']:,.0f} req/s, "
                f"p50 {r['latency_us']['p50'] / 1000:.2f} ms, p99 {r['latency_us']['p99'] / 1000:.2f} ms"
                + (f"  BROKEN: {lib.broken_reason(r)}" if lib.broken_reason(r) else ""))
            if not proc.alive():
                raise BenchError(f"{name} exited during the run:\n{proc.log_tail()}")
    out: dict[str, Any] = {"systems": {}, "runs": runs}
    for name, rs in runs.items():
        reqs = sum(r["requests"] for r in rs)
        secs = sum(r["duration_us"] for r in rs) / 1e6
        cpu = sum(r["cpu_s"] for r in rs)
        out["systems"][name] = {
            "rps": reqs / secs if secs else 0.0,
            "rps_per_round": [round(r["rps"], 1) for r in rs],
            "p50_us": statistics.median(r["latency_us"]["p50"] for r in rs),
            "p99_us": statistics.median(r["latency_us"]["p99"] for r in rs),
            "cpu_us_per_req": cpu * 1e6 / reqs if reqs else None,
            "own_cpu_us_per_req": sum(r["own_cpu_s"] for r in rs) * 1e6 / reqs if reqs else None,
            "cpu_pct": cpu / secs * 100 if secs else None,
            "rss_mb": max(r["rss_mb"] for r in rs),
            "processes": max(r["processes"] for r in rs),
            "requests": reqs,
            "errors": {k: sum(r["errors"][k] for r in rs) for k in rs[0]["errors"]},
            "broken": next((lib.broken_reason(r) for r in rs if lib.broken_reason(r)), None),
        }
    s = out["systems"]
    if "tollgate" in s and "serverless-offline" in s and s["serverless-offline"]["rps"]:
        out["ratio_rps"] = s["tollgate"]["rps"] / s["serverless-offline"]["rps"]
    return out


# ------------------------------------------------------------------ report


def render(rep: dict[str, Any]) -> str:
    fmt, table = lib.fmt, lib.table
    out: list[str] = []
    w = rep.get("warm")
    if w:
        out += ["1. Warm invoke, single requests (wrk -t1 -c1; median of rounds)", ""]
        rows = []
        labels = {"gateway_aws_proxy": "gateway, AWS_PROXY -> node fn",
                  "gateway_mock": "gateway, MOCK (same stage)",
                  "direct_invoke": "direct invoke (POST .../invocations)",
                  "boto3_invoke": "boto3 lambda.invoke (sequential)"}
        for k, v in w["paths"].items():
            rows.append([labels.get(k, k), fmt(v["p50_us"], ".0f"), fmt(v["p99_us"], ".0f"),
                         fmt(v["rps"], ",.0f"), fmt(v["cpu_us_per_req"], ",.0f"),
                         fmt(v["own_cpu_us_per_req"], ",.0f"), str(v["requests"])])
        out.append(table(["path", "p50 µs", "p99 µs", "req/s", "CPU µs/req", "of which tollgate",
                          "requests"], rows, {1, 2, 3, 4, 5, 6}))
        out += ["",
                f"gateway overhead = AWS_PROXY - direct invoke: p50 {w['overhead_vs_direct_p50_us']:+.0f} µs, "
                f"p99 {w['overhead_vs_direct_p99_us']:+.0f} µs (per round p50: "
                + ", ".join(f"{x:+.0f}" for x in w["round_overheads_p50_us"])
                + f"; goal p50 < {GOAL_OVERHEAD_P50_US} µs)",
                f"function path = AWS_PROXY - MOCK: p50 {w['function_vs_mock_p50_us']:+.0f} µs, "
                f"p99 {w['function_vs_mock_p99_us']:+.0f} µs", ""]
    c = rep.get("cold")
    if c:
        out += ["2. Cold start to first response (client-side time of the first invoke)", ""]
        labels = {"rust_create": "provided.al2023 (rust-fn), first invoke after create_function",
                  "rust_update": "provided.al2023 (rust-fn), first invoke after update_function_configuration",
                  "rust_warm": "provided.al2023 (rust-fn), warm invoke (median of 5)",
                  "node_create": "nodejs20.x, first invoke after create_function",
                  "node_warm": "nodejs20.x, warm invoke (median of 5)"}
        rows = [[labels[k], str(v["n"]), fmt(v["min_ms"], ".1f"), fmt(v["median_ms"], ".1f"),
                 fmt(v["max_ms"], ".1f")] for k, v in c.items() if v]
        out.append(table(["what", "trials", "min ms", "median ms", "max ms"], rows, {1, 2, 3, 4}))
        out += ["", f"goal: cold start < {GOAL_COLD_MS} ms", ""]
    t = rep.get("throughput")
    if t:
        out += [f"3. Throughput, same Node handler (wrk -t1 -c{rep['meta']['load']['connections']} "
                f"-d{rep['meta']['load']['duration']}s, {rep['meta']['load']['rounds']} interleaved round(s))", ""]
        rows = []
        for k, v in t["systems"].items():
            rows.append([k + (" (BROKEN)" if v["broken"] else ""), fmt(v["rps"], ",.0f"),
                         fmt(v["p50_us"] / 1000, ".2f"), fmt(v["p99_us"] / 1000, ".2f"),
                         fmt(v["cpu_us_per_req"], ",.0f"), fmt(v["own_cpu_us_per_req"], ",.0f"),
                         fmt(v["cpu_pct"], ".0f"), fmt(v["rss_mb"], ".0f"), str(v["processes"])])
        out.append(table(["system", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "of which main proc",
                          "CPU %", "RSS MB", "procs"], rows, {1, 2, 3, 4, 5, 6, 7, 8}))
        if "ratio_rps" in t:
            out += ["", f"tollgate / serverless-offline req/s: {t['ratio_rps']:.1f}x "
                        f"(goal >= {GOAL_THROUGHPUT_RATIO}x)"]
        out.append("")
    if rep.get("skipped"):
        out += ["Skipped:", *[f"- {s}" for s in rep["skipped"]], ""]
    if rep.get("broken"):
        out += ["BROKEN:", *[f"- {s}" for s in rep["broken"]], ""]
    return "\n".join(out)


def meta(args: argparse.Namespace, load: Load) -> dict[str, Any]:
    def cmd(argv: list[str]) -> str:
        try:
            r = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=10)
            return (r.stdout + r.stderr).strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"

    cpu_model = next((ln.split(":", 1)[1].strip() for ln in
                      Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("model name")), "?")
    dirty = cmd(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "mode": "smoke" if args.smoke else "full",
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "git": cmd(["git", "rev-parse", "--short", "HEAD"]) + (" + uncommitted changes" if dirty else ""),
        "tollgate_bin": os.environ.get("TOLLGATE_BIN"),
        "node": cmd(["node", "--version"]),
        "wrk": cmd(["wrk", "-v"]).splitlines()[0].split(" [")[0],
        "cpu_model": cpu_model,
        "cpus": os.cpu_count(),
        "kernel": os.uname().release,
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "load": load.__dict__,
    }


def markdown(rep: dict[str, Any], rendered: str) -> str:
    m = rep["meta"]
    lines = [
        f"# Tollgate functions benchmark: {m['mode']} run, {m['started']}", "",
        f"- tollgate: `{m['tollgate_bin']}` (git {m['git']})",
        f"- node {m['node']}, {m['wrk']}" + (f", {rep['sls_version']}" if rep.get("sls_version") else ""),
        f"- {m['cpu_model']}, {m['cpus']} CPUs, kernel {m['kernel']}, load average at start {m['loadavg']}",
        f"- system under test (Tollgate and its function instances / serverless-offline) on CPU "
        f"{m['load']['proxy_cpu']}; wrk and the Python client on CPU {m['load']['load_cpu']}",
        "", "```", rendered.rstrip(), "```", "",
        "Absolute figures on a shared 2-core machine are noisy; the runs are interleaved so that "
        "the differences and ratios are fair.", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true",
                    help="short run for CI; fails only when something breaks")
    ap.add_argument("--parts", default="warm,cold,throughput",
                    help="comma-separated, from warm,cold,throughput (default: all)")
    ap.add_argument("--duration", type=int, help="seconds per throughput run (10; smoke 2)")
    ap.add_argument("--latency-duration", type=int, help="seconds per -c1 latency run (5; smoke 1)")
    ap.add_argument("--warmup", type=int, help="seconds of throughput warm-up (3; smoke 1)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (3; smoke 1)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections for throughput (32)")
    ap.add_argument("--trials", type=int, help="cold-start trials (10; smoke 2)")
    ap.add_argument("--bootstrap", help="the rust-fn binary (default target/fixtures/release/...)")
    ap.add_argument("--sls-dir", help="an existing npm install of serverless@3 and "
                                      "serverless-offline@13 (default: npm install into a temp dir)")
    ap.add_argument("--no-sls", action="store_true", help="skip serverless-offline")
    ap.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory")
    args = ap.parse_args()

    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not parts or parts - {"warm", "cold", "throughput"}:
        ap.error("--parts takes a comma-separated list of warm, cold, throughput")
    if not os.environ.get("TOLLGATE_BIN"):
        ap.error("TOLLGATE_BIN is not set (run bench/functions.sh, which builds it)")
    cpus = sorted(os.sched_getaffinity(0))
    load = Load(
        duration=args.duration or (2 if args.smoke else 10),
        warmup=args.warmup if args.warmup is not None else (1 if args.smoke else 3),
        rounds=args.rounds or (1 if args.smoke else 3),
        connections=args.connections,
        latency_duration=args.latency_duration or (1 if args.smoke else 5),
        proxy_cpu=cpus[0],
        load_cpu=cpus[1] if len(cpus) > 1 else cpus[0],
    )
    trials = args.trials or (2 if args.smoke else 10)
    bootstrap = Path(args.bootstrap or REPO / "target" / "fixtures" / "release" /
                     "tollgate-fixture-rust-fn")

    own_work = "BENCH_WORK" not in os.environ
    work = Path(os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="tollgate-fnbench."))
    procs = Procs(work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    rep: dict[str, Any] = {"meta": meta(args, load), "skipped": [], "broken": []}

    def broken(what: str, e: Exception) -> None:
        rep["broken"].append(f"{what}: {e}")
        log(f"{what} BROKEN: {e}")

    try:
        # One Tollgate for warm and throughput (same stage), another for cold starts so that the
        # Node instances kept warm for the throughput runs do not share its process budget.
        tg = port = stage = lam = None
        if parts & {"warm", "throughput"}:
            try:
                tg, port = start_tollgate(procs, work, "stage", load.proxy_cpu)
                apigw, lam = clients(port)
                stage = setup_stage(apigw, lam)
                wait_ok(tg, port, stage.mock_path)
                wait_ok(tg, port, stage.proxy_path)
                log(f"tollgate stage ready: http://127.0.0.1:{port}{stage.proxy_path}")
            except Exception as e:  # noqa: BLE001 - botocore errors carry the server's message
                broken("tollgate stage setup", e)
                tg = None
        if "warm" in parts and tg:
            try:
                rep["warm"] = bench_warm(load, work, tg, port, stage, lam, 50 if args.smoke else 300)
            except Exception as e:  # noqa: BLE001
                broken("warm invoke", e)
        if "cold" in parts:
            try:
                if not bootstrap.is_file():
                    raise BenchError(f"{bootstrap} is missing (functions.sh builds it)")
                ctg, cport = start_tollgate(procs, work, "cold", load.proxy_cpu)
                _, clam = clients(cport)
                rep["cold"] = bench_cold(cport, clam, bootstrap.read_bytes(), trials,
                                         max(2, trials // 2))
                ctg.stop()
                procs.live.remove(ctg)
            except Exception as e:  # noqa: BLE001
                broken("cold start", e)
        if "throughput" in parts and tg:
            systems: dict[str, tuple[Proc, int, str]] = {"tollgate": (tg, port, stage.proxy_path)}
            if args.no_sls:
                rep["skipped"].append("serverless-offline: --no-sls")
            else:
                sls_dir = Path(args.sls_dir) if args.sls_dir else work / "sls"
                why = install_sls(sls_dir, 300)
                if why:
                    # npm or the registry being unavailable is not a broken benchmark.
                    rep["skipped"].append(f"serverless-offline: {why}")
                    log(f"skipping serverless-offline: {why}")
                else:
                    try:
                        sproc, sport, rep["sls_version"] = start_sls(procs, work, sls_dir,
                                                                     load.proxy_cpu)
                        systems["serverless-offline"] = (sproc, sport, "/hello")
                        log(f"serverless-offline ready: http://127.0.0.1:{sport}/hello")
                    except Exception as e:  # noqa: BLE001
                        broken("serverless-offline start", e)
            try:
                rep["throughput"] = bench_throughput(load, systems)
                for name, v in rep["throughput"]["systems"].items():
                    if v["broken"]:
                        broken(f"throughput {name}", BenchError(v["broken"]))
            except Exception as e:  # noqa: BLE001
                broken("throughput", e)
    finally:
        procs.stop_all()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)

    rendered = render(rep)
    print()
    print(rendered)
    lib.save_results(Path(args.out), "functions-", "-smoke" if args.smoke else "", rep,
                    markdown(rep, rendered))
    if rep["broken"]:
        print("\nFAILED: something is broken (see BROKEN above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
