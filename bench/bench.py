#!/usr/bin/env python3
"""Tollgate vs nginx load benchmark; started by bench/run.sh, which installs the tools and builds.

For each scenario it starts a fresh Tollgate and a fresh reference nginx, both pinned to one core,
in front of one shared nginx backend, checks that both answer correctly, warms them up, then runs
wrk against them in turn (tollgate, nginx, tollgate, nginx, ...) and reads each proxy's CPU time
and peak RSS from /proc. Results go to the terminal and to bench/results/ as JSON and Markdown.

Adding a scenario: append a Scenario to SCENARIOS. It says how to configure Tollgate (through
boto3) and what nginx server block is its reference, and each returns the Target (path and
headers) that wrk requests.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
LUA = BENCH_DIR / "report.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROXIES = ("tollgate", "nginx")

HELLO_BODY = b"hello"
# 1024 bytes, letters only so that it can sit inside an nginx string as is.
ONE_K_BODY = (b"abcdefghijklmnopqrstuvwxyz" * 40)[:1024]


class BenchError(Exception):
    """A scenario is broken (a proxy does not start or answers wrongly): the run fails."""


def log(msg: str) -> None:
    print(f"-- {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ scenarios


@dataclass
class Target:
    """What wrk requests from a proxy: a path on it and extra request headers."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Backend:
    port: int


@dataclass
class Scenario:
    name: str
    description: str
    # Configures a fresh Tollgate through its management API (a boto3 apigateway client).
    tollgate: Callable[[Any, Backend], Target]
    # The reference nginx: the inside of its server {} block (listen is added) and any http-level
    # configuration before it (upstreams), and the target.
    nginx: Callable[[Backend], tuple[str, str, Target]]
    expect_status: int = 200
    expect_body: bytes | None = None


def lift_account_throttle(apigw: Any) -> None:
    """The account throttle (10,000 requests/s by default, as on AWS) would otherwise answer
    429 to the load generator."""
    apigw.update_account(patchOperations=[
        {"op": "replace", "path": "/throttle/rateLimit", "value": "100000000"},
        {"op": "replace", "path": "/throttle/burstLimit", "value": "100000000"},
    ])


AUTHORIZER_SOURCE = '''
def handler(event, context):
    return {"principalId": "bench", "context": {"tier": "gold"},
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}]}}
'''


def guard_with_key_and_authorizer(apigw: Any, api_id: str, resource_id: str) -> dict[str, str]:
    """Puts the method behind a cached Lambda TOKEN authorizer and an API key in a usage plan
    with a (never reached) throttle; returns the headers a client sends."""
    import io
    import zipfile

    import boto3

    lam = boto3.client("lambda", endpoint_url=apigw.meta.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", AUTHORIZER_SOURCE)
    fn = lam.create_function(FunctionName="bench-authorizer", Runtime="python3.11",
                             Role="arn:aws:iam::000000000000:role/bench", Handler="app.handler",
                             Code={"ZipFile": code.getvalue()})
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"
    authorizer = apigw.create_authorizer(restApiId=api_id, name="bench", type="TOKEN", authorizerUri=uri,
                                         identitySource="method.request.header.Authorization",
                                         authorizerResultTtlInSeconds=3600)
    apigw.update_method(restApiId=api_id, resourceId=resource_id, httpMethod="ANY", patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
        {"op": "replace", "path": "/authorizerId", "value": authorizer["id"]},
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
    ])
    key = apigw.create_api_key(name="bench", enabled=True)
    return {"x-api-key": key["value"], "Authorization": "bench-token"}


def attach_usage_plan(apigw: Any, api_id: str, key_value: str) -> None:
    key = next(k for k in apigw.get_api_keys(includeValues=True)["items"] if k["value"] == key_value)
    plan = apigw.create_usage_plan(name="bench", apiStages=[{"apiId": api_id, "stage": "bench"}],
                                   throttle={"rateLimit": 100000000.0, "burstLimit": 100000000})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")


# An access-log format with a dozen $context variables, for the monitored scenario.
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"userAgent":"$context.identity.userAgent","requestTime":"$context.requestTime",'
    '"httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath",'
    '"path":"$context.path","status":"$context.status","protocol":"$context.protocol",'
    '"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency",'
    '"integrationLatency":"$context.integrationLatency"}'
)


