"""Remote Lambda: a function that is not local runs on the endpoint of
`--remote-lambda-endpoint` (here `TOLLGATE_REMOTE_LAMBDA_ENDPOINT`, the same setting), called
with Lambda's Invoke signed with SigV4 (service `lambda`, the server's region, the credentials
of `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`).

The remote is a second Tollgate (which does not check signatures), and, to check the
signature, a small HTTP server that records what it receives and recomputes the signature with
botocore's own SigV4 signer.
"""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dataplane_support import RestApi, poll
from lambda_support import create_function, error_code, invoke_json, lambda_client, make_zip, status_of

PROXY_HANDLER = '''
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"X-Runs-On": "remote"},
            "body": json.dumps({"path": event["path"], "fn": context.function_name})}
'''


@pytest.fixture
def with_remote(spawn_server, monkeypatch):
    """(local, remote): two Tollgates, the local one forwarding to the remote."""
    remote = spawn_server()
    monkeypatch.setenv("TOLLGATE_REMOTE_LAMBDA_ENDPOINT", remote.url)
    local = spawn_server()
    return local, remote


def test_invoke_of_a_function_only_the_remote_has(with_remote):
    local, remote = with_remote
    far = lambda_client(remote.url)
    create_function(far, name="far-echo")
    here = lambda_client(local.url)
    assert here.list_functions()["Functions"] == []

    resp, body = invoke_json(here, "far-echo", {"hi": 1}, LogType="Tail")
    assert resp["StatusCode"] == 200
    assert body["event"] == {"hi": 1} and body["greeting"] == "hello"
    assert resp["ExecutedVersion"] == "$LATEST"
    assert "handling" in base64.b64decode(resp["LogResult"]).decode()

    resp, body = invoke_json(here, "far-echo", {"fail": "nope"})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorMessage"] == "nope"

    far.publish_version(FunctionName="far-echo")
    resp, body = invoke_json(here, "far-echo", {}, Qualifier="1")
    assert resp["ExecutedVersion"] == "1" and body["version"] == "1"

    resp = here.invoke(FunctionName="far-echo", InvocationType="Event", Payload=b"{}")
    assert resp["StatusCode"] == 202
    resp = here.invoke(FunctionName="far-echo", InvocationType="DryRun", Payload=b"{}")
    assert resp["StatusCode"] == 204

    # Unknown here and there: the remote's ResourceNotFoundException comes back as it is.
    with pytest.raises(here.exceptions.ResourceNotFoundException) as exc:
        here.invoke(FunctionName="nowhere", Payload=b"{}")
    assert status_of(exc) == 404
    # Functions known locally still run locally.
    create_function(here, name="near-echo", tag="local")
    _, body = invoke_json(here, "near-echo", {})
    assert body["tag"] == "local"


def test_data_plane_forwards_aws_proxy_to_the_remote(with_remote):
    local, remote = with_remote
    fn = lambda_client(remote.url).create_function(
        FunctionName="far-proxy", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/x",
        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": PROXY_HANDLER})})
    api = RestApi(local.client())
    rid = api.resource("/hello")
    key = {"restApiId": api.id, "resourceId": rid, "httpMethod": "GET"}
    api.apigw.put_method(**key, authorizationType="NONE")
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"
    api.apigw.put_integration(**key, type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
    api.deploy("test")
    resp = poll("GET", api.url(local.url, "test", "/hello"), until=200, timeout=20)
    assert resp.headers["X-Runs-On"] == "remote"
    assert resp.json() == {"path": "/hello", "fn": "far-proxy"}


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: list = []

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        answer = b'{"fake": true}'
        self.send_response(200)
        for name, value in [("Content-Type", "application/json"), ("Content-Length", str(len(answer))),
                            ("X-Amz-Executed-Version", "7"), ("X-Amz-Function-Error", "Handled"),
                            ("X-Amz-Log-Result", base64.b64encode(b"log").decode())]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_invoke_is_signed_with_sigv4(spawn_server, monkeypatch, recorder):
    monkeypatch.setenv("TOLLGATE_REMOTE_LAMBDA_ENDPOINT", f"http://127.0.0.1:{recorder.server_port}")
    monkeypatch.setenv("TOLLGATE_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDREMOTE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "remote/secret+key")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    local = spawn_server()

    resp, body = invoke_json(lambda_client(local.url), "ghost", {"a": 1}, Qualifier="live", LogType="Tail")
    assert body == {"fake": True}
    assert resp["ExecutedVersion"] == "7" and resp["FunctionError"] == "Handled"
    assert base64.b64decode(resp["LogResult"]) == b"log"

    [(path, headers, payload)] = _Recorder.received
    assert path == "/2015-03-31/functions/ghost/invocations?Qualifier=live"
    assert json.loads(payload) == {"a": 1}
    assert headers["x-amz-invocation-type"] == "RequestResponse"
    assert headers["x-amz-log-type"] == "Tail"
    assert headers["x-amz-security-token"] == "session-token"
    authorization = headers["authorization"]
    date = headers["x-amz-date"]
    assert authorization.startswith(
        f"AWS4-HMAC-SHA256 Credential=AKIDREMOTE/{date[:8]}/eu-west-1/lambda/aws4_request, SignedHeaders=")
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-security-token", "x-amz-invocation-type"} <= set(signed)

    # botocore recomputes the signature from what arrived.
    request = AWSRequest(method="POST", url=f"http://{headers['host']}{path}", data=payload,
                         headers={name: headers[name] for name in signed})
    request.context["timestamp"] = date
    signer = SigV4Auth(Credentials("AKIDREMOTE", "remote/secret+key", "session-token"), "lambda", "eu-west-1")
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    assert authorization.endswith(f"Signature={expected}")


def test_without_a_remote_an_unknown_function_is_not_found(endpoint):
    lam = lambda_client(endpoint)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as exc:
        lam.invoke(FunctionName="nowhere", Payload=b"{}")
    assert error_code(exc) == "ResourceNotFoundException"
    assert status_of(exc) == 404
