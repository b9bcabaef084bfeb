"""Monitoring: API Gateway's metrics on GET /metrics (OpenMetrics), and access logs.

AWS behaviour relied on:
- REST APIs publish `Count`, `4XXError`, `5XXError`, `Latency`, `IntegrationLatency` (ms)
  with the dimensions `ApiName`, `Stage`; with detailed metrics on (`methodSettings`
  `*/*/metrics/enabled`) also per `ApiName`, `Method`, `Resource`, `Stage` (developer guide,
  "Amazon API Gateway dimensions and metrics").
- Access logs: `accessLogSettings.format` is one line of text with `$context` variables
  substituted, a missing value written as `-`; the console's presets are CLF, JSON, XML and
  CSV (developer guide, "Set up CloudWatch logging for REST APIs").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from dataplane_support import RestApi, backend, call, poll, wait_for  # noqa: F401 - fixture
from helpers import free_port, make_client, tollgate_bin

OPENMETRICS = "application/openmetrics-text"

CLF = ('$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] '
       '"$context.httpMethod $context.resourcePath $context.protocol" $context.status '
       '$context.responseLength $context.requestId')


def metrics(endpoint: str) -> str:
    resp = requests.get(endpoint + "/metrics", timeout=10)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["content-type"].startswith(OPENMETRICS)
    assert resp.text.endswith("# EOF\n")
    return resp.text


def sample(text: str, name: str, labels: dict) -> float | None:
    """The value of the sample `name{labels}` (labels in any order, exactly these)."""
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if found == labels:
            return float(m.group(3))
    return None


def delta(before: str, after: str, name: str, labels: dict) -> float:
    return (sample(after, name, labels) or 0) - (sample(before, name, labels) or 0)


@pytest.fixture
def pets(apigw, endpoint, backend):
    """An API with a unique name: GET /pets (MOCK), ANY /st/{code} (HTTP_PROXY to the
    backend's /status/{code}); deployed to 'test'."""
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    api = RestApi(apigw, name)
    api.mock("/pets", body='{"pets": []}')
    api.http_proxy("/st/{code}", backend.url + "/status/{code}")
    api.http_proxy("/echo", backend.url + "/echo")
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/pets"), until=200)
    api.name = name
    return api


def test_rest_metrics_by_stage_and_method(endpoint, pets):
    api = pets
    api.update_stage("test", {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"})
    method_labels = {"ApiName": api.name, "Method": "GET", "Resource": "/pets", "Stage": "test"}
    wait_for(lambda: sample(metrics(endpoint), "apigateway_Count_total", method_labels) is not None,
             message="detailed metrics series")
    stage_labels = {"ApiName": api.name, "Stage": "test"}
    before = metrics(endpoint)
    for _ in range(3):
        assert call("GET", api.url(endpoint, "test", "/pets")).status_code == 200
    for _ in range(2):
        assert call("GET", api.url(endpoint, "test", "/nowhere")).status_code == 403
    assert call("GET", api.url(endpoint, "test", "/st/503")).status_code == 503
    after = metrics(endpoint)

    assert delta(before, after, "apigateway_Count_total", stage_labels) == 6
    assert delta(before, after, "apigateway_4XXError_total", stage_labels) == 2
    assert delta(before, after, "apigateway_5XXError_total", stage_labels) == 1
    assert delta(before, after, "apigateway_Latency_count", stage_labels) == 6
    # The two unrouted requests never reached an integration.
    assert delta(before, after, "apigateway_IntegrationLatency_count", stage_labels) == 4
    assert delta(before, after, "apigateway_Latency_bucket", {**stage_labels, "le": "+Inf"}) == 6
    assert delta(before, after, "apigateway_Latency_bucket", {**stage_labels, "le": "60000"}) == 6
    assert sample(after, "apigateway_Latency_bucket", {**stage_labels, "le": "0.05"}) is not None

    assert delta(before, after, "apigateway_Count_total", method_labels) == 3
    assert delta(before, after, "apigateway_4XXError_total", method_labels) == 0
    proxy_labels = {"ApiName": api.name, "Method": "ANY", "Resource": "/st/{code}", "Stage": "test"}
    assert delta(before, after, "apigateway_5XXError_total", proxy_labels) == 1

    assert "# TYPE apigateway_Count counter" in after
    assert "# TYPE apigateway_Latency histogram" in after
    assert sample(after, "tollgate_process_resident_memory_bytes", {}) > 0
    assert sample(after, "tollgate_open_connections", {}) >= 1
    assert sample(after, "tollgate_config_version", {}) >= 1
    assert sample(after, "tollgate_plan_compile_count", {}) >= 1


def test_without_detailed_metrics_only_stage_series(endpoint, pets):
    api = pets
    text = metrics(endpoint)
    assert sample(text, "apigateway_Count_total", {"ApiName": api.name, "Stage": "test"}) >= 1
    assert f'ApiName="{api.name}",Method=' not in text


CUSTOM = ('{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId",'
          '"ip":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent",'
          '"caller":"$context.identity.caller","httpMethod":"$context.httpMethod",'
          '"resourcePath":"$context.resourcePath","path":"$context.path","protocol":"$context.protocol",'
          '"status":"$context.status","responseLength":"$context.responseLength",'
          '"requestTime":"$context.requestTime","requestTimeEpoch":"$context.requestTimeEpoch",'
          '"apiId":"$context.apiId","stage":"$context.stage","responseLatency":"$context.responseLatency",'
          '"integrationLatency":"$context.integrationLatency","integrationStatus":"$context.integrationStatus",'
          '"errorType":"$context.error.responseType","errorMessage":"$context.error.message",'
          '"xray":"$context.xrayTraceId"}')


def access_log_lines(server, api_id: str, stage: str) -> list[str]:
    path = os.path.join(server.data_dir, "logs", "access", api_id, f"{stage}.log")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def set_access_log(server, endpoint, api, fmt: str) -> str:
    """Turns access logging on with `fmt`; returns the URL of GET /pets once it is logged
    (stage changes apply without a redeploy, within moments)."""
    api.update_stage(
        "test",
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": "arn:aws:logs:us-east-1:000000000000:log-group:access"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": fmt},
    )
    url = api.url(endpoint, "test", "/pets")
    wait_for(lambda: call("GET", url).status_code == 200 and access_log_lines(server, api.id, "test"),
             message="access logging on")
    return url


def logged(server, api, request_id: str, timeout: float = 3.0) -> str:
    found: list[str] = []

    def check():
        found[:] = [l for l in access_log_lines(server, api.id, "test") if request_id in l]
        return bool(found)

    wait_for(check, timeout=timeout, message=f"access-log line of {request_id}")
    assert len(found) == 1, found
    return found[0]


def test_access_log_custom_format(server, endpoint, pets):
    api = pets
    url = set_access_log(server, endpoint, api, CUSTOM)
    resp = call("GET", url, headers={"User-Agent": "monitoring-test/1.0"})
    assert resp.status_code == 200
    rid = resp.headers["x-amzn-RequestId"]
    entry = json.loads(logged(server, api, rid))
    assert entry["requestId"] == rid
    assert entry["extendedRequestId"] == resp.headers["x-amz-apigw-id"]
    assert entry["ip"] == "127.0.0.1"
    assert entry["userAgent"] == "monitoring-test/1.0"
    assert entry["caller"] == "-"
    assert entry["httpMethod"] == "GET"
    assert entry["resourcePath"] == "/pets"
    assert entry["protocol"] == "HTTP/1.1"
    assert entry["status"] == "200"
    assert entry["responseLength"] == str(len(resp.content))
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", entry["requestTime"])
    assert abs(int(entry["requestTimeEpoch"]) - time.time() * 1000) < 60_000
    assert entry["apiId"] == api.id and entry["stage"] == "test"
    assert int(entry["responseLatency"]) >= int(entry["integrationLatency"]) >= 0
    assert entry["integrationStatus"] == "200"
    assert entry["errorType"] == "-"
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", entry["xray"])

    proxied = call("GET", api.url(endpoint, "test", "/echo"), headers={"User-Agent": "proxied/2.0"})
    assert proxied.status_code == 200
    entry = json.loads(logged(server, api, proxied.headers["x-amzn-RequestId"]))
    assert entry["userAgent"] == "proxied/2.0" and entry["resourcePath"] == "/echo"
    assert entry["integrationStatus"] == "200"

    missing = call("GET", api.url(endpoint, "test", "/nowhere"))
    assert missing.status_code == 403
    entry = json.loads(logged(server, api, missing.headers["x-amzn-RequestId"]))
    assert entry["status"] == "403"
    assert entry["errorType"] == "MISSING_AUTHENTICATION_TOKEN"
    assert entry["errorMessage"] == "Missing Authentication Token"
    assert entry["integrationLatency"] == "-"
    assert entry["httpMethod"] == "GET"


def test_access_log_clf_preset(server, endpoint, pets):
    api = pets
    url = set_access_log(server, endpoint, api, CLF)
    resp = call("GET", url)
    rid = resp.headers["x-amzn-RequestId"]
    line = logged(server, api, rid)
    m = re.fullmatch(r'127\.0\.0\.1 - - \[(.+?)\] "GET /pets HTTP/1\.1" 200 (\d+) (\S+)', line)
    assert m, line
    assert m.group(2) == str(len(resp.content)) and m.group(3) == rid
    # `tollgate logs --api --stage` prints the same file.
    out = subprocess.run([str(tollgate_bin()), "logs", "--api", api.id, "--stage", "test",
                          "--data-dir", server.data_dir], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert line in out.stdout.splitlines()
    missing = subprocess.run([str(tollgate_bin()), "logs", "--api", api.id, "--stage", "nope",
                              "--data-dir", server.data_dir], capture_output=True, text=True, timeout=20)
    assert missing.returncode != 0 and f"stage nope of API {api.id}" in missing.stderr


def test_metrics_listener(tmp_path):
    """`--metrics-listen` serves /metrics alone on its own port."""
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen(
        [str(tollgate_bin()), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path),
         "--metrics-listen", f"127.0.0.1:{metrics_port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{metrics_port}"
        deadline = time.time() + 15
        while True:
            try:
                text = metrics(url)
                break
            except requests.ConnectionError:
                assert time.time() < deadline, "metrics listener never answered"
                time.sleep(0.1)
        assert "tollgate_process_resident_memory_bytes" in text
        assert requests.get(url + "/restapis", timeout=5).status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_function_metrics(endpoint):
    """Lambda's Invocations, Errors, Throttles and Duration by FunctionName."""
    from lambda_support import create_function, invoke_json, lambda_client

    lam = lambda_client(endpoint)
    name = f"metered-{uuid.uuid4().hex[:8]}"
    create_function(lam, name=name)
    labels = {"FunctionName": name}
    before = metrics(endpoint)
    for _ in range(2):
        assert invoke_json(lam, name, {"hello": 1})[0]["StatusCode"] == 200
    assert invoke_json(lam, name, {"fail": "boom"})[0]["FunctionError"] == "Unhandled"
    # One instance at a time: of two concurrent invocations, one is throttled.
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    from concurrent.futures import ThreadPoolExecutor

    def slow(_):
        # No retry of the throttled call (botocore's legacy mode retries once more).
        import boto3
        from botocore.config import Config

        client = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test",
                              config=Config(retries={"total_max_attempts": 1}, read_timeout=60))
        try:
            return client.invoke(FunctionName=name, Payload=b'{"sleep": 1}')["StatusCode"]
        except lam.exceptions.TooManyRequestsException:
            return 429

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(slow, range(2)))
    assert statuses == [200, 429]
    after = metrics(endpoint)
    assert delta(before, after, "lambda_Invocations_total", labels) == 4
    assert delta(before, after, "lambda_Errors_total", labels) == 1
    assert delta(before, after, "lambda_Throttles_total", labels) == 1
    assert delta(before, after, "lambda_Duration_count", labels) == 4
    assert sample(after, "lambda_ConcurrentExecutions", labels) == 0


@pytest.mark.parametrize("incoming, root", [
    ({"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"},
     "1-5759e988-bd862e3fe1be46a994272793"),
    ({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
     "1-4bf92f35-77b34da6a3ce929d0e0e4736"),
])
def test_trace_ids_are_accepted_and_propagated(endpoint, pets, incoming, root):
    resp = call("GET", pets.url(endpoint, "test", "/echo"), headers=incoming)
    assert resp.status_code == 200
    seen = resp.json()["headers"]
    assert seen["x-amzn-trace-id"] == f"Root={root}"


def test_a_new_trace_id_without_one(endpoint, pets):
    resp = call("GET", pets.url(endpoint, "test", "/echo"))
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", resp.json()["headers"]["x-amzn-trace-id"])


def execution_log(server, api_id: str) -> list[str]:
    path = os.path.join(server.data_dir, "logs", "execution", api_id, "test.log")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def test_execution_logs_info_then_error(server, endpoint, pets):
    api = pets
    api.update_stage("test", {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
                     {"op": "replace", "path": "/*/*/logging/dataTrace", "value": "true"})
    url = api.url(endpoint, "test", "/pets")
    wait_for(lambda: call("GET", url).status_code == 200 and execution_log(server, api.id),
             message="execution logging on")
    resp = call("GET", url + "?color=red")
    rid = resp.headers["x-amzn-RequestId"]
    steps = []

    def logged_steps():
        steps[:] = [l.split(f"({rid}) ", 1)[1] for l in execution_log(server, api.id) if f"({rid}) " in l]
        return any(s.startswith("Method completed") for s in steps)

    wait_for(logged_steps, message="execution log of the request")
    assert steps[0] == f"Extended Request Id: {resp.headers['x-amz-apigw-id']}"
    assert f"Starting execution for request: {rid}" in steps
    assert "HTTP Method: GET, Resource Path: /pets" in steps
    assert "Method request path: {}, query string: {color=red}" in steps
    assert "Method request body before transformations: " in steps
    assert any(s.startswith("Received response. Status: 200, Integration latency: ") for s in steps)
    assert steps[-1] == "Method completed with status: 200"

    # ERROR: only requests that fail are logged.
    api.update_stage("test", {"op": "replace", "path": "/*/*/logging/loglevel", "value": "ERROR"})
    time.sleep(0.5)
    ok = call("GET", url)
    failed = call("GET", api.url(endpoint, "test", "/st/502"))
    assert ok.status_code == 200 and failed.status_code == 502
    wait_for(lambda: any(f"({failed.headers['x-amzn-RequestId']}) Method completed with status: 502" in l
                         for l in execution_log(server, api.id)), message="the failed request logged")
    assert not any(ok.headers["x-amzn-RequestId"] in l for l in execution_log(server, api.id))


def test_http_api_metrics_by_stage_and_route(endpoint, backend):
    """HTTP APIs: Count, 4xx, 5xx, Latency, IntegrationLatency, DataProcessed by ApiId and
    Stage, and with detailed metrics on by ApiId, Route, Stage."""
    from http_api_support import path_url, v2_client

    v2 = v2_client(endpoint)
    api_id = v2.create_api(Name="metered", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY",
                                        IntegrationUri=backend.url + "/status/{code}",
                                        IntegrationMethod="ANY", PayloadFormatVersion="1.0")["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="POST /st/{code}", Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True,
                    DefaultRouteSettings={"DetailedMetricsEnabled": True})
    url = path_url(endpoint, api_id, "/st/200")
    poll("POST", url, until=200)
    stage = {"ApiId": api_id, "Stage": "$default"}
    route_labels = {"ApiId": api_id, "Route": "POST /st/{code}", "Stage": "$default"}
    before = metrics(endpoint)
    body = "x" * 100
    for code in (200, 200, 404, 503):
        resp = call("POST", path_url(endpoint, api_id, f"/st/{code}"), data=body)
        assert resp.status_code == code
    assert call("GET", path_url(endpoint, api_id, "/nowhere")).status_code == 404
    after = metrics(endpoint)
    assert delta(before, after, "apigateway_Count_total", stage) == 5
    assert delta(before, after, "apigateway_4xx_total", stage) == 2
    assert delta(before, after, "apigateway_5xx_total", stage) == 1
    assert delta(before, after, "apigateway_Latency_count", stage) == 5
    assert delta(before, after, "apigateway_IntegrationLatency_count", stage) == 4
    # Each routed request sent 100 bytes and got the backend's JSON answer back.
    assert delta(before, after, "apigateway_DataProcessed_total", stage) > 400
    assert delta(before, after, "apigateway_Count_total", route_labels) == 4
    assert delta(before, after, "apigateway_5xx_total", route_labels) == 1


def test_websocket_metrics(endpoint):
    """WebSocket APIs: ConnectCount, MessageCount, ClientError, IntegrationError,
    ExecutionError, IntegrationLatency by ApiId and Stage (and Route with detailed metrics)."""
    from websocket_support import mock_integration, open_ws, recv_json, route, websocket_api, ws_url
    from http_api_support import v2_client

    v2 = v2_client(endpoint)
    api_id = websocket_api(v2)
    route(v2, api_id, "echo", mock_integration(v2, api_id, '{"ok": true}'), two_way=True)
    failing = v2.create_integration(ApiId=api_id, IntegrationType="MOCK",
                                    RequestTemplates={"$default": '{"statusCode": 500}'},
                                    TemplateSelectionExpression="\\$default")["IntegrationId"]
    route(v2, api_id, "fail", failing)
    unreachable = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="POST",
                                        IntegrationUri=f"http://127.0.0.1:{free_port()}/gone")["IntegrationId"]
    route(v2, api_id, "down", unreachable)
    deployment = v2.create_deployment(ApiId=api_id)["DeploymentId"]
    v2.create_stage(ApiId=api_id, StageName="dev", DeploymentId=deployment,
                    RouteSettings={"echo": {"DetailedMetricsEnabled": True}})
    wait_for(lambda: requests.get(f"{endpoint}/_aws/execute-api/{api_id}/dev", timeout=5).status_code == 426,
             message="stage served")
    stage = {"ApiId": api_id, "Stage": "dev"}
    echo = {"ApiId": api_id, "Route": "echo", "Stage": "dev"}
    before = metrics(endpoint)
    with open_ws(ws_url(endpoint, api_id, "dev")) as ws:
        ws.send(json.dumps({"action": "echo"}))
        assert recv_json(ws) == {"ok": True}
        ws.send(json.dumps({"action": "nothing"}))
        assert recv_json(ws)["message"] == "Forbidden"
        ws.send(json.dumps({"action": "fail"}))
        ws.send(json.dumps({"action": "down"}))
        assert recv_json(ws)["message"] == "Internal server error"
        ws.send(json.dumps({"action": "echo"}))
        assert recv_json(ws) == {"ok": True}

        def settled():
            text = metrics(endpoint)
            return text if delta(before, text, "apigateway_IntegrationError_total", stage) == 1 else None

        after = wait_for(settled, timeout=10, message="the failing route's metrics")
    assert delta(before, after, "apigateway_ConnectCount_total", stage) == 1
    # In: 5 messages; out: 2 echoes, Forbidden, Internal server error.
    assert delta(before, after, "apigateway_MessageCount_total", stage) == 9
    assert delta(before, after, "apigateway_ClientError_total", stage) == 1
    assert delta(before, after, "apigateway_ExecutionError_total", stage) == 1
    assert delta(before, after, "apigateway_IntegrationLatency_count", stage) == 4
    assert delta(before, after, "apigateway_MessageCount_total", echo) == 2
    assert delta(before, after, "apigateway_IntegrationLatency_count", echo) == 2


def test_execution_log_level_per_method_and_mapping_steps(server, endpoint, pets, backend):
    """`methodSettings` of one method (`/~1mapped/POST/logging/loglevel`) log that method
    alone; with dataTrace the body the request template produced is logged as AWS words it."""
    api = pets
    key = api.http("/mapped", backend.url + "/echo", http_method="POST", integration_method="POST")
    api.apigw.update_integration(**key, patchOperations=[
        {"op": "add", "path": "/requestTemplates/application~1json", "value": '{"wrapped": $input.json(\'$\')}'}])
    api.deploy("test")
    api.update_stage("test", {"op": "replace", "path": "/~1mapped/POST/logging/loglevel", "value": "INFO"},
                     {"op": "replace", "path": "/~1mapped/POST/logging/dataTrace", "value": "true"})
    url = api.url(endpoint, "test", "/mapped")
    headers = {"Content-Type": "application/json"}
    wait_for(lambda: call("POST", url, headers=headers, data='{"a": 1}').status_code == 200
             and execution_log(server, api.id), timeout=10, message="execution logging of the method")
    pets_id = call("GET", api.url(endpoint, "test", "/pets")).headers["x-amzn-RequestId"]
    resp = call("POST", url, headers=headers, data='{"a": 1}')
    rid = resp.headers["x-amzn-RequestId"]

    def steps():
        lines = [l.split(f"({rid}) ", 1)[1] for l in execution_log(server, api.id) if f"({rid}) " in l]
        return lines if any(s.startswith("Method completed") for s in lines) else None

    logged = wait_for(steps, timeout=10, message="execution log of the request")
    assert "HTTP Method: POST, Resource Path: /mapped" in logged
    assert 'Method request body before transformations: {"a": 1}' in logged
    assert 'Endpoint request body after transformations: {"wrapped": {"a":1}}' in logged
    assert logged[-1] == "Method completed with status: 200"
    # GET /pets has no setting of its own and the stage's */* is OFF.
    assert not any(pets_id in l for l in execution_log(server, api.id))


def logs_cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tollgate_bin()), "logs", *args, "--data-dir", server.data_dir],
                          capture_output=True, text=True, timeout=20)


