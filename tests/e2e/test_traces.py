"""Traces: OpenTelemetry spans over OTLP/HTTP (JSON) for stages with `tracingEnabled`.

A small OTLP receiver (http.server) stands in for the collector; Tollgate is started with
`OTEL_EXPORTER_OTLP_ENDPOINT` pointing at it.

AWS behaviour relied on: X-Ray tracing is a stage setting (`tracingEnabled`) of REST APIs; the
trace header `X-Amzn-Trace-Id: Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled=1` reaches HTTP
integrations as a header and Lambda functions as `_X_AMZN_TRACE_ID`. W3C `traceparent` is the
OpenTelemetry form of the same 128-bit trace id.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dataplane_support import RestApi, backend, call, poll, wait_for  # noqa: F401 - fixture
from helpers import ServerProcess, make_client
from lambda_support import lambda_client, make_zip

SERVER, CLIENT, INTERNAL = 2, 3, 1


class _Receiver(BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.path, self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class OtlpReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Receiver)
        self.requests: list[tuple[str, str, bytes]] = []

    def spans(self) -> list[dict]:
        """Every span received, each with its resource's `service.name` added."""
        out = []
        for path, content_type, body in list(self.requests):
            assert path == "/v1/traces" and content_type == "application/json"
            for rs in json.loads(body)["resourceSpans"]:
                service = attrs(rs["resource"])["service.name"]
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        out.append({**span, "service": service})
        return out


def attrs(item: dict) -> dict:
    """OTLP attributes as a plain dict (intValue as int)."""
    out = {}
    for a in item.get("attributes", []):
        v = a["value"]
        out[a["key"]] = int(v["intValue"]) if "intValue" in v else v.get("stringValue")
    return out


@pytest.fixture(scope="module")
def receiver():
    server = OtlpReceiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def traced(receiver):
    """A server of its own that exports traces to the receiver."""
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-traces-")
    srv = ServerProcess(data_dir, env={"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}"})
    srv.start()
    yield srv
    srv.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def spans_of(receiver, trace_id: str, count: int) -> dict[str, dict]:
    """The spans of one trace by name, once `count` have arrived."""
    found = wait_for(lambda: (lambda s: s if len(s) >= count else None)(
        [s for s in receiver.spans() if s["traceId"] == trace_id]), timeout=10, message=f"{count} spans")
    return {s["name"]: s for s in found}


