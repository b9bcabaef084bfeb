"""Who may use a WebSocket API and what it accepts: API keys and usage plans (REST's, naming
the WebSocket API's stage) on `$connect`, with the plan's quota and throttle applied to the
connection's messages; a `$connect` authorizer's `usageIdentifierKey`."""

from __future__ import annotations

import json

import pytest

from helpers import make_client
from websocket_support import (  # noqa: F401
    deploy, function_arn, lambda_client, make_zip, mock_integration, open_ws, open_ws_eventually,
    recv_json,
    refused_status, route, v2, websocket_api, ws_url, ROLE,
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
