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
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from benchlib import (
    BENCH_DIR,
    CLK_TCK,
    LUA,
    REPO,
    BenchError,
    Proc,
    Procs,
    broken_reason,
    fmt,
    free_port,
    http_get,
    log,
    ratio,
    save_results,
    table,
    wait_for,
)

PROXIES = ("tollgate", "nginx")

HELLO_BODY = b"hello"
# 1024 bytes, letters only so that it can sit inside an nginx string as is.
ONE_K_BODY = (b"abcdefghijklmnopqrstuvwxyz" * 40)[:1024]
# 1 MiB, served by the backend from a file.
ONE_M_BODY = (b"abcdefghijklmnopqrstuvwxyz" * 40330)[: 1024 * 1024]
# Routes in the large API of the routes_10k scenario.
MANY_ROUTES = 10_000
# The fixed-rate round: wrk paced by this script, on these scenarios unless --rate-all.
RATE_LUA = BENCH_DIR / "rate.lua"
RATE_SCENARIOS = ("http_proxy_small",)
# Issue 10: at half of nginx's peak rate, Tollgate's p99 at most nginx's plus 0.3 ms.
RATE_P99_SLACK_US = 300.0
# The achieved rate further than this from the target is reported as off target.
RATE_TOLERANCE = 0.03
# More than this share of the requests sent late (see rate.lua) is pointed out.
RATE_LATE_NOTE = 0.01


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
    # What the reference nginx answers, when it is not expect_body (it maps no templates).
    nginx_expect_body: bytes | None = None
    # Another scenario this one is compared with, Tollgate to Tollgate (CPU µs/req), and the
    # target for that ratio: e.g. 10,000 routes within 5% of a single route.
    baseline: str | None = None
    baseline_target: float | None = None


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