def tollgate_http_proxy(backend_path: str, guarded: bool = False,
                        monitored: bool = False) -> Callable[[Any, Backend], Target]:
    """A REST API with ANY /{proxy+} -> HTTP_PROXY http://backend/{proxy}, deployed to 'bench';
    `guarded`: behind an API key, a usage plan and a cached Lambda authorizer; `monitored`:
    detailed metrics and an access log (to a file in the data dir) on the stage."""

    def setup(apigw: Any, backend: Backend) -> Target:
        lift_account_throttle(apigw)
        api = apigw.create_rest_api(name="bench-http-proxy")
        api_id = api["id"]
        res = apigw.create_resource(
            restApiId=api_id, parentId=api["rootResourceId"], pathPart="{proxy+}"
        )
        apigw.put_method(
            restApiId=api_id,
            resourceId=res["id"],
            httpMethod="ANY",
            authorizationType="NONE",
            requestParameters={"method.request.path.proxy": True},
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=res["id"],
            httpMethod="ANY",
            type="HTTP_PROXY",
            integrationHttpMethod="ANY",
            uri=f"http://127.0.0.1:{backend.port}/{{proxy}}",
            requestParameters={"integration.request.path.proxy": "method.request.path.proxy"},
        )
        headers = guard_with_key_and_authorizer(apigw, api_id, res["id"]) if guarded else {}
        apigw.create_deployment(restApiId=api_id, stageName="bench")
        if guarded:
            attach_usage_plan(apigw, api_id, headers["x-api-key"])
        if monitored:
            # A `*/*` method setting comes with AWS's default stage throttle (10,000 req/s,
            # burst 5,000): lift it, as the account's, so that both scenarios do the same work.
            apigw.update_stage(restApiId=api_id, stageName="bench", patchOperations=[
                {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100000000"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "100000000"},
                {"op": "replace", "path": "/accessLogSettings/destinationArn",
                 "value": "arn:aws:logs:us-east-1:000000000000:log-group:bench"},
                {"op": "replace", "path": "/accessLogSettings/format", "value": ACCESS_LOG_FORMAT},
            ])
        return Target(f"/restapis/{api_id}/bench/_user_request_{backend_path}", headers)

    return setup


def tollgate_http_api_proxy(backend_path: str) -> Callable[[Any, Backend], Target]:
    """An HTTP API (apigatewayv2) with ANY /{proxy+} -> HTTP_PROXY http://backend/{proxy} and an
    auto-deployed $default stage, called path style without a stage segment."""

    def setup(apigw: Any, backend: Backend) -> Target:
        import boto3

        v2 = boto3.client(
            "apigatewayv2",
            endpoint_url=apigw.meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        api_id = v2.create_api(Name="bench-http-api", ProtocolType="HTTP")["ApiId"]
        integration = v2.create_integration(
            ApiId=api_id,
            IntegrationType="HTTP_PROXY",
            IntegrationMethod="ANY",
            IntegrationUri=f"http://127.0.0.1:{backend.port}/{{proxy}}",
            PayloadFormatVersion="1.0",
        )
        v2.create_route(
            ApiId=api_id,
            RouteKey="ANY /{proxy+}",
            Target=f"integrations/{integration['IntegrationId']}",
        )
        v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        return Target(f"/_aws/execute-api/{api_id}{backend_path}")

    return setup


def nginx_reverse_proxy(backend_path: str) -> Callable[[Backend], tuple[str, str, Target]]:
    """nginx as a plain reverse proxy with a keep-alive upstream pool: /bench/X -> backend /X."""

    def conf(backend: Backend) -> tuple[str, str, Target]:
        http = f"""
    upstream backend {{
        server 127.0.0.1:{backend.port};
        keepalive 64;
        keepalive_requests 1000000;
    }}"""
        server = """
        location /bench/ {
            proxy_pass http://backend/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }"""
        return http, server, Target(f"/bench{backend_path}")

    return conf


SCENARIOS: list[Scenario] = [
    Scenario(
        name="http_proxy_small",
        description="GET through an HTTP_PROXY {proxy+} route to a backend answering 'hello'",
        tollgate=tollgate_http_proxy("/hello"),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=HELLO_BODY,
    ),
    Scenario(
        name="http_proxy_guarded",
        description="http_proxy_small behind an API key, a usage plan throttle and a cached Lambda "
                    "TOKEN authorizer (nginx: the same plain proxy)",
        tollgate=tollgate_http_proxy("/hello", guarded=True),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=HELLO_BODY,
    ),
    Scenario(
        name="http_proxy_monitored",
        description="http_proxy_small with detailed metrics and a 12-variable access log written "
                    "to a file (nginx: the same plain proxy, no access log)",
        tollgate=tollgate_http_proxy("/hello", monitored=True),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=HELLO_BODY,
    ),
    Scenario(
        name="http_proxy_1k",
        description="GET through an HTTP_PROXY {proxy+} route to a backend answering 1 KiB",
        tollgate=tollgate_http_proxy("/1k"),
        nginx=nginx_reverse_proxy("/1k"),
        expect_body=ONE_K_BODY,
    ),
    Scenario(
        name="http_api_proxy_small",
        description="GET through an HTTP API's ANY /{proxy+} HTTP_PROXY route ($default stage) "
        "to a backend answering 'hello'",
        tollgate=tollgate_http_api_proxy("/hello"),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=HELLO_BODY,
    ),
]


# ------------------------------------------------------------------ processes


class Procs:
    """Every process this run starts, recorded in $BENCH_WORK/pids for run.sh's safety net."""

    def __init__(self, work: Path):
        self.pidfile = work / "pids"
        self.live: list[Proc] = []

    def add(self, proc: Proc) -> None:
        self.live.append(proc)
        with open(self.pidfile, "a") as f:
            f.write(f"{proc.popen.pid}\n")

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
                 env: dict[str, str] | None = None):
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
        )
        procs.add(self)

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
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

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


