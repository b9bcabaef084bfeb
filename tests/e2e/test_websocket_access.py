"""Who may use a WebSocket API and what it accepts: API keys and usage plans (REST's, naming
the WebSocket API's stage) on `$connect`, with the plan's quota and throttle applied to the
connection's messages; a `$connect` authorizer's `usageIdentifierKey`; request models chosen
by a route's `ModelSelectionExpression`; the account's new-connection rate."""

from __future__ import annotations

import json

import pytest

from helpers import make_client
from websocket_support import (  # noqa: F401
    deploy, function_arn, lambda_client, make_zip, mock_integration, open_ws, open_ws_eventually,
    recv_json, refused_status, route, v2, v2_client, websocket_api, ws_url, ROLE,
)


def refused(url: str, **kwargs) -> int:
    with pytest.raises(Exception) as e:
        open_ws(url, **kwargs)
    return refused_status(e.value)


def keyed_api(v2, selection: str | None = None, **connect) -> str:
    """A WebSocket API whose `$connect` (with `connect`'s settings) requires an API key, with
    a MOCK `$default` answering `{"ok": true}`; deployed to `dev`."""
    params = {"Name": "keyed", "ProtocolType": "WEBSOCKET",
              "RouteSelectionExpression": "$request.body.action"}
    if selection:
        params["ApiKeySelectionExpression"] = selection
    api_id = v2.create_api(**params)["ApiId"]
    v2.create_route(ApiId=api_id, RouteKey="$connect", ApiKeyRequired=True,
                    **{k: v(api_id) if callable(v) else v for k, v in connect.items()})
    route(v2, api_id, "$default", mock_integration(v2, api_id, '{"ok": true}'), two_way=True)
    deploy(v2, api_id)
    return api_id


def plan_with_key(apigw, api_id: str, stage: str, **limits) -> str:
    key = apigw.create_api_key(name=f"key-{stage}", enabled=True)
    plan = apigw.create_usage_plan(name=f"plan-{stage}",
                                   apiStages=[{"apiId": api_id, "stage": stage}], **limits)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return key["value"]


def test_connect_wants_a_key_of_a_plan_of_the_stage_and_messages_count(v2, endpoint):
    apigw = make_client(endpoint)
    api_id = keyed_api(v2)
    deploy(v2, api_id, "other")
    # Connect and three messages fit in the quota of 4; the fourth message does not.
    value = plan_with_key(apigw, api_id, "dev", quota={"limit": 4, "period": "DAY"})
    other_stage = plan_with_key(apigw, api_id, "other")
    disabled = apigw.create_api_key(name="off", enabled=False)["value"]
    url = ws_url(endpoint, api_id, "dev")

    with open_ws_eventually(url, additional_headers={"x-api-key": value}) as ws:
        # Now that the keys are served: the others are refused.
        assert refused(url) == 403
        assert refused(url, additional_headers={"x-api-key": "no-such-key"}) == 403
        assert refused(url, additional_headers={"x-api-key": other_stage}) == 403
        assert refused(url, additional_headers={"x-api-key": disabled}) == 403
        for _ in range(3):
            ws.send("{}")
            assert recv_json(ws) == {"ok": True}
        ws.send("{}")
        over = recv_json(ws)
        assert over["message"] == "Limit Exceeded"
        assert over["connectionId"] and over["requestId"]
    # The quota is spent: the next handshake is refused with 429.
    assert refused(url, additional_headers={"x-api-key": value}) == 429


def test_plan_throttle_applies_to_messages(v2, endpoint):
    apigw = make_client(endpoint)
    api_id = keyed_api(v2)
    value = plan_with_key(apigw, api_id, "dev", throttle={"rateLimit": 0.01, "burstLimit": 3})
    url = ws_url(endpoint, api_id, "dev")
    with open_ws_eventually(url, additional_headers={"x-api-key": value}) as ws:
        answers = []
        for _ in range(4):
            ws.send("{}")
            answers.append(recv_json(ws))
    # The handshake took one of the burst of 3.
    assert answers[:2] == [{"ok": True}, {"ok": True}]
    assert [a.get("message") for a in answers[2:]] == ["Too Many Requests"] * 2


def test_usage_plans_reject_unknown_websocket_stages(v2, endpoint):
    apigw = make_client(endpoint)
    api_id = websocket_api(v2)
    with pytest.raises(Exception) as e:
        apigw.create_usage_plan(name="p", apiStages=[{"apiId": api_id, "stage": "nope"}])
    assert e.value.response["Error"]["Code"] == "NotFoundException"


KEY_AUTHORIZER = '''
def handler(event, context):
    return {
        "principalId": "user-1",
        "usageIdentifierKey": event["queryStringParameters"].get("key"),
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
    }
'''


