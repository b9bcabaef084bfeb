"""WebSocket APIs on a server with credentials: the @connections API wants SigV4 signatures
by a known key (boto3's `apigatewaymanagementapi`, and functions with the credentials
Tollgate gives them), and `AWS_IAM` on `$connect` wants a signed handshake (headers or a
presigned URL) whose caller's policies allow `$connect`."""

from __future__ import annotations

import json
import subprocess
import tempfile

import pytest
import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from helpers import REGION, tollgate_bin
from lambda_support import wait_for
from websocket_support import (
    chat_api, deploy, management_client, mock_integration, open_ws, open_ws_eventually, recv_json,
    refused_status, route, v2_client, websocket_api, ws_url,
)

pytestmark = pytest.mark.no_reset


@pytest.fixture
def locked(spawn_server):
    """A server with the bootstrap key `test`/`test` (what the helpers' clients sign with)."""
    return spawn_server(env={"TOLLGATE_ACCESS_KEY_ID": "test", "TOLLGATE_SECRET_ACCESS_KEY": "test"})


def create_user(data_dir: str, name: str, policy: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(policy, file)
        file.flush()
        result = subprocess.run(
            [str(tollgate_bin()), "credentials", "--data-dir", data_dir,
             "create", "--user", name, "--policy", file.name],
            capture_output=True, text=True, timeout=30,
        )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["AccessKey"]


def connection_id(read_events) -> str:
    events = wait_for(lambda: [e for e in read_events()
                               if e["requestContext"]["eventType"] == "CONNECT"], timeout=60)
    return events[-1]["requestContext"]["connectionId"]


def test_connections_api_wants_signatures_by_known_keys(locked, tmp_path):
    api_id, read_events = chat_api(v2_client(locked.url), locked.url, tmp_path)
    stage_url = f"{locked.url}/_aws/execute-api/{api_id}/dev"
    url = ws_url(locked.url, api_id, "dev")
    with open_ws(url) as alice, open_ws(url) as bob:
        wait_for(lambda: len([e for e in read_events()
                              if e["requestContext"]["eventType"] == "CONNECT"]) == 2, timeout=60)
        bob_id = connection_id(read_events)
        # Signed by the bootstrap key: served.
        management_client(stage_url).post_to_connection(ConnectionId=bob_id, Data=b'{"n": 1}')
        assert recv_json(bob) == {"n": 1}
        # The chat function signs with the key Tollgate put in its environment.
        alice.send(json.dumps({"action": "send", "text": "hi"}))
        assert recv_json(bob, timeout=60)["text"] == "hi"

        unsigned = requests.post(f"{stage_url}/@connections/{bob_id}", data=b"x", timeout=10)
        assert unsigned.status_code == 403
        assert unsigned.json() == {"message": "Missing Authentication Token"}
        assert unsigned.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
        for method in (requests.get, requests.delete):
            assert method(f"{stage_url}/@connections/{bob_id}", timeout=10).status_code == 403

        with pytest.raises(ClientError) as wrong:
            management_client(stage_url, "test", "not-the-secret").get_connection(
                ConnectionId=bob_id)
        assert wrong.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert wrong.value.response["Error"]["Code"] == "InvalidSignatureException"
        with pytest.raises(ClientError) as unknown:
            management_client(stage_url, "AKIAUNKNOWN000000000", "x").delete_connection(
                ConnectionId=bob_id)
        assert unknown.value.response["Error"]["Code"] == "UnrecognizedClientException"
        # Nothing refused reached the connection: it is still open and served.
        assert management_client(stage_url).get_connection(ConnectionId=bob_id)["ConnectedAt"]


def test_connections_api_is_open_without_credentials(spawn_server, tmp_path):
    srv = spawn_server()
    v2 = v2_client(srv.url)
    api_id = websocket_api(v2)
    route(v2, api_id, "$default", mock_integration(v2, api_id, "{}"), two_way=True)
    deploy(v2, api_id)
    response = requests.get(f"{srv.url}/dev/@connections/nobody", timeout=10)
    assert response.status_code == 410


def signed_headers(url: str, key: str, secret: str) -> dict:
    request = AWSRequest(method="GET", url=url.replace("ws://", "http://", 1))
    SigV4Auth(Credentials(key, secret), "execute-api", REGION).add_auth(request)
    return {name: value for name, value in request.headers.items() if name.lower() != "host"}


def presigned(url: str, key: str, secret: str) -> str:
    request = AWSRequest(method="GET", url=url.replace("ws://", "http://", 1))
    SigV4QueryAuth(Credentials(key, secret), "execute-api", REGION, expires=300).add_auth(request)
    return request.url.replace("http://", "ws://", 1)


def test_aws_iam_connect_wants_a_signed_handshake_allowed_by_policy(locked):
    v2 = v2_client(locked.url)
    api_id = websocket_api(v2)
    connect = v2.create_route(ApiId=api_id, RouteKey="$connect", AuthorizationType="AWS_IAM")
    assert connect["AuthorizationType"] == "AWS_IAM"
    route(v2, api_id, "$default", mock_integration(v2, api_id, "{}"), two_way=True)
    deploy(v2, api_id)
    arn = f"arn:aws:execute-api:{REGION}:000000000000:{api_id}"
    allowed = create_user(locked.data_dir, "caller", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{arn}/dev/$connect"}]})
    other = create_user(locked.data_dir, "other", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{arn}/prod/*"}]})
    url = ws_url(locked.url, api_id, "dev")

    with pytest.raises(Exception) as unsigned:
        open_ws(url)
    assert refused_status(unsigned.value) == 403
    with pytest.raises(Exception) as wrong:
        open_ws(url, additional_headers=signed_headers(url, allowed["AccessKeyId"], "nope"))
    assert refused_status(wrong.value) == 403
    with pytest.raises(Exception) as denied:
        open_ws(url, additional_headers=signed_headers(url, other["AccessKeyId"],
                                                       other["SecretAccessKey"]))
    assert refused_status(denied.value) == 403

    headers = signed_headers(url, allowed["AccessKeyId"], allowed["SecretAccessKey"])
    with open_ws_eventually(url, additional_headers=headers) as ws:
        ws.send("{}")
        assert recv_json(ws) == {}
    with open_ws(presigned(url, allowed["AccessKeyId"], allowed["SecretAccessKey"])) as ws:
        ws.send("{}")
        assert recv_json(ws) == {}


def test_aws_iam_connect_events_carry_the_caller(locked, tmp_path):
    v2 = v2_client(locked.url)
    api_id, read_events = chat_api(v2, locked.url, tmp_path)
    connect_route = [r for r in v2.get_routes(ApiId=api_id)["Items"]
                     if r["RouteKey"] == "$connect"][0]
    v2.update_route(ApiId=api_id, RouteId=connect_route["RouteId"], AuthorizationType="AWS_IAM")
    deploy(v2, api_id, "live")
    arn = f"arn:aws:execute-api:{REGION}:000000000000:{api_id}"
    user = create_user(locked.data_dir, "member", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{arn}/*"}]})
    url = ws_url(locked.url, api_id, "live")

    with open_ws_eventually(presigned(url, user["AccessKeyId"], user["SecretAccessKey"])):
        identity = wait_for(lambda: read_events(), timeout=60)[0]["requestContext"]["identity"]
    assert identity["accessKey"] == user["AccessKeyId"]
    assert identity["userArn"] == user["Arn"]
    assert identity["accountId"] == "000000000000"