def http_get(port: int, path: str, headers: dict[str, str] | None = None,
             timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


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


# ------------------------------------------------------------------ nginx


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_has_module(name: str) -> bool:
    out = subprocess.run([NGINX, "-V"], capture_output=True, text=True)
    return name in out.stderr + out.stdout


def nginx_conf(prefix: Path, http_extra: str, listen_port: int, server_body: str) -> str:
    return f"""# generated by bench/bench.py
worker_processes 1;
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    server_tokens off;
    default_type text/plain;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
{http_extra}

    server {{
        listen 127.0.0.1:{listen_port} backlog=4096;
{server_body}
    }}
}}
"""


def start_nginx(procs: Procs, work: Path, name: str, cpu: int, http_extra: str,
                server_body: str) -> tuple[Proc, int]:
    prefix = work / name
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    # When run as root the worker runs as nginx's unprivileged user: let it reach its files.
    for d in (work, prefix, prefix / "tmp"):
        d.chmod(0o755)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, http_extra, port, server_body))
    test = subprocess.run([NGINX, "-t", "-q", "-p", str(prefix), "-e", str(prefix / "error.log"),
                           "-c", str(conf)], capture_output=True, text=True)
    if test.returncode != 0:
        raise BenchError(f"{name}: nginx -t rejected the config:\n{test.stderr}")
    proc = Proc(procs, name, [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"),
                              "-c", str(conf)], cpu, prefix / "stdout.log")
    return proc, port


BACKEND_STATUS = "/_bench_status"


def start_backend(procs: Procs, work: Path, cpu: int, with_status: bool) -> tuple[Proc, Backend]:
    status = (f"""
        location = {BACKEND_STATUS} {{
            stub_status;
        }}""" if with_status else "")
    body = f"""
        location = /hello {{
            return 200 "{HELLO_BODY.decode()}";
        }}
        location = /1k {{
            return 200 "{ONE_K_BODY.decode()}";
        }}{status}"""
    proc, port = start_nginx(procs, work, "backend", cpu, "", body)
    wait_for(proc, port, "/hello", lambda s: s == 200, 15)
    for path, want in (("/hello", HELLO_BODY), ("/1k", ONE_K_BODY)):
        st, got = http_get(port, path)
        if st != 200 or got != want:
            raise BenchError(f"backend: GET {path} answered {st} {got[:100]!r}")
    return proc, Backend(port)


def backend_accepts(backend: Backend) -> int | None:
    """Connections the backend accepted so far (stub_status), this query's own included."""
    try:
        st, body = http_get(backend.port, BACKEND_STATUS)
    except OSError:
        return None
    m = re.search(rb"\n\s*(\d+)\s+(\d+)\s+(\d+)", body)
    return int(m.group(1)) if st == 200 and m else None


# ------------------------------------------------------------------ Tollgate