def boto_client(apigw: Any, service: str) -> Any:
    """Another service's client on the same Tollgate endpoint."""
    import boto3

    return boto3.client(service, endpoint_url=apigw.meta.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def rest_stage_path(api_id: str, path: str) -> str:
    return f"/restapis/{api_id}/bench/_user_request_{path}"


def tollgate_mock() -> Callable[[Any, Backend], Target]:
    """GET /hello -> MOCK: status 200 from the request template, the body 'hello' from the
    integration response's template."""

    def setup(apigw: Any, backend: Backend) -> Target:
        lift_account_throttle(apigw)
        api = apigw.create_rest_api(name="bench-mock")
        api_id = api["id"]
        res = apigw.create_resource(restApiId=api_id, parentId=api["rootResourceId"],
                                    pathPart="hello")
        key = dict(restApiId=api_id, resourceId=res["id"], httpMethod="GET")
        apigw.put_method(**key, authorizationType="NONE")
        apigw.put_integration(**key, type="MOCK",
                              requestTemplates={"application/json": '{"statusCode": 200}'})
        apigw.put_method_response(**key, statusCode="200")
        apigw.put_integration_response(**key, statusCode="200",
                                       responseTemplates={"application/json": "hello"})
        apigw.create_deployment(restApiId=api_id, stageName="bench")
        return Target(rest_stage_path(api_id, "/hello"))

    return setup


def nginx_direct(body: bytes) -> Callable[[Backend], tuple[str, str, Target]]:
    """nginx answering by itself (the reference for MOCK)."""

    def conf(backend: Backend) -> tuple[str, str, Target]:
        server = f"""
        location = /bench/hello {{
            return 200 "{body.decode()}";
        }}"""
        return "", server, Target("/bench/hello")

    return conf


# The request template turns the GET into a JSON document POSTed to the backend; the response
# template wraps the backend's answer.
MAPPING_REQUEST_TEMPLATE = (
    '{"resource": "$context.resourcePath", "method": "$context.httpMethod", '
    '"agent": "$util.escapeJavaScript($input.params().header.get(\'User-Agent\'))", '
    '"query": "$input.params(\'q\')"}'
)
MAPPING_RESPONSE_TEMPLATE = '{"greeting": "$input.body"}'
MAPPED_BODY = b'{"greeting": "hello"}'


def tollgate_mapping() -> Callable[[Any, Backend], Target]:
    """GET /hello -> HTTP (non-proxy) POST to the backend with a request template, the answer
    through a response template."""

    def setup(apigw: Any, backend: Backend) -> Target:
        lift_account_throttle(apigw)
        api = apigw.create_rest_api(name="bench-mapping")
        api_id = api["id"]
        res = apigw.create_resource(restApiId=api_id, parentId=api["rootResourceId"],
                                    pathPart="hello")
        key = dict(restApiId=api_id, resourceId=res["id"], httpMethod="GET")
        apigw.put_method(**key, authorizationType="NONE")
        apigw.put_integration(**key, type="HTTP", integrationHttpMethod="POST",
                              uri=f"http://127.0.0.1:{backend.port}/hello",
                              requestTemplates={"application/json": MAPPING_REQUEST_TEMPLATE})
        apigw.put_method_response(**key, statusCode="200")
        apigw.put_integration_response(
            **key, statusCode="200",
            responseTemplates={"application/json": MAPPING_RESPONSE_TEMPLATE})
        apigw.create_deployment(restApiId=api_id, stageName="bench")
        return Target(rest_stage_path(api_id, "/hello?q=bench"))

    return setup


LAMBDA_SOURCE = '''
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "hello"}
'''

# The same handler for nodejs20.x (functions_bench.py's throughput part runs a Node handler).
NODE_LAMBDA_SOURCE = (
    'exports.handler = async () => '
    '({statusCode: 200, headers: {"content-type": "text/plain"}, body: "hello"});\n'
)


def tollgate_lambda_proxy(runtime: str = "python3.11") -> Callable[[Any, Backend], Target]:
    """ANY /{proxy+} -> AWS_PROXY to a Python or Node function answering 'hello' (warm after the
    readiness check and the warm-up)."""
    node = runtime.startswith("nodejs")

    def setup(apigw: Any, backend: Backend) -> Target:
        import io
        import zipfile

        lift_account_throttle(apigw)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("app.js" if node else "app.py", NODE_LAMBDA_SOURCE if node else LAMBDA_SOURCE)
        fn = boto_client(apigw, "lambda").create_function(
            FunctionName="bench-hello", Runtime=runtime,
            Role="arn:aws:iam::000000000000:role/bench", Handler="app.handler",
            Code={"ZipFile": code.getvalue()})
        api = apigw.create_rest_api(name="bench-lambda")
        api_id = api["id"]
        res = apigw.create_resource(restApiId=api_id, parentId=api["rootResourceId"],
                                    pathPart="{proxy+}")
        apigw.put_method(restApiId=api_id, resourceId=res["id"], httpMethod="ANY",
                         authorizationType="NONE")
        uri = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
               f"{fn['FunctionArn']}/invocations")
        apigw.put_integration(restApiId=api_id, resourceId=res["id"], httpMethod="ANY",
                              type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
        apigw.create_deployment(restApiId=api_id, stageName="bench")
        return Target(rest_stage_path(api_id, "/hello"))

    return setup


def many_routes_document(backend: Backend, count: int) -> dict[str, Any]:
    """An OpenAPI document with `count` routes /r{i}/{proxy+}, each ANY -> HTTP_PROXY to the
    backend's /{proxy}."""
    paths = {}
    for i in range(count):
        paths[f"/r{i}/{{proxy+}}"] = {
            "x-amazon-apigateway-any-method": {
                "parameters": [{"name": "proxy", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy",
                    "httpMethod": "ANY",
                    "uri": f"http://127.0.0.1:{backend.port}/{{proxy}}",
                    "requestParameters": {
                        "integration.request.path.proxy": "method.request.path.proxy"},
                },
            }
        }
    return {"openapi": "3.0.1", "info": {"title": "bench-routes", "version": "1"},
            "paths": paths}


def tollgate_many_routes(count: int) -> Callable[[Any, Backend], Target]:
    """A REST API of `count` HTTP_PROXY routes created with one ImportRestApi, requested at a
    route in the middle."""

    def setup(apigw: Any, backend: Backend) -> Target:
        lift_account_throttle(apigw)
        document = json.dumps(many_routes_document(backend, count)).encode()
        api = apigw.import_rest_api(body=document, failOnWarnings=False)
        apigw.create_deployment(restApiId=api["id"], stageName="bench")
        return Target(rest_stage_path(api["id"], f"/r{count * 3 // 4}/hello"))

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
        baseline="http_proxy_small",
        baseline_target=1.15,
    ),
    Scenario(
        name="http_proxy_monitored",
        description="http_proxy_small with detailed metrics and a 12-variable access log written "
                    "to a file (nginx: the same plain proxy, no access log)",
        tollgate=tollgate_http_proxy("/hello", monitored=True),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=HELLO_BODY,
        baseline="http_proxy_small",
        # Issue 11: metrics plus an access log cost under 10% of the passthrough.
        baseline_target=1.10,
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
    Scenario(
        name="http_proxy_1m",
        description="GET through an HTTP_PROXY {proxy+} route to a backend answering 1 MiB",
        tollgate=tollgate_http_proxy("/1m"),
        nginx=nginx_reverse_proxy("/1m"),
        expect_body=ONE_M_BODY,
    ),
    Scenario(
        name="routes_10k",
        description=f"http_proxy_small in an API of {MANY_ROUTES:,} routes /rN/{{proxy+}} "
                    "(one OpenAPI import); compared with the single route",
        tollgate=tollgate_many_routes(MANY_ROUTES),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=HELLO_BODY,
        baseline="http_proxy_small",
        baseline_target=1.05,
    ),
    Scenario(
        name="mock",
        description="GET of a MOCK integration answering 'hello' from its response template "
                    "(nginx: return 200 'hello')",
        tollgate=tollgate_mock(),
        nginx=nginx_direct(HELLO_BODY),
        expect_body=HELLO_BODY,
    ),
    Scenario(
        name="mapping_templates",
        description="GET -> HTTP (non-proxy) POST with a request template of 4 $context/$input "
                    "values and a response template (nginx: the plain proxy)",
        tollgate=tollgate_mapping(),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=MAPPED_BODY,
        nginx_expect_body=HELLO_BODY,
    ),
    Scenario(
        name="lambda_proxy",
        description="ANY /{proxy+} -> AWS_PROXY to a warm Python function answering 'hello' "
                    "(CPU includes the function's process; nginx: the plain proxy)",
        tollgate=tollgate_lambda_proxy(),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=HELLO_BODY,
    ),
    Scenario(
        name="lambda_proxy_node",
        description="lambda_proxy with a nodejs20.x function (Tollgate's Node bootstrap, as in "
                    "functions.sh's throughput part)",
        tollgate=tollgate_lambda_proxy("nodejs20.x"),
        nginx=nginx_reverse_proxy("/hello"),
        expect_body=HELLO_BODY,
    ),
]


# ------------------------------------------------------------------ processes


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
        }}
        location = /1m {{
            alias {work}/backend/1m;
        }}{status}"""
    (work / "backend").mkdir(parents=True, exist_ok=True)
    (work / "backend" / "1m").write_bytes(ONE_M_BODY)
    proc, port = start_nginx(procs, work, "backend", cpu, "", body)
    wait_for(proc, port, "/hello", lambda s: s == 200, 15)
    for path, want in (("/hello", HELLO_BODY), ("/1k", ONE_K_BODY), ("/1m", ONE_M_BODY)):
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
    # The fixed-rate round: this fraction of nginx's peak req/s (0: no such round), on
    # RATE_SCENARIOS or, with rate_all, on every scenario run.
    rate_fraction: float = 0.5
    rate_all: bool = False


def run_wrk(s: Settings, port: int, target: Target, duration: int,
            rate: float | None = None) -> dict[str, Any]:
    """wrk's summary (report.lua's line); with `rate`, paced to that many requests per second
    by rate.lua, whose counters are under "pacing"."""
    argv = ["taskset", "-c", str(s.load_cpu), "wrk", f"-t{s.threads}", f"-c{s.connections}",
            f"-d{duration}s", "--latency", "--timeout", "5s", "-s", str(RATE_LUA if rate else LUA)]
    for k, v in target.headers.items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(f"http://127.0.0.1:{port}{target.path}")
    if rate:
        argv += ["--", f"{rate:.1f}", str(s.threads)]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"wrk did not finish: {' '.join(argv)}") from e
    m = re.search(r"^BENCH_RESULT (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    result = json.loads(m.group(1))
    pacing = re.search(r"^BENCH_PACING (.*)$", out.stdout, re.M)
    if pacing:
        result["pacing"] = json.loads(pacing.group(1))
    return result


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
            backend: Backend, with_status: bool, rate: float | None = None) -> Measured:
    acc0 = backend_accepts(backend) if with_status else None
    cpu0, bcpu0 = proxy.cpu_ticks(), backend_proc.cpu_ticks()
    r = run_wrk(s, port, target, s.duration, rate)
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
    # The fixed-rate round's run, when there was one.
    rate_run: Measured | None = None

    def rate_summary(self, target_rps: float) -> dict[str, Any] | None:
        m = self.rate_run
        if m is None:
            return None
        reqs, lat = m.wrk["requests"], m.wrk["latency_us"]
        pacing = m.wrk.get("pacing", {})
        return {
            "requests": reqs,
            "rps": m.rps,
            "achieved_fraction": m.rps / target_rps,
            "on_target": abs(m.rps / target_rps - 1) <= RATE_TOLERANCE,
            "p50_us": lat["p50"],
            "p99_us": lat["p99"],
            "p999_us": lat["p999"],
            "cpu_us_per_req": m.cpu_s * 1e6 / reqs if reqs else None,
            "cpu_pct": m.cpu_s / (m.wrk["duration_us"] / 1e6) * 100,
            "sends": pacing.get("sends"),
            "late_sends": pacing.get("late"),
            "late_us_max": pacing.get("late_us_max"),
            "errors": m.wrk["errors"],
            "run": dataclasses.asdict(m),
        }

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


def fixed_rate_target(sc: Scenario, s: Settings, results: dict[str, ProxyResult]) -> float | None:
    """The fixed-rate round's request rate for this scenario (a fraction of nginx's peak req/s
    measured just before), or None when there is no such round."""
    if not s.rate_fraction or not (s.rate_all or sc.name in RATE_SCENARIOS):
        return None
    nginx = results.get("nginx")
    if nginx is None or nginx.error or not nginx.runs:
        log(f"{sc.name}: no fixed-rate round (it needs nginx's peak rate from this run)")
        return None
    return s.rate_fraction * nginx.summary()["rps"]  # type: ignore[index]


def run_scenario(sc: Scenario, s: Settings, proxies: list[str], work: Path, procs: Procs,
                 backend_proc: Proc, backend: Backend,
                 with_status: bool) -> tuple[list[ProxyResult], float | None]:
    """The proxies' results, and the fixed-rate round's target req/s (None: no such round)."""
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
            want = sc.nginx_expect_body if p == "nginx" and sc.nginx_expect_body else sc.expect_body
            if st != sc.expect_status or (want is not None and body != want):
                raise BenchError(f"{p}: GET {target.path} answered {st} {body[:200]!r}, "
                                 f"expected {sc.expect_status} {(want or b'')[:50]!r}")
            log(f"{sc.name}: {p} ready at http://127.0.0.1:{port}{target.path}")
        except BenchError as e:
            results[p].error = str(e)
            log(f"{sc.name}: {p} BROKEN: {e}")
            # Stop what this proxy's start left running, so that it does not disturb the rest.
            keep = baseline + [v[0] for v in started.values()]
            for proc in [x for x in procs.live if x not in keep]:
                proc.stop()
                procs.live.remove(proc)

    rate: float | None = None
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

        def run_once(p: str, label: str, paced: float | None = None) -> Measured | None:
            """One measured wrk run (paced to `paced` req/s if given); marks the proxy broken
            when the run shows it is."""
            proc, port, target = started[p]
            try:
                m = measure(s, proc, port, target, backend_proc, backend, with_status, paced)
            except BenchError as e:
                results[p].error = f"{label}: {e}"
                return None
            reason = broken_reason(m.wrk)
            log(f"{sc.name}: {label} {p}: {m.rps:,.0f} req/s, "
                f"p50 {m.wrk['latency_us']['p50']:.0f} µs, "
                f"p99 {m.wrk['latency_us']['p99']:.0f} µs, "
                f"{m.cpu_s * 1e6 / max(m.wrk['requests'], 1):.1f} CPU µs/req"
                + (f"  BROKEN: {reason}" if reason else ""))
            if reason:
                results[p].error = f"{label}: {reason}"
            if not proc.alive():
                results[p].error = f"{p} exited during the {label} run:\n{proc.log_tail()}"
            return m

        def ready() -> list[str]:
            return [p for p in proxies if p in started and not results[p].error]

        for rnd in range(1, s.rounds + 1):
            for p in ready():
                m = run_once(p, f"round {rnd}")
                if m:
                    results[p].runs.append(m)
        # After the peak rounds, each proxy once more at a fixed rate taken from nginx's peak:
        # the same offered rate, connections and pinning for both.
        rate = fixed_rate_target(sc, s, results)
        if rate:
            for p in ready():
                results[p].rate_run = run_once(p, f"fixed rate {rate:,.0f} req/s", rate)
        for p, (proc, _, _) in started.items():
            if proc.alive():
                results[p].peak_rss_kb = proc.peak_rss_kb()
    finally:
        for proc, _, _ in started.values():
            proc.stop()
            procs.live.remove(proc)
    return [results[p] for p in proxies], rate


def rss_kb(pid: int) -> int | None:
    """The process's resident memory now (VmRSS)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


