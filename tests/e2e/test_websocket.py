"""WebSocket APIs end to end: management with boto3's `apigatewayv2`, connections with the
`websockets` client, functions that get AWS's events and broadcast through `@connections`
with boto3's `apigatewaymanagementapi`, and the limits (message size, idle timeout)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from lambda_support import wait_for
from websocket_support import (  # noqa: F401
    chat_api, deploy, function_arn, lambda_client, make_zip, management_client,
    mock_integration, open_ws, recv_json, refused_status, route, v2, websocket_api,
    websockets, ws_url, ROLE,
)


def error_code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


# ---- management ---------------------------------------------------------------------------


def test_websocket_apis_are_managed_like_aws(v2):
    created = v2.create_api(
        Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )
    api_id = created["ApiId"]
    assert created["ProtocolType"] == "WEBSOCKET"
    assert created["RouteSelectionExpression"] == "$request.body.action"
    assert created["ApiKeySelectionExpression"] == "$request.header.x-api-key"
    assert created["ApiEndpoint"].startswith(f"ws://{api_id}.execute-api.")

    mock = v2.create_integration(
        ApiId=api_id,
        IntegrationType="MOCK",
        RequestTemplates={"$default": '{"statusCode": 200}'},
        TemplateSelectionExpression="\\$default",
    )
    assert mock["PassthroughBehavior"] == "WHEN_NO_MATCH"
    assert mock["IntegrationResponseSelectionExpression"] == "${integration.response.statuscode}"
    assert mock["TimeoutInMillis"] == 29000
    assert mock["RequestTemplates"] == {"$default": '{"statusCode": 200}'}
    lam = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function_arn("chat"),
    )
    assert lam["PayloadFormatVersion"] == "1.0"

    ir = v2.create_integration_response(
        ApiId=api_id,
        IntegrationId=mock["IntegrationId"],
        IntegrationResponseKey="/2\\d\\d/",
        ResponseTemplates={"$default": '{"ok": true}'},
    )
    assert ir["IntegrationResponseKey"] == "/2\\d\\d/"
    listed = v2.get_integration_responses(ApiId=api_id, IntegrationId=mock["IntegrationId"])
    assert [i["IntegrationResponseId"] for i in listed["Items"]] == [ir["IntegrationResponseId"]]
    updated = v2.update_integration_response(
        ApiId=api_id,
        IntegrationId=mock["IntegrationId"],
        IntegrationResponseId=ir["IntegrationResponseId"],
        IntegrationResponseKey="$default",
    )
    assert updated["IntegrationResponseKey"] == "$default"

    keys = ["$connect", "$disconnect", "$default", "sendmessage"]
    routes = {
        k: v2.create_route(
            ApiId=api_id, RouteKey=k, Target=f"integrations/{lam['IntegrationId']}"
        )
        for k in keys
    }
    two_way = v2.update_route(
        ApiId=api_id,
        RouteId=routes["sendmessage"]["RouteId"],
        RouteResponseSelectionExpression="$default",
        ModelSelectionExpression="$request.body.action",
    )
    assert two_way["RouteResponseSelectionExpression"] == "$default"
    rr = v2.create_route_response(
        ApiId=api_id, RouteId=two_way["RouteId"], RouteResponseKey="$default"
    )
    got = v2.get_route_response(
        ApiId=api_id, RouteId=two_way["RouteId"], RouteResponseId=rr["RouteResponseId"]
    )
    assert got["RouteResponseKey"] == "$default"
    assert sorted(r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]) == sorted(keys)

    model = v2.create_model(
        ApiId=api_id, Name="Message", ContentType="application/json", Schema='{"type": "object"}'
    )
    assert v2.get_model(ApiId=api_id, ModelId=model["ModelId"])["Name"] == "Message"

    deployment = v2.create_deployment(ApiId=api_id)
    stage = v2.create_stage(ApiId=api_id, StageName="dev", DeploymentId=deployment["DeploymentId"])
    assert stage["DeploymentId"] == deployment["DeploymentId"]

    v2.delete_route_response(
        ApiId=api_id, RouteId=two_way["RouteId"], RouteResponseId=rr["RouteResponseId"]
    )
    assert v2.get_route_responses(ApiId=api_id, RouteId=two_way["RouteId"])["Items"] == []


def test_bad_websocket_input_gets_aws_errors(v2):
    with pytest.raises(ClientError) as e:
        v2.create_api(Name="x", ProtocolType="WEBSOCKET")
    assert error_code(e) == "BadRequestException"
    with pytest.raises(ClientError) as e:
        v2.create_api(Name="x", ProtocolType="WEBSOCKET", RouteSelectionExpression="$nope.x")
    assert error_code(e) == "BadRequestException"
    api_id = websocket_api(v2)
    route_id = v2.create_route(ApiId=api_id, RouteKey="custom")["RouteId"]
    with pytest.raises(ClientError) as e:
        v2.create_route_response(ApiId=api_id, RouteId=route_id, RouteResponseKey="200")
    assert error_code(e) == "BadRequestException"
    with pytest.raises(ClientError) as e:
        v2.create_route_response(ApiId=api_id, RouteId="nope", RouteResponseKey="$default")
    assert error_code(e) == "NotFoundException"
    with pytest.raises(ClientError) as e:
        v2.create_route(ApiId=api_id, RouteKey="custom")
    assert error_code(e) == "ConflictException"
    with pytest.raises(ClientError) as e:
        v2.create_route(ApiId=api_id, RouteKey="other", AuthorizationType="AWS_IAM")
    assert error_code(e) == "BadRequestException"
    with pytest.raises(ClientError) as e:
        v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationUri="ftp://x")
    assert error_code(e) == "BadRequestException"
    # Route responses belong to WebSocket APIs only.
    http = v2.create_api(Name="h", ProtocolType="HTTP")["ApiId"]
    http_route = v2.create_route(ApiId=http, RouteKey="GET /a")["RouteId"]
    with pytest.raises(ClientError) as e:
        v2.create_route_response(ApiId=http, RouteId=http_route, RouteResponseKey="$default")
    assert error_code(e) == "BadRequestException"
    with pytest.raises(ClientError) as e:
        v2.create_route(ApiId=http, RouteKey="custom")
    assert error_code(e) == "BadRequestException"


# ---- data plane: MOCK ---------------------------------------------------------------------


def test_mock_routes_select_by_expression_and_answer_on_two_way_routes(v2, endpoint):
    api_id = websocket_api(v2)
    echo = mock_integration(
        v2, api_id, '{"route": "$context.routeKey", "id": "$context.connectionId"}'
    )
    fallback = mock_integration(v2, api_id, '{"route": "$context.routeKey"}')
    route(v2, api_id, "echo", echo, two_way=True)
    route(v2, api_id, "quiet", echo, two_way=False)
    route(v2, api_id, "$default", fallback, two_way=True)
    deploy(v2, api_id)

    with open_ws(ws_url(endpoint, api_id, "dev")) as ws:
        # One-way: nothing comes back, so the next answer is the two-way route's.
        ws.send(json.dumps({"action": "quiet"}))
        ws.send(json.dumps({"action": "echo"}))
        answer = recv_json(ws)
        assert answer["route"] == "echo"
        assert len(answer["id"]) == 16 and answer["id"].endswith("=")
        # Unknown actions and messages that are not JSON go to $default.
        ws.send(json.dumps({"action": "unknown"}))
        assert recv_json(ws) == {"route": "$default"}
        ws.send("not json")
        assert recv_json(ws) == {"route": "$default"}


def test_without_a_default_route_unmatched_messages_get_aws_error(v2, endpoint):
    api_id = websocket_api(v2)
    route(v2, api_id, "echo", mock_integration(v2, api_id, '{"ok": true}'), two_way=True)
    deploy(v2, api_id)
    with open_ws(ws_url(endpoint, api_id, "dev")) as ws:
        ws.send(json.dumps({"action": "nothing"}))
        answer = recv_json(ws)
        assert answer["message"] == "Forbidden"
        assert answer["connectionId"] and answer["requestId"]
        ws.send(json.dumps({"action": "echo"}))
        assert recv_json(ws) == {"ok": True}


def test_connect_refused_by_mock_status(v2, endpoint):
    api_id = websocket_api(v2)
    refuse = v2.create_integration(
        ApiId=api_id,
        IntegrationType="MOCK",
        RequestTemplates={"$default": '{"statusCode": 401}'},
        TemplateSelectionExpression="\\$default",
    )["IntegrationId"]
    route(v2, api_id, "$connect", refuse)
    deploy(v2, api_id)
    with pytest.raises(Exception) as e:
        open_ws(ws_url(endpoint, api_id, "dev"))
    assert refused_status(e.value) == 401


def test_unknown_stage_and_plain_http_are_refused(v2, endpoint):
    import requests

    api_id = websocket_api(v2)
    route(v2, api_id, "$default", mock_integration(v2, api_id, "{}"), two_way=True)
    deploy(v2, api_id)
    with pytest.raises(Exception) as e:
        open_ws(ws_url(endpoint, api_id, "nope"))
    assert refused_status(e.value) == 403
    plain = requests.get(f"{endpoint}/_aws/execute-api/{api_id}/dev", timeout=10)
    assert plain.status_code == 426


# ---- data plane: functions and @connections -----------------------------------------------


@pytest.fixture
def chat(v2, endpoint, tmp_path):
    return chat_api(v2, endpoint, tmp_path)


def test_lambda_gets_aws_events_for_connect_message_and_disconnect(chat, endpoint):
    api_id, read_events = chat
    with open_ws(ws_url(endpoint, api_id, "dev", "team=blue"),
                 additional_headers={"X-Custom": "yes"}) as ws:
        ws.send(json.dumps({"action": "hello", "n": 1}))
        answer = recv_json(ws, timeout=60)
        assert answer == {"echo": {"action": "hello", "n": 1}, "routeKey": "$default"}
    events = wait_for(lambda: len(read_events()) >= 3 and read_events(), timeout=30)
    connect, message, disconnect = events[:3]

    ctx = connect["requestContext"]
    assert ctx["eventType"] == "CONNECT" and ctx["routeKey"] == "$connect"
    assert ctx["apiId"] == api_id and ctx["stage"] == "dev"
    assert ctx["domainName"] == endpoint.removeprefix("http://")
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert isinstance(ctx["connectedAt"], int) and isinstance(ctx["requestTimeEpoch"], int)
    assert ctx["messageDirection"] == "IN" and "messageId" not in ctx
    assert connect["headers"]["X-Custom"] == "yes"
    assert connect["headers"]["Sec-WebSocket-Version"] == "13"
    assert connect["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert connect["queryStringParameters"] == {"team": "blue"}
    assert connect["isBase64Encoded"] is False

    mctx = message["requestContext"]
    assert mctx["eventType"] == "MESSAGE" and mctx["routeKey"] == "$default"
    assert mctx["connectionId"] == ctx["connectionId"]
    assert mctx["connectedAt"] == ctx["connectedAt"]
    assert mctx["messageId"] and mctx["messageId"] != mctx["requestId"]
    assert json.loads(message["body"]) == {"action": "hello", "n": 1}
    assert message["isBase64Encoded"] is False
    assert "headers" not in message

    dctx = disconnect["requestContext"]
    assert dctx["eventType"] == "DISCONNECT" and dctx["routeKey"] == "$disconnect"
    assert dctx["connectionId"] == ctx["connectionId"]
    assert dctx["disconnectStatusCode"] == 1000
    assert dctx["disconnectReason"]


def test_lambda_refuses_connect_and_function_errors_reach_the_client(chat, endpoint):
    api_id, _ = chat
    with pytest.raises(Exception) as e:
        open_ws(ws_url(endpoint, api_id, "dev", "deny=1"))
    assert refused_status(e.value) == 403
    with open_ws(ws_url(endpoint, api_id, "dev")) as ws:
        ws.send(json.dumps({"action": "fail"}))
        answer = recv_json(ws, timeout=60)
        assert answer["message"] == "Internal server error"


def test_chat_function_broadcasts_through_connections_api(chat, endpoint):
    api_id, read_events = chat
    url = ws_url(endpoint, api_id, "dev")
    with open_ws(url) as alice, open_ws(url) as bob, open_ws(url) as carol:
        wait_for(lambda: len([e for e in read_events()
                              if e["requestContext"]["eventType"] == "CONNECT"]) == 3, timeout=60)
        alice.send(json.dumps({"action": "send", "text": "hi all"}))
        got_bob = recv_json(bob, timeout=60)
        got_carol = recv_json(carol, timeout=60)
        assert got_bob["text"] == got_carol["text"] == "hi all"
        assert got_bob["from"] == got_carol["from"]
        # Alice is not sent her own message (send is one-way): nothing arrives.
        with pytest.raises(TimeoutError):
            alice.recv(timeout=1)


def test_connections_api_post_get_delete_and_gone(chat, endpoint, v2):
    api_id, read_events = chat
    with open_ws(ws_url(endpoint, api_id, "dev"), user_agent_header="ws-test/1") as ws:
        ws.send(json.dumps({"action": "whoami"}))
        recv_json(ws, timeout=60)
        connection_id = [e for e in read_events()
                         if e["requestContext"]["eventType"] == "MESSAGE"][0]["requestContext"]["connectionId"]
        # On the API's path-style address, and on the gateway's own address.
        for url in [f"{endpoint}/_aws/execute-api/{api_id}/dev", f"{endpoint}/dev"]:
            api = management_client(url)
            api.post_to_connection(ConnectionId=connection_id, Data=b'{"pushed": true}')
            assert recv_json(ws) == {"pushed": True}
            info = api.get_connection(ConnectionId=connection_id)
            assert info["Identity"]["SourceIp"] == "127.0.0.1"
            assert info["Identity"]["UserAgent"] == "ws-test/1"
            assert info["ConnectedAt"] <= info["LastActiveAt"]
        api.delete_connection(ConnectionId=connection_id)
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 1000
    for call in [
        lambda: api.post_to_connection(ConnectionId=connection_id, Data=b"x"),
        lambda: api.get_connection(ConnectionId=connection_id),
        lambda: api.delete_connection(ConnectionId=connection_id),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "GoneException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    with pytest.raises(ClientError) as e:
        management_client(f"{endpoint}/dev").post_to_connection(
            ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x" * (129 * 1024))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


# ---- limits -------------------------------------------------------------------------------


def test_messages_over_128_kb_close_with_1009_and_fragments_are_joined(chat, endpoint):
    api_id, _ = chat
    with open_ws(ws_url(endpoint, api_id, "dev")) as ws:
        # 96 KB in 32 KB frames: within the limits.
        text = json.dumps({"action": "big", "pad": "x" * (96 * 1024)})
        ws.send([text[i:i + 32 * 1024] for i in range(0, len(text), 32 * 1024)])
        answer = recv_json(ws, timeout=60)
        assert len(answer["echo"]["pad"]) == 96 * 1024
        # A single frame over 32 KB closes the connection with 1009.
        ws.send("y" * (40 * 1024))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 1009
    with open_ws(ws_url(endpoint, api_id, "dev")) as ws:
        big = "z" * (160 * 1024)
        ws.send([big[i:i + 16 * 1024] for i in range(0, len(big), 16 * 1024)])
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 1009


@pytest.mark.parametrize("limit", ["idle", "maximum"])
def test_idle_and_maximum_duration_close_with_1001_and_run_disconnect(spawn_server, tmp_path, limit):
    # Short limits: 2 s idle, and a 4 s maximum. In the "maximum" case the client sends a
    # message every 0.5 s, so only the maximum duration can end the connection.
    maximum = 4 if limit == "maximum" else 60
    srv = spawn_server(env={"TOLLGATE_WS_IDLE_TIMEOUT_SECS": "2",
                            "TOLLGATE_WS_MAX_CONNECTION_SECS": str(maximum)})
    from websocket_support import v2_client

    api_id, read_events = chat_api(v2_client(srv.url), srv.url, tmp_path)
    with open_ws(ws_url(srv.url, api_id, "dev"), ping_interval=None) as ws:
        opened = time.monotonic()
        ws.send(json.dumps({"action": "hello"}))
        recv_json(ws, timeout=60)  # the function is warm: its invocations take milliseconds
        quiet_from = time.monotonic()
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            while True:
                if limit == "maximum":
                    ws.send(json.dumps({"action": "hello"}))
                    recv_json(ws, timeout=10)
                    time.sleep(0.5)
                else:
                    ws.recv(timeout=10)
        ended = time.monotonic()
    assert closed.value.rcvd.code == 1001
    if limit == "maximum":
        assert maximum - 0.5 <= ended - opened <= maximum + 3
    else:
        assert 1.5 <= ended - quiet_from <= 6
    disconnect = wait_for(lambda: [e for e in read_events()
                                   if e["requestContext"]["eventType"] == "DISCONNECT"], timeout=30)
    assert len(disconnect) == 1
    assert disconnect[0]["requestContext"]["disconnectStatusCode"] == 1001
    assert disconnect[0]["requestContext"]["routeKey"] == "$disconnect"


# ---- $connect authorizer ------------------------------------------------------------------

AUTHORIZER_SOURCE = '''
import json

def authorize(event, context):
    token = event["headers"].get("Auth")
    effect = "Allow" if token == "let-me-in" else "Deny"
    assert event["type"] == "REQUEST" and event["methodArn"].endswith("/dev/$connect")
    assert event["requestContext"]["routeKey"] == "$connect"
    return {
        "principalId": "user-1",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
        "context": {"team": "blue", "count": 3},
    }

def echo(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
'''


def test_connect_lambda_request_authorizer(v2, endpoint):
    lam = lambda_client(endpoint)
    for name, handler in [("wsauth", "app.authorize"), ("wsecho", "app.echo")]:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=handler,
                            Code={"ZipFile": make_zip({"app.py": AUTHORIZER_SOURCE})})
    api_id = websocket_api(v2)
    authorizer = v2.create_authorizer(
        ApiId=api_id, Name="tokens", AuthorizerType="REQUEST",
        AuthorizerUri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn('wsauth')}/invocations",
        IdentitySource=["route.request.header.Auth"],
    )
    assert "AuthorizerPayloadFormatVersion" not in authorizer
    with pytest.raises(ClientError) as e:
        v2.create_authorizer(ApiId=api_id, Name="bad", AuthorizerType="REQUEST",
                             AuthorizerUri=function_arn("wsauth"),
                             IdentitySource=["$request.header.Auth"])
    assert error_code(e) == "BadRequestException"
    echo = v2.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn("wsecho")
    )["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="$connect", AuthorizationType="CUSTOM",
                    AuthorizerId=authorizer["AuthorizerId"])
    route(v2, api_id, "$default", echo, two_way=True)
    deploy(v2, api_id)
    url = ws_url(endpoint, api_id, "dev")
    with pytest.raises(Exception) as e:
        open_ws(url)
    assert refused_status(e.value) == 401
    with pytest.raises(Exception) as e:
        open_ws(url, additional_headers={"Auth": "wrong"})
    assert refused_status(e.value) == 403
    with open_ws(url, additional_headers={"Auth": "let-me-in"}) as ws:
        ws.send("{}")
        assert recv_json(ws, timeout=60) == {"team": "blue", "count": 3, "principalId": "user-1"}