def test_the_key_can_come_from_the_connect_authorizer(v2, endpoint):
    apigw = make_client(endpoint)
    lambda_client(endpoint).create_function(
        FunctionName="keyauth", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": KEY_AUTHORIZER})})

    def authorizer(api_id: str) -> str:
        return v2.create_authorizer(
            ApiId=api_id, Name="keys", AuthorizerType="REQUEST",
            AuthorizerUri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn('keyauth')}/invocations",
            IdentitySource=["route.request.querystring.key"],
        )["AuthorizerId"]

    api_id = keyed_api(v2, "$context.authorizer.usageIdentifierKey",
                       AuthorizationType="CUSTOM", AuthorizerId=authorizer)
    value = plan_with_key(apigw, api_id, "dev")
    # The header is not where the key is read from.
    assert refused(ws_url(endpoint, api_id, "dev", "key=wrong"),
                   additional_headers={"x-api-key": value}) == 403
    with open_ws_eventually(ws_url(endpoint, api_id, "dev", f"key={value}")) as ws:
        ws.send(json.dumps({}))
        assert recv_json(ws, timeout=60) == {"ok": True}


# ---- request validation ------------------------------------------------------------------

CHAT_SCHEMA = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
               "required": ["action", "text"],
               "properties": {"action": {"type": "string"},
                              "text": {"type": "string", "maxLength": 10}}}
JOIN_SCHEMA = {"type": "object", "required": ["room"],
               "properties": {"room": {"type": "integer"}}}


def test_messages_are_validated_against_the_selected_model(v2, endpoint):
    api_id = websocket_api(v2)
    for name, schema in [("Chat", CHAT_SCHEMA), ("Join", JOIN_SCHEMA)]:
        v2.create_model(ApiId=api_id, Name=name, ContentType="application/json",
                        Schema=json.dumps(schema))
    # The MOCK integration answers only when called: a refused message gets AWS's error.
    integration = mock_integration(v2, api_id, '{"called": true}')
    route_id = route(v2, api_id, "send", integration, two_way=True)
    v2.update_route(ApiId=api_id, RouteId=route_id, ModelSelectionExpression="$request.body.kind",
                    RequestModels={"join": "Join", "$default": "Chat"})
    strict = route(v2, api_id, "strict", integration, two_way=True)
    v2.update_route(ApiId=api_id, RouteId=strict, ModelSelectionExpression="$request.body.kind",
                    RequestModels={"join": "Join"})
    route(v2, api_id, "$default", integration, two_way=True)
    deploy(v2, api_id)
    with open_ws(ws_url(endpoint, api_id, "dev")) as ws:
        def answer(message) -> dict:
            ws.send(message if isinstance(message, str) else json.dumps(message))
            return recv_json(ws)

        assert answer({"action": "send", "text": "hi"}) == {"called": True}
        assert answer({"action": "send", "kind": "join", "room": 7}) == {"called": True}
        for bad in [{"action": "send", "text": "far too long a text"},
                    {"action": "send"},
                    {"action": "send", "kind": "join", "room": "seven"}]:
            refused_answer = answer(bad)
            assert refused_answer["message"] == "Invalid request body", bad
            assert refused_answer["connectionId"] and refused_answer["requestId"]
        # No model for the key and no `$default` model: the message fails validation.
        assert answer({"action": "strict", "kind": "other"})["message"] == "Invalid request body"
        assert answer({"action": "strict", "kind": "join", "room": 1}) == {"called": True}
        # Routes without a model selection expression are not validated.
        assert answer({"action": "anything"}) == {"called": True}


# ---- new-connection rate --------------------------------------------------------------------


def test_new_connections_per_second_are_limited_per_account(spawn_server):
    srv = spawn_server(env={"TOLLGATE_WS_CONNECT_RATE": "1"})
    v2c = v2_client(srv.url)
    apis = []
    for name in ("a", "b"):
        api_id = websocket_api(v2c, name)
        route(v2c, api_id, "$default", mock_integration(v2c, api_id, "{}"), two_way=True)
        deploy(v2c, api_id)
        apis.append(api_id)
    with open_ws(ws_url(srv.url, apis[0], "dev")) as first:
        # One new connection a second for the whole account, whichever API it is for.
        statuses = [refused(ws_url(srv.url, api_id, "dev")) for api_id in apis]
        assert statuses == [429, 429]
        # Open connections are not affected, and the next second admits a new one.
        first.send("{}")
        assert recv_json(first) == {}
        with open_ws_eventually(ws_url(srv.url, apis[1], "dev"), timeout=5):
            pass