def start_tollgate(procs: Procs, work: Path, scenario: Scenario, backend: Backend,
                   cpu: int) -> tuple[Proc, int, Target]:
    import boto3
    from botocore.config import Config

    data = work / f"tollgate-{scenario.name}"
    data.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env["TOLLGATE_LOG"] = "warn"
    binary = os.environ["TOLLGATE_BIN"]
    proc = Proc(procs, "tollgate",
                [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data)],
                cpu, work / f"tollgate-{scenario.name}.log", env=env)
    wait_for(proc, port, "/restapis", lambda s: s == 200, 30)
    apigw = boto3.client(
        "apigateway",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60),
    )
    try:
        target = scenario.tollgate(apigw, backend)
    except Exception as e:  # botocore errors carry the server's message
        raise BenchError(f"tollgate: configuring {scenario.name} failed: {e}") from e
    return proc, port, target


# ------------------------------------------------------------------ wrk


@dataclass
class Settings:
    duration: int
    warmup: int
    rounds: int
    connections: int
    threads: int
    proxy_cpu: int
    load_cpu: int


def run_wrk(s: Settings, port: int, target: Target, duration: int) -> dict[str, Any]:
    argv = ["taskset", "-c", str(s.load_cpu), "wrk", f"-t{s.threads}", f"-c{s.connections}",
            f"-d{duration}s", "--latency", "--timeout", "5s", "-s", str(LUA)]
    for k, v in target.headers.items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(f"http://127.0.0.1:{port}{target.path}")
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"wrk did not finish: {' '.join(argv)}") from e
    m = re.search(r"^BENCH_RESULT (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    return json.loads(m.group(1))


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


@dataclass
class Measured:
    wrk: dict[str, Any]
    cpu_s: float
    backend_cpu_s: float
    backend_new_conns: int | None

    @property
    def rps(self) -> float:
        return self.wrk["requests"] / (self.wrk["duration_us"] / 1e6)


def measure(s: Settings, proxy: Proc, port: int, target: Target, backend_proc: Proc,
            backend: Backend, with_status: bool) -> Measured:
    acc0 = backend_accepts(backend) if with_status else None
    cpu0, bcpu0 = proxy.cpu_ticks(), backend_proc.cpu_ticks()
    r = run_wrk(s, port, target, s.duration)
    cpu1, bcpu1 = proxy.cpu_ticks(), backend_proc.cpu_ticks()
    acc1 = backend_accepts(backend) if with_status else None
    new_conns = acc1 - acc0 - 1 if acc0 is not None and acc1 is not None else None
    return Measured(r, (cpu1 - cpu0) / CLK_TCK, (bcpu1 - bcpu0) / CLK_TCK, new_conns)


# ------------------------------------------------------------------ one scenario


@dataclass
class ProxyResult:
    proxy: str
    runs: list[Measured] = field(default_factory=list)
    peak_rss_kb: int | None = None
    error: str | None = None

    def summary(self) -> dict[str, Any] | None:
        if not self.runs:
            return None
        reqs = sum(m.wrk["requests"] for m in self.runs)
        secs = sum(m.wrk["duration_us"] for m in self.runs) / 1e6
        cpu = sum(m.cpu_s for m in self.runs)
        bcpu = sum(m.backend_cpu_s for m in self.runs)
        conns = [m.backend_new_conns for m in self.runs]

        def lat(key: str) -> float:
            return statistics.median(m.wrk["latency_us"][key] for m in self.runs)

        errs = {k: sum(m.wrk["errors"][k] for m in self.runs) for k in self.runs[0].wrk["errors"]}
        return {
            "requests": reqs,
            "rps": reqs / secs,
            "rps_per_round": [round(m.rps, 1) for m in self.runs],
            "p50_us": lat("p50"),
            "p99_us": lat("p99"),
            "p999_us": lat("p999"),
            "cpu_us_per_req": cpu * 1e6 / reqs if reqs else None,
            "cpu_pct": cpu / secs * 100,
            "cpu_s": cpu,
            "backend_cpu_us_per_req": bcpu * 1e6 / reqs if reqs else None,
            "backend_new_conns": None if None in conns else sum(conns),  # type: ignore[arg-type]
            "peak_rss_mb": self.peak_rss_kb / 1024 if self.peak_rss_kb is not None else None,
            "errors": errs,
        }


def run_scenario(sc: Scenario, s: Settings, proxies: list[str], work: Path, procs: Procs,
                 backend_proc: Proc, backend: Backend, with_status: bool) -> list[ProxyResult]:
    results = {p: ProxyResult(p) for p in proxies}
    started: dict[str, tuple[Proc, int, Target]] = {}
    baseline = list(procs.live)

    for p in proxies:
        try:
            if p == "tollgate":
                proc, port, target = start_tollgate(procs, work, sc, backend, s.proxy_cpu)
                # The data plane learns of deployments asynchronously: wait for the route.
                wait_for(proc, port, target.path, lambda st: st == sc.expect_status, 20,
                         target.headers)
            else:
                http_extra, server_body, target = sc.nginx(backend)
                shutil.rmtree(work / "nginx-proxy", ignore_errors=True)
                proc, port = start_nginx(procs, work, "nginx-proxy", s.proxy_cpu, http_extra,
                                         server_body)
                wait_for(proc, port, target.path, lambda st: st == sc.expect_status, 15,
                         target.headers)
            started[p] = (proc, port, target)
            st, body = http_get(port, target.path, target.headers)
            if st != sc.expect_status or (sc.expect_body is not None and body != sc.expect_body):
                raise BenchError(f"{p}: GET {target.path} answered {st} {body[:200]!r}, "
                                 f"expected {sc.expect_status} {(sc.expect_body or b'')[:50]!r}")
            log(f"{sc.name}: {p} ready at http://127.0.0.1:{port}{target.path}")
        except BenchError as e:
            results[p].error = str(e)
            log(f"{sc.name}: {p} BROKEN: {e}")
            # Stop what this proxy's start left running, so that it does not disturb the rest.
            keep = baseline + [v[0] for v in started.values()]
            for proc in [x for x in procs.live if x not in keep]:
                proc.stop()
                procs.live.remove(proc)

    try:
        live = [p for p in proxies if p in started and results[p].error is None]
        if s.warmup:
            for p in live:
                proc, port, target = started[p]
                log(f"{sc.name}: warm-up {p} {s.warmup}s")
                try:
                    run_wrk(s, port, target, s.warmup)
                except BenchError as e:
                    results[p].error = f"warm-up: {e}"
        for rnd in range(1, s.rounds + 1):
            for p in proxies:
                if p not in started or results[p].error:
                    continue
                proc, port, target = started[p]
                try:
                    m = measure(s, proc, port, target, backend_proc, backend, with_status)
                except BenchError as e:
                    results[p].error = str(e)
                    continue
                results[p].runs.append(m)
                reason = broken_reason(m.wrk)
                log(f"{sc.name}: round {rnd} {p}: {m.rps:,.0f} req/s, "
                    f"p99 {m.wrk['latency_us']['p99']:.0f} µs, "
                    f"{m.cpu_s * 1e6 / max(m.wrk['requests'], 1):.1f} CPU µs/req"
                    + (f"  BROKEN: {reason}" if reason else ""))
                if reason:
                    results[p].error = reason
                if not proc.alive():
                    results[p].error = f"{p} exited during the run:\n{proc.log_tail()}"
        for p, (proc, _, _) in started.items():
            if proc.alive():
                results[p].peak_rss_kb = proc.peak_rss_kb()
    finally:
        for proc, _, _ in started.values():
            proc.stop()
            procs.live.remove(proc)
    return [results[p] for p in proxies]


# ------------------------------------------------------------------ report


# The most metrics plus an access log may add to the CPU per request of a plain proxy.
MONITORING_COST_TARGET = 0.10


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


def render(report: dict[str, Any]) -> str:
    rows, ratio_rows = [], []
    for sc in report["scenarios"]:
        by = {}
        for pr in sc["proxies"]:
            sm = pr["summary"]
            by[pr["proxy"]] = sm
            if sm is None:
                rows.append([sc["name"], pr["proxy"], "BROKEN", "-", "-", "-", "-", "-", "-", "-"])
                continue
            rows.append([
                sc["name"], pr["proxy"] + (" (BROKEN)" if pr["error"] else ""),
                fmt(sm["rps"], ",.0f"), fmt(sm["p50_us"], ".0f"), fmt(sm["p99_us"], ".0f"),
                fmt(sm["p999_us"], ".0f"), fmt(sm["cpu_us_per_req"], ".1f"),
                fmt(sm["cpu_pct"], ".0f"), fmt(sm["peak_rss_mb"], ".1f"),
                "-" if sm["backend_new_conns"] is None else str(sm["backend_new_conns"]),
            ])
        t, n = by.get("tollgate"), by.get("nginx")
        if t and n:
            ratio_rows.append([
                sc["name"], ratio(t["rps"], n["rps"]),
                ratio(t["cpu_us_per_req"], n["cpu_us_per_req"]),
                ratio(t["p99_us"], n["p99_us"]), ratio(t["peak_rss_mb"], n["peak_rss_mb"]),
            ])
    out = [table(["scenario", "proxy", "req/s", "p50 µs", "p99 µs", "p99.9 µs", "CPU µs/req",
                  "CPU %", "peak RSS MB", "backend conns"], rows, {2, 3, 4, 5, 6, 7, 8, 9})]
    if ratio_rows:
        out += ["", "tollgate / nginx (req/s: higher is better; the others: lower is better)", "",
                table(["scenario", "req/s", "CPU µs/req", "p99", "peak RSS"], ratio_rows,
                      {1, 2, 3, 4})]
    cost = monitoring_cost(report)
    if cost is not None:
        out += ["", cost]
    return "\n".join(out)


def monitoring_cost(report: dict[str, Any]) -> str | None:
    """What metrics plus an access log add to Tollgate's CPU per request: the monitored
    scenario against the same proxy without them (None when the run lacks either)."""
    cpu = {}
    for sc in report["scenarios"]:
        for pr in sc["proxies"]:
            if pr["proxy"] == "tollgate" and pr["summary"] and not pr["error"]:
                cpu[sc["name"]] = pr["summary"]["cpu_us_per_req"]
    plain, monitored = cpu.get("http_proxy_small"), cpu.get("http_proxy_monitored")
    if not plain or not monitored:
        return None
    extra = monitored / plain - 1
    verdict = "within" if extra < MONITORING_COST_TARGET else "OVER"
    return (f"monitoring cost (metrics + access log): {monitored:.1f} / {plain:.1f} CPU µs/req "
            f"= {monitored / plain:.3f}, {extra * 100:+.1f}% ({verdict} the "
            f"{MONITORING_COST_TARGET * 100:.0f}% target)")


def markdown(report: dict[str, Any], rendered: str) -> str:
    m = report["meta"]
    lines = [
        f"# Tollgate vs nginx: {m['mode']} run, {m['started']}",
        "",
        f"- tollgate: `{m.get('tollgate_bin') or '-'}` (git {m['git']})",
        f"- {m['nginx']}, {m['wrk']}",
        f"- {m['cpu_model']}, {m['cpus']} CPUs, kernel {m['kernel']}, "
        f"load average at start {m['loadavg']}",
        f"- proxy under test pinned to CPU {m['settings']['proxy_cpu']}; backend nginx and wrk "
        f"to CPU {m['settings']['load_cpu']}",
        f"- wrk -t{m['settings']['threads']} -c{m['settings']['connections']} "
        f"-d{m['settings']['duration']}s, {m['settings']['rounds']} interleaved round(s) per "
        f"proxy after a {m['settings']['warmup']}s warm-up",
        "",
        rendered,
        "",
        "Per-round req/s:",
        "",
    ]
    for sc in report["scenarios"]:
        for pr in sc["proxies"]:
            if pr["summary"]:
                lines.append(f"- {sc['name']} {pr['proxy']}: "
                             + ", ".join(f"{r:,.0f}" for r in pr["summary"]["rps_per_round"]))
    errors = [(sc["name"], pr["proxy"], pr["error"]) for sc in report["scenarios"]
              for pr in sc["proxies"] if pr["error"]]
    if errors:
        lines += ["", "Broken:", ""] + [f"- {a} {b}: {c}" for a, b, c in errors]
    lines += ["", "Absolute figures on a shared 2-core machine are noise; compare the ratios.", ""]
    return "\n".join(lines)


def meta(args: argparse.Namespace, s: Settings, proxies: list[str]) -> dict[str, Any]:
    def cmd(argv: list[str]) -> str:
        try:
            r = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=10)
            return (r.stdout + r.stderr).strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"

    cpu_model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    rev = cmd(["git", "rev-parse", "--short", "HEAD"])
    dirty = cmd(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "mode": "smoke" if args.smoke else "full",
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "git": rev + (" + uncommitted changes" if dirty else ""),
        "tollgate_bin": os.environ.get("TOLLGATE_BIN") if "tollgate" in proxies else None,
        "nginx": cmd([NGINX, "-v"]).replace("nginx version: ", ""),
        "wrk": cmd(["wrk", "-v"]).splitlines()[0].split(" [")[0],
        "cpu_model": cpu_model,
        "cpus": os.cpu_count(),
        "kernel": os.uname().release,
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "settings": dataclasses.asdict(s),
    }


