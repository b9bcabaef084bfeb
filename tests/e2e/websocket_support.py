"""Helpers for the WebSocket API end-to-end tests: building WebSocket APIs with boto3's
`apigatewayv2`, their addresses, a `websockets` client, and Python functions that record the
events they get, echo messages and broadcast through `@connections`."""

from __future__ import annotations

import json
import time

import requests

import boto3
import websockets
from botocore.config import Config
from websockets.sync.client import connect as ws_connect

from helpers import REGION
from lambda_support import ROLE, lambda_client, make_zip  # noqa: F401
from http_api_support import v2, v2_client, function_arn  # noqa: F401

# Records every event (to EVENTS_FILE), answers $connect with 403 when asked to (`?deny=1`),
# echoes messages on two-way routes, and broadcasts `{"action": "send"}` messages to every
# other connection through @connections, at the address the event gives.
CHAT_SOURCE = '''
import json
import os

import boto3

EVENTS = os.environ["EVENTS_FILE"]
PEERS = os.environ["PEERS_FILE"]


def peers():
    try:
        with open(PEERS) as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def handler(event, context):
    with open(EVENTS, "a") as f:
        f.write(json.dumps(event) + "\\n")
    ctx = event["requestContext"]
    me = ctx["connectionId"]
    if ctx["eventType"] == "CONNECT":
        if (event.get("queryStringParameters") or {}).get("deny"):
            return {"statusCode": 403}
        with open(PEERS, "a") as f:
            f.write(me + "\\n")
        return {"statusCode": 200}
    if ctx["eventType"] == "DISCONNECT":
        others = [p for p in peers() if p != me]
        with open(PEERS, "w") as f:
            f.write("".join(p + "\\n" for p in others))
        return {"statusCode": 200}
    body = json.loads(event["body"]) if event.get("body") else {}
    if body.get("action") == "send":
        # Signed with the credentials Tollgate puts in the function's environment.
        api = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url="http://" + ctx["domainName"] + "/" + ctx["stage"],
            region_name="us-east-1",
        )
        for peer in peers():
            if peer != me:
                api.post_to_connection(ConnectionId=peer, Data=json.dumps(
                    {"from": me, "text": body.get("text")}).encode())
        return {"statusCode": 200}
    if body.get("action") == "fail":
        raise ValueError("boom")
    return {"statusCode": 200, "body": json.dumps({"echo": body, "routeKey": ctx["routeKey"]})}
'''


def management_client(url: str, key: str = "test", secret: str = "test"):
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def ws_url(endpoint: str, api_id: str, stage: str, query: str = "") -> str:
    """The path-style address of a stage (`ws://127.0.0.1:PORT/_aws/execute-api/{api}/{stage}`)."""
    host = endpoint.removeprefix("http://")
    return f"ws://{host}/_aws/execute-api/{api_id}/{stage}" + (f"?{query}" if query else "")


def open_ws(url: str, **kwargs):
    return ws_connect(url, open_timeout=15, close_timeout=5, max_size=None, **kwargs)


def open_ws_eventually(url: str, timeout: float = 10.0, **kwargs):
    """`open_ws` until the handshake is accepted: keys, usage plans and credentials reach the
    data plane from the store's change feed, just after the management call returns."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return open_ws(url, **kwargs)
        except websockets.exceptions.InvalidStatus:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def refused_status(exc: Exception) -> int:
    """The HTTP status a refused handshake answered with (websockets 12 and 13+)."""
    response = getattr(exc, "response", None)
    if response is not None:
        return response.status_code
    return exc.status_code


def recv_json(ws, timeout: float = 15.0):
    return json.loads(ws.recv(timeout=timeout))


def websocket_api(v2, name: str = "chat", rse: str = "$request.body.action") -> str:
    return v2.create_api(Name=name, ProtocolType="WEBSOCKET", RouteSelectionExpression=rse)["ApiId"]


def mock_integration(v2, api_id: str, template: str) -> str:
    """A MOCK integration answering 200 whose `$default` integration response renders
    `template`."""
    integration = v2.create_integration(
        ApiId=api_id,
        IntegrationType="MOCK",
        RequestTemplates={"$default": '{"statusCode": 200}'},
        TemplateSelectionExpression="\\$default",
    )["IntegrationId"]
    v2.create_integration_response(
        ApiId=api_id,
        IntegrationId=integration,
        IntegrationResponseKey="$default",
        ResponseTemplates={"$default": template},
        TemplateSelectionExpression="\\$default",
    )
    return integration


def route(v2, api_id: str, key: str, integration: str | None, two_way: bool = False) -> str:
    params = {"ApiId": api_id, "RouteKey": key}
    if integration:
        params["Target"] = f"integrations/{integration}"
    if two_way:
        params["RouteResponseSelectionExpression"] = "$default"
    route_id = v2.create_route(**params)["RouteId"]
    if two_way:
        v2.create_route_response(ApiId=api_id, RouteId=route_id, RouteResponseKey="$default")
    return route_id


def deploy(v2, api_id: str, stage: str = "dev") -> None:
    """Deploys the API to a new stage and waits until the data plane serves it (plans are
    recompiled from the store's change feed, just after the call returns)."""
    deployment = v2.create_deployment(ApiId=api_id)["DeploymentId"]
    v2.create_stage(ApiId=api_id, StageName=stage, DeploymentId=deployment)
    endpoint = v2.meta.endpoint_url
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # A plain GET to a served WebSocket stage answers 426 (Upgrade Required).
        if requests.get(f"{endpoint}/_aws/execute-api/{api_id}/{stage}", timeout=5).status_code == 426:
            return
        time.sleep(0.05)
    raise AssertionError(f"stage {stage} of {api_id} was not served within 10 s")


__all__ = [
    "CHAT_SOURCE", "deploy", "function_arn", "lambda_client", "make_zip", "management_client",
    "mock_integration", "open_ws", "recv_json", "refused_status", "route", "v2", "websocket_api",
    "websockets", "ws_url", "ROLE",
]


def chat_api(v2, endpoint: str, tmp_path):
    """A WebSocket API whose every route runs the chat function; returns (api_id, events)."""
    events = tmp_path / "events.jsonl"
    peers = tmp_path / "peers.txt"
    lam = lambda_client(endpoint)
    lam.create_function(
        FunctionName="chat",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": CHAT_SOURCE})},
        Environment={"Variables": {"EVENTS_FILE": str(events), "PEERS_FILE": str(peers)}},
        Timeout=30,
    )
    api_id = websocket_api(v2)
    integration = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn("chat")
    )["IntegrationId"]
    for key in ["$connect", "$disconnect", "send"]:
        route(v2, api_id, key, integration)
    route(v2, api_id, "$default", integration, two_way=True)
    route(v2, api_id, "fail", integration, two_way=True)
    deploy(v2, api_id)

    def read_events():
        if not events.exists():
            return []
        return [json.loads(line) for line in events.read_text().splitlines() if line]

    return api_id, read_events