SOAK_SLICE_S = 10


def run_soak(sc: Scenario, s: Settings, minutes: float, work: Path, procs: Procs,
             backend: Backend) -> dict[str, Any]:
    """Loads one Tollgate with the scenario for `minutes`, in wrk runs of SOAK_SLICE_S seconds
    on the same connections count, and samples its RSS after each: served requests must not
    make it grow (connections may, and they are constant here)."""
    proc, port, target = start_tollgate(procs, work, sc, backend, s.proxy_cpu)
    wait_for(proc, port, target.path, lambda st: st == sc.expect_status, 20, target.headers)
    idle = rss_kb(proc.pid)
    log(f"soak {sc.name}: idle RSS {idle / 1024:.1f} MB; {minutes:g} min of wrk "
        f"-c{s.connections} in {SOAK_SLICE_S} s slices")
    samples: list[dict[str, Any]] = []
    served = 0
    deadline = time.monotonic() + minutes * 60
    started = time.monotonic()
    while time.monotonic() < deadline:
        r = run_wrk(s, port, target, SOAK_SLICE_S)
        reason = broken_reason(r)
        if reason:
            raise BenchError(f"soak {sc.name}: {reason}")
        if not proc.alive():
            raise BenchError(f"soak: tollgate exited:\n{proc.log_tail()}")
        served += r["requests"]
        sample = {"t_s": round(time.monotonic() - started), "requests": served,
                  "rss_kb": rss_kb(proc.pid)}
        samples.append(sample)
        print(f"soak t={sample['t_s']:>5}s requests={served:>11,} "
              f"RSS={sample['rss_kb'] / 1024:7.1f} MB", flush=True)
    proc.stop()
    procs.live.remove(proc)
    # The first slice warms the pools up; growth is measured from the end of it.
    first, last = samples[0], samples[-1]
    peak = max(x["rss_kb"] for x in samples)
    growth_kb = last["rss_kb"] - first["rss_kb"]
    more = last["requests"] - first["requests"]
    summary = {
        "scenario": sc.name, "minutes": minutes, "connections": s.connections,
        "idle_rss_kb": idle, "samples": samples, "requests": served,
        "rss_after_first_slice_kb": first["rss_kb"], "rss_last_kb": last["rss_kb"],
        "rss_peak_kb": peak, "growth_kb": growth_kb,
        "growth_bytes_per_1k_requests": growth_kb * 1024 * 1000 / more if more else None,
    }
    print(f"\nsoak {sc.name}: {served:,} requests; RSS idle {idle / 1024:.1f} MB, after the "
          f"first slice {first['rss_kb'] / 1024:.1f} MB, last {last['rss_kb'] / 1024:.1f} MB, "
          f"peak {peak / 1024:.1f} MB; growth after the first slice {growth_kb / 1024:+.1f} MB "
          f"over {more:,} requests")
    return summary