def test_logs_cli_since_json_execution_and_follow(server, endpoint, pets):
    api = pets
    url = set_access_log(server, endpoint, api, CLF)
    api.update_stage("test", {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"})
    wait_for(lambda: call("GET", url).status_code == 200 and execution_log(server, api.id), message="execution log")
    rid = call("GET", url).headers["x-amzn-RequestId"]
    logged(server, api, rid)

    # --json: one object per line, its time parsed from the line.
    out = logs_cli(server, "--api", api.id, "--json")
    assert out.returncode == 0, out.stderr
    entries = [json.loads(l) for l in out.stdout.splitlines()]
    mine = [e for e in entries if rid in e["message"]]
    assert len(mine) == 1 and mine[0]["source"] == "access"
    assert mine[0]["apiId"] == api.id and mine[0]["stage"] == "test" and mine[0]["function"] is None
    assert abs(time.mktime(time.strptime(mine[0]["timestamp"], "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())) < 120

    # --since: a time after every line leaves none; 10m keeps them.
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    assert logs_cli(server, "--api", api.id, "--stage", "test", "--since", later).stdout == ""
    assert rid in logs_cli(server, "--api", api.id, "--stage", "test", "--since", "10m").stdout
    bad = logs_cli(server, "--api", api.id, "--since", "yesterday")
    assert bad.returncode != 0 and "RFC 3339" in bad.stderr

    # --execution: the execution log's steps of the same request.
    execution = logs_cli(server, "--api", api.id, "--stage", "test", "--execution").stdout
    assert f"({rid}) Method completed with status: 200" in execution

    # --follow prints lines written after it started.
    follower = subprocess.Popen([str(tollgate_bin()), "logs", "--api", api.id, "--stage", "test", "--follow",
                                 "--since", "1s", "--data-dir", server.data_dir],
                                stdout=subprocess.PIPE, text=True)
    try:
        later_rid = call("GET", url).headers["x-amzn-RequestId"]
        line = ""
        deadline = time.monotonic() + 15
        while later_rid not in line:
            assert time.monotonic() < deadline, "the followed line never came"
            line = follower.stdout.readline()
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_access_log_destination_arn_mapped_to_a_file(spawn_server, tmp_path):
    """`[access-log-destinations]` in tollgate.toml maps a destinationArn to a file."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:mapped"
    (data_dir / "tollgate.toml").write_text(
        f'[access-log-destinations]\n"{arn}" = "custom/mapped.log"\n')
    srv = spawn_server(str(data_dir))
    api = RestApi(make_client(srv.url), "mapped")
    api.mock("/pets", body='{"pets": []}')
    api.deploy("test")
    api.update_stage("test", {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
                     {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"})
    url = api.url(srv.url, "test", "/pets")
    mapped = data_dir / "custom" / "mapped.log"
    wait_for(lambda: call("GET", url).status_code == 200 and mapped.exists() and mapped.read_text(),
             message="the mapped file written")
    rid = call("GET", url).headers["x-amzn-RequestId"]
    wait_for(lambda: rid in mapped.read_text().splitlines(), message="the request's line")
    assert not (data_dir / "logs" / "access" / api.id / "test.log").exists()

    # `tollgate logs` finds the mapped file through the stage, with or without --stage.
    for args in (("--api", api.id, "--stage", "test"), ("--api", api.id)):
        out = logs_cli(srv, *args)
        assert out.returncode == 0, out.stderr
        assert rid in out.stdout.splitlines(), args
    entries = [json.loads(l) for l in logs_cli(srv, "--api", api.id, "--json").stdout.splitlines()]
    assert any(e["message"] == rid and e["stage"] == "test" and e["apiId"] == api.id for e in entries)