def test_http_proxy_spans_join_the_callers_trace_and_propagate(traced, receiver, backend):
    endpoint = traced.url
    api = RestApi(make_client(endpoint), "traced")
    api.http_proxy("/echo", backend.url + "/echo", http_method="GET")
    api.deploy("test", tracingEnabled=True)
    trace_id, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    headers = {"traceparent": f"00-{trace_id}-{caller_span}-01"}
    resp = poll("GET", api.url(endpoint, "test", "/echo"), until=200, headers=headers)
    seen = resp.json()["headers"]

    spans = spans_of(receiver, trace_id, 2)
    server, integration = spans["GET /echo"], spans["integration HTTP_PROXY"]
    assert server["kind"] == SERVER and server["parentSpanId"] == caller_span
    assert server["service"] == "tollgate"
    assert attrs(server) == {
        "http.request.method": "GET",
        "http.route": "/echo",
        "http.response.status_code": 200,
        "aws.api_gateway.api_id": api.id,
        "aws.api_gateway.stage": "test",
        "aws.request_id": resp.headers["x-amzn-RequestId"],
    }
    assert integration["kind"] == CLIENT and integration["parentSpanId"] == server["spanId"]
    assert int(server["startTimeUnixNano"]) <= int(integration["startTimeUnixNano"])
    assert int(integration["endTimeUnixNano"]) <= int(server["endTimeUnixNano"])
    # The backend is called as a child of the integration span, in both header formats.
    assert seen["traceparent"] == f"00-{trace_id}-{integration['spanId']}-01"
    assert seen["x-amzn-trace-id"] == (
        f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={integration['spanId']};Sampled=1")


def test_errors_are_marked_and_xray_headers_are_joined(traced, receiver, backend):
    endpoint = traced.url
    api = RestApi(make_client(endpoint), "traced-errors")
    api.http_proxy("/st/{code}", backend.url + "/status/{code}")
    api.deploy("test", tracingEnabled=True)
    root = "1-5759e988-bd862e3fe1be46a994272793"
    headers = {"X-Amzn-Trace-Id": f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1"}
    poll("GET", api.url(endpoint, "test", "/st/502"), until=502, headers=headers)
    spans = spans_of(receiver, "5759e988bd862e3fe1be46a994272793", 2)
    server = spans["GET /st/{code}"]
    assert server["parentSpanId"] == "53995c3f42cd8ad8"
    assert attrs(server)["http.response.status_code"] == 502
    assert server["status"]["code"] == 2


def test_stages_without_tracing_export_nothing(traced, receiver, backend):
    endpoint = traced.url
    api = RestApi(make_client(endpoint), "untraced")
    api.http_proxy("/echo", backend.url + "/echo", http_method="GET")
    api.deploy("off")
    api.deploy("on", tracingEnabled=True)
    off_trace, on_trace = "aa" * 16, "bb" * 16
    resp = poll("GET", api.url(endpoint, "off", "/echo"), until=200,
                headers={"traceparent": f"00-{off_trace}-{'11' * 8}-01"})
    # Not traced: the caller's header passes through untouched.
    assert resp.json()["headers"]["traceparent"] == f"00-{off_trace}-{'11' * 8}-01"
    poll("GET", api.url(endpoint, "on", "/echo"), until=200, headers={"traceparent": f"00-{on_trace}-{'11' * 8}-01"})
    spans_of(receiver, on_trace, 2)
    assert not [s for s in receiver.spans() if s["traceId"] == off_trace]


AUTHORIZER = '''
def handler(event, context):
    return {"principalId": "me", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}]}}
'''

TRACE_ECHO = '''
import json, os

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"trace": os.environ.get("_X_AMZN_TRACE_ID")})}
'''


def function_uri(lam, name: str, source: str) -> str:
    fn = lam.create_function(FunctionName=name, Runtime="python3.11", Role="arn:aws:iam::000000000000:role/x",
                             Handler="app.handler", Code={"ZipFile": make_zip({"app.py": source})}, Timeout=10)
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"


def test_authorizer_integration_and_function_spans(traced, receiver):
    endpoint = traced.url
    apigw, lam = make_client(endpoint), lambda_client(endpoint)
    api = RestApi(apigw, "traced-lambda")
    authorizer = apigw.create_authorizer(restApiId=api.id, name="gate", type="TOKEN",
                                         authorizerUri=function_uri(lam, "trace-gate", AUTHORIZER),
                                         identitySource="method.request.header.Authorization",
                                         authorizerResultTtlInSeconds=0)
    rid = api.resource("/fn")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="CUSTOM",
                     authorizerId=authorizer["id"])
    apigw.put_integration(restApiId=api.id, resourceId=rid, httpMethod="GET", type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=function_uri(lam, "trace-echo", TRACE_ECHO))
    api.deploy("test", tracingEnabled=True)
    trace_id = "5f84c7a1" + "0123456789abcdef01234567"
    headers = {"Authorization": "token", "X-Amzn-Trace-Id": "Root=1-5f84c7a1-0123456789abcdef01234567"}
    resp = poll("GET", api.url(endpoint, "test", "/fn"), until=200, headers=headers, timeout=30)

    spans = spans_of(receiver, trace_id, 4)
    server = spans["GET /fn"]
    auth, integration, invoke = spans["authorizer gate"], spans["integration AWS_PROXY"], spans["invoke trace-echo"]
    assert "parentSpanId" not in server  # the caller named the trace, not a parent span
    assert auth["parentSpanId"] == server["spanId"]
    assert integration["parentSpanId"] == server["spanId"]
    assert invoke["parentSpanId"] == integration["spanId"] and invoke["kind"] == CLIENT
    assert int(auth["endTimeUnixNano"]) <= int(integration["startTimeUnixNano"])
    # The function runs as a child of the invoke span.
    assert resp.json()["trace"] == f"Root=1-5f84c7a1-0123456789abcdef01234567;Parent={invoke['spanId']};Sampled=1"
    # The execution log shows the authorizer's steps in AWS's words.
    api.update_stage("test", {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"})
    log = os.path.join(traced.data_dir, "logs", "execution", api.id, "test.log")

    def authorizer_steps():
        call("GET", api.url(endpoint, "test", "/fn"), headers=headers)
        if not os.path.exists(log):
            return None
        lines = open(log, encoding="utf-8").read().splitlines()
        started = [l for l in lines if f"Starting authorizer: {authorizer['id']} for request: " in l]
        if not started:
            return None
        rid = started[0].rsplit(" ", 1)[1]
        return [l.split(f"({rid}) ", 1)[1] for l in lines if f"({rid}) " in l]

    steps = wait_for(authorizer_steps, timeout=20, interval=0.5, message="authorizer steps")
    at = steps.index(next(s for s in steps if s.startswith("Starting authorizer: ")))
    assert steps[at + 1:at + 3] == ["Using valid authorizer policy for principal: me",
                                    "Successfully completed authorizer execution"]