# ------------------------------------------------------------------ report


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
    baseline_rows = baseline_comparisons(report)
    if baseline_rows:
        out += ["", "tollgate / tollgate on the baseline scenario (CPU µs/req; lower is better)", "",
                table(["scenario", "baseline", "CPU µs/req", "target", "met"], baseline_rows,
                      {2, 3})]
    out += render_fixed_rate(report)
    return "\n".join(out)


def fixed_rate_report(results: list[ProxyResult], target_rps: float | None,
                      s: Settings) -> dict[str, Any] | None:
    """The fixed-rate round of a scenario: each proxy's figures and the p99 check."""
    if not target_rps:
        return None
    proxies = {}
    for r in results:
        sm = r.rate_summary(target_rps)
        if sm:
            proxies[r.proxy] = sm
    t, n = proxies.get("tollgate"), proxies.get("nginx")
    check = None
    if t and n:
        limit = n["p99_us"] + RATE_P99_SLACK_US
        check = {"tollgate_p99_us": t["p99_us"], "nginx_p99_us": n["p99_us"], "limit_us": limit,
                 "met": t["p99_us"] <= limit,
                 "rates_on_target": t["on_target"] and n["on_target"]}
    return {"fraction": s.rate_fraction, "target_rps": target_rps, "duration_s": s.duration,
            "connections": s.connections, "proxies": proxies, "p99_check": check}