# ------------------------------------------------------------------ main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true",
                    help="short run for CI (2 s per run, 1 round); fails only on broken scenarios")
    ap.add_argument("--scenarios", help="comma-separated names (default: all); see --list")
    ap.add_argument("--proxies", default=",".join(PROXIES),
                    help="comma-separated, from: tollgate,nginx (default: both)")
    ap.add_argument("--duration", type=int, help="seconds per measured run (10; smoke 2)")
    ap.add_argument("--warmup", type=int, help="seconds of warm-up per proxy (2; smoke 1)")
    ap.add_argument("--rounds", type=int, help="measured runs per proxy (2; smoke 1)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    ap.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = ap.parse_args()

    if args.list:
        for sc in SCENARIOS:
            print(f"{sc.name:20} {sc.description}")
        return 0

    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    if not proxies or any(p not in PROXIES for p in proxies):
        ap.error(f"--proxies takes a comma-separated list of {', '.join(PROXIES)}")
    if "tollgate" in proxies and not os.environ.get("TOLLGATE_BIN"):
        ap.error("TOLLGATE_BIN is not set (run bench/run.sh, which builds it)")
    scenarios = SCENARIOS
    if args.scenarios:
        names = [n.strip() for n in args.scenarios.split(",")]
        unknown = [n for n in names if n not in {sc.name for sc in SCENARIOS}]
        if unknown:
            ap.error(f"unknown scenario(s) {', '.join(unknown)}; see --list")
        scenarios = [sc for sc in SCENARIOS if sc.name in names]

    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        log("only one CPU available: proxy, backend and wrk share it")
    s = Settings(
        duration=args.duration or (2 if args.smoke else 10),
        warmup=args.warmup if args.warmup is not None else (1 if args.smoke else 2),
        rounds=args.rounds or (1 if args.smoke else 2),
        connections=args.connections,
        threads=1,
        proxy_cpu=cpus[0],
        load_cpu=cpus[1] if len(cpus) > 1 else cpus[0],
    )

    own_work = "BENCH_WORK" not in os.environ
    work = Path(os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="tollgate-bench."))
    procs = Procs(work)
    # run.sh starts this in the background, where SIGINT comes ignored: take both signals here,
    # so that Ctrl-C stops the run at once (the finally below stops what was started) and no
    # report of a half run is written.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    report: dict[str, Any] = {"meta": meta(args, s, proxies), "scenarios": []}
    failed = False
    try:
        with_status = nginx_has_module("http_stub_status_module")
        backend_proc, backend = start_backend(procs, work, s.load_cpu, with_status)
        log(f"backend nginx on 127.0.0.1:{backend.port} (CPU {s.load_cpu})")
        for sc in scenarios:
            res = run_scenario(sc, s, proxies, work, procs, backend_proc, backend, with_status)
            report["scenarios"].append({
                "name": sc.name,
                "description": sc.description,
                "proxies": [{
                    "proxy": r.proxy,
                    "error": r.error,
                    "summary": r.summary(),
                    "runs": [dataclasses.asdict(m) for m in r.runs],
                } for r in res],
            })
            failed |= any(r.error for r in res)
    except BenchError as e:
        log(f"BROKEN: {e}")
        failed = True
    finally:
        procs.stop_all()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)

    rendered = render(report)
    print()
    print(rendered)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = out / f"{stamp}-{report['meta']['mode']}"
    base.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    base.with_suffix(".md").write_text(markdown(report, rendered))
    shutil.copyfile(base.with_suffix(".json"), out / "latest.json")
    shutil.copyfile(base.with_suffix(".md"), out / "latest.md")
    print(f"\nresults: {base}.json, {base}.md")
    print("absolute figures on a shared 2-core machine are noise: compare the ratios")
    if failed:
        print("\nFAILED: a scenario is broken (see BROKEN above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