def render_fixed_rate(report: dict[str, Any]) -> list[str]:
    """The fixed-rate round's tables (none when no scenario had the round)."""
    rows, checks, off, late = [], [], [], []
    for sc in report["scenarios"]:
        fr = sc.get("fixed_rate")
        if not fr:
            continue
        for proxy, sm in fr["proxies"].items():
            if not sm["on_target"]:
                off.append(f"{sc['name']} {proxy}")
            late_share = sm["late_sends"] / sm["sends"] if sm["sends"] else None
            if late_share and late_share > RATE_LATE_NOTE:
                late.append(f"{sc['name']} {proxy}")
            rows.append([
                sc["name"], proxy, fmt(fr["target_rps"], ",.0f"), fmt(sm["rps"], ",.0f"),
                f"{sm['achieved_fraction'] * 100:.1f}%" + ("" if sm["on_target"] else " OFF"),
                fmt(sm["p50_us"], ".0f"), fmt(sm["p99_us"], ".0f"), fmt(sm["p999_us"], ".0f"),
                fmt(sm["cpu_pct"], ".0f"),
                "-" if late_share is None else f"{late_share * 100:.1f}%",
            ])
        c = fr["p99_check"]
        if c:
            checks.append([
                sc["name"], fmt(c["tollgate_p99_us"], ".0f"), fmt(c["nginx_p99_us"], ".0f"),
                f"<= {c['limit_us']:.0f}", ("met" if c["met"] else "not met")
                + ("" if c["rates_on_target"] else " (a rate off target)"),
            ])
    if not rows:
        return []
    fraction = next(sc["fixed_rate"]["fraction"] for sc in report["scenarios"]
                    if sc.get("fixed_rate"))
    out = ["", f"fixed rate: {fraction:g} x nginx's peak req/s, wrk paced by bench/rate.lua "
               "(late: requests sent over 1 ms after their slot)", "",
           table(["scenario", "proxy", "target req/s", "achieved req/s", "of target", "p50 µs",
                  "p99 µs", "p99.9 µs", "CPU %", "late"], rows,
                 {2, 3, 4, 5, 6, 7, 8, 9})]
    if off:
        out += ["", f"achieved rate more than {RATE_TOLERANCE:.0%} off the target: "
                    + ", ".join(off)]
    if late:
        out += ["", f"over {RATE_LATE_NOTE:.0%} of the requests sent late (no free connection, "
                    "or wrk not scheduled); their wait is not in the latency: " + ", ".join(late)]
    if checks:
        out += ["", f"p99 at the fixed rate: tollgate <= nginx + {RATE_P99_SLACK_US / 1000:g} ms "
                    "(issue 10)", "",
                table(["scenario", "tollgate p99 µs", "nginx p99 µs", "target µs", "met"], checks,
                      {1, 2, 3})]
    return out


def baseline_comparisons(report: dict[str, Any]) -> list[list[str]]:
    """Tollgate's CPU per request on a scenario over its baseline scenario's in the same run."""
    cpu = {}
    for sc in report["scenarios"]:
        for pr in sc["proxies"]:
            if pr["proxy"] == "tollgate" and pr["summary"] and not pr["error"]:
                cpu[sc["name"]] = pr["summary"]["cpu_us_per_req"]
    rows = []
    for sc in report["scenarios"]:
        base, target = sc.get("baseline"), sc.get("baseline_target")
        if base and cpu.get(sc["name"]) and cpu.get(base):
            r = cpu[sc["name"]] / cpu[base]
            rows.append([sc["name"], base, f"{r:.2f}", f"<= {target:.2f}" if target else "-",
                         "-" if not target else ("yes" if r <= target else "no")])
    return rows


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
        fixed_rate_meta(m["settings"]),
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


def fixed_rate_meta(settings: dict[str, Any]) -> str:
    if not settings["rate_fraction"]:
        return "- no fixed-rate round"
    where = "every scenario" if settings["rate_all"] else ", ".join(RATE_SCENARIOS)
    return (f"- fixed-rate round ({where}): one {settings['duration']}s run per proxy after the "
            f"peak rounds, wrk -c{settings['connections']} paced to "
            f"{settings['rate_fraction']:g} x nginx's peak req/s")


def write_chart(report: dict[str, Any], path: Path) -> bool:
    """A PNG of CPU µs/req and req/s per scenario, Tollgate beside nginx; needs matplotlib
    (optional: without it the run says so and writes no chart)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("no chart: matplotlib is not installed (pip install matplotlib in the bench's Python)")
        return False
    names = [sc["name"] for sc in report["scenarios"]]
    series: dict[str, dict[str, list[float]]] = {}
    for proxy in PROXIES:
        cpu, rps = [], []
        for sc in report["scenarios"]:
            sm = next((pr["summary"] for pr in sc["proxies"] if pr["proxy"] == proxy), None)
            cpu.append(sm["cpu_us_per_req"] or 0 if sm else 0)
            rps.append(sm["rps"] if sm else 0)
        series[proxy] = {"cpu": cpu, "rps": rps}
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.3 * len(names)), 8), sharex=True)
    width = 0.4
    xs = range(len(names))
    for ax, key, title in ((axes[0], "cpu", "CPU µs per request (lower is better)"),
                           (axes[1], "rps", "requests/s (higher is better)")):
        for i, proxy in enumerate(PROXIES):
            ax.bar([x + (i - 0.5) * width for x in xs], series[proxy][key], width, label=proxy)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    axes[1].set_xticks(list(xs))
    axes[1].set_xticklabels(names, rotation=30, ha="right")
    fig.suptitle(f"Tollgate vs nginx, {report['meta']['mode']} run {report['meta']['started']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


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
    ap.add_argument("--rate-fraction", type=float, default=0.5, metavar="F",
                    help="after the peak rounds, run each proxy once more with wrk paced to F x "
                         "nginx's peak req/s of the scenario, and check Tollgate's p99 against "
                         "nginx's + 0.3 ms (0.5; 0: no such round)")
    ap.add_argument("--rate-all", action="store_true",
                    help="the fixed-rate round on every scenario run (default: "
                         f"{', '.join(RATE_SCENARIOS)} only)")
    ap.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--soak", type=float, metavar="MINUTES",
                    help="instead of the comparison: load one Tollgate with the first scenario "
                         "(default http_proxy_small) for MINUTES and print its RSS every "
                         f"{SOAK_SLICE_S} s")
    args = ap.parse_args()

    if args.list:
        for sc in SCENARIOS:
            print(f"{sc.name:20} {sc.description}")
        return 0

    if args.rate_fraction < 0:
        ap.error("--rate-fraction takes a fraction >= 0 (0: no fixed-rate round)")
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
        rate_fraction=args.rate_fraction,
        rate_all=args.rate_all,
    )

    own_work = "BENCH_WORK" not in os.environ
    work = Path(os.environ.get("BENCH_WORK") or tempfile.mkdtemp(prefix="tollgate-bench."))
    procs = Procs(work)
    # run.sh starts this in the background, where SIGINT comes ignored: take both signals here,
    # so that Ctrl-C stops the run at once (the finally below stops what was started) and no
    # report of a half run is written.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    if args.soak:
        sc = scenarios[0] if args.scenarios else next(
            x for x in SCENARIOS if x.name == "http_proxy_small")
        return soak_main(sc, s, args, work, own_work, procs)
    report: dict[str, Any] = {"meta": meta(args, s, proxies), "scenarios": []}
    failed = False
    try:
        with_status = nginx_has_module("http_stub_status_module")
        backend_proc, backend = start_backend(procs, work, s.load_cpu, with_status)
        log(f"backend nginx on 127.0.0.1:{backend.port} (CPU {s.load_cpu})")
        for sc in scenarios:
            res, rate = run_scenario(sc, s, proxies, work, procs, backend_proc, backend,
                                     with_status)
            report["scenarios"].append({
                "name": sc.name,
                "description": sc.description,
                "baseline": sc.baseline,
                "baseline_target": sc.baseline_target,
                "proxies": [{
                    "proxy": r.proxy,
                    "error": r.error,
                    "summary": r.summary(),
                    "runs": [dataclasses.asdict(m) for m in r.runs],
                } for r in res],
                "fixed_rate": fixed_rate_report(res, rate, s),
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
    base = save_results(Path(args.out), "", f"-{report['meta']['mode']}", report,
                        markdown(report, rendered))
    if report["scenarios"] and write_chart(report, base.with_suffix(".png")):
        shutil.copyfile(base.with_suffix(".png"), Path(args.out) / "latest.png")
    print("absolute figures on a shared 2-core machine are noise: compare the ratios")
    if failed:
        print("\nFAILED: a scenario is broken (see BROKEN above)", file=sys.stderr)
        return 1
    return 0


def soak_main(sc: Scenario, s: Settings, args: argparse.Namespace, work: Path, own_work: bool,
              procs: Procs) -> int:
    try:
        _, backend = start_backend(procs, work, s.load_cpu, False)
        summary = run_soak(sc, s, args.soak, work, procs, backend)
    except BenchError as e:
        log(f"BROKEN: {e}")
        return 1
    finally:
        procs.stop_all()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"soak-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    summary["meta"] = meta(args, s, ["tollgate"])
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
