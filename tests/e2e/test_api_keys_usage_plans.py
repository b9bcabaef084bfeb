"""Management API: API keys, usage plans, usage plan keys, usage, and authorizers.

Shapes as the `apigateway` service model defines them (ApiKey, UsagePlan, UsagePlanKey,
Usage, Authorizer); list operations return `items` through botocore (`item` on the wire).
"""

import datetime

import pytest
from botocore.exceptions import ClientError

from dataplane_support import RestApi
from helpers import assert_error


def test_api_key_lifecycle(apigw):
    created = apigw.create_api_key(name="alice", description="d", enabled=True, customerId="cust-1",
                                   tags={"team": "a"})
    assert len(created["id"]) == 10
    assert len(created["value"]) == 40
    assert created["enabled"] is True
    assert created["stageKeys"] == []
    assert isinstance(created["createdDate"], datetime.datetime)

    got = apigw.get_api_key(apiKey=created["id"])
    assert "value" not in got
    assert apigw.get_api_key(apiKey=created["id"], includeValue=True)["value"] == created["value"]

    apigw.create_api_key(name="bob", value="b" * 30)
    names = [k["name"] for k in apigw.get_api_keys()["items"]]
    assert names == ["alice", "bob"]
    assert [k["name"] for k in apigw.get_api_keys(nameQuery="al")["items"]] == ["alice"]
    assert [k["name"] for k in apigw.get_api_keys(customerId="cust-1")["items"]] == ["alice"]
    with_values = apigw.get_api_keys(includeValues=True)["items"]
    assert {k["value"] for k in with_values} == {created["value"], "b" * 30}
    assert all("value" not in k for k in apigw.get_api_keys()["items"])

    updated = apigw.update_api_key(apiKey=created["id"], patchOperations=[
        {"op": "replace", "path": "/enabled", "value": "false"},
        {"op": "replace", "path": "/name", "value": "alice2"},
    ])
    assert updated["enabled"] is False and updated["name"] == "alice2"

    apigw.delete_api_key(apiKey=created["id"])
    with pytest.raises(ClientError) as exc:
        apigw.get_api_key(apiKey=created["id"])
    assert_error(exc, "NotFoundException", 404)


def test_api_key_values_are_unique_and_at_least_20_characters(apigw):
    apigw.create_api_key(name="a", value="v" * 25)
    with pytest.raises(ClientError) as exc:
        apigw.create_api_key(name="b", value="v" * 25)
    assert_error(exc, "ConflictException", 409)
    with pytest.raises(ClientError) as exc:
        apigw.create_api_key(name="c", value="short")
    assert_error(exc, "BadRequestException", 400)


def test_import_api_keys_from_csv(apigw):
    plan = apigw.create_usage_plan(name="imported")
    csv = (
        "Name,Key,Description,Enabled,UsagePlanIds\n"
        f"one,{'1' * 24},first,true,{plan['id']}\n"
        f"two,{'2' * 24},\"second, with comma\",false,\n"
    )
    out = apigw.import_api_keys(body=csv.encode(), format="csv")
    assert len(out["ids"]) == 2
    keys = {k["name"]: k for k in apigw.get_api_keys(includeValues=True)["items"]}
    assert keys["one"]["enabled"] is True and keys["two"]["enabled"] is False
    assert keys["two"]["description"] == "second, with comma"
    members = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [m["name"] for m in members] == ["one"]
    assert members[0]["type"] == "API_KEY" and members[0]["value"] == "1" * 24


def _api_with_stage(apigw, stage="dev"):
    api = RestApi(apigw, "keys")
    api.mock("/pets")
    api.deploy(stage)
    return api


def test_usage_plan_lifecycle(apigw):
    api = _api_with_stage(apigw)
    plan = apigw.create_usage_plan(
        name="gold", description="best",
        apiStages=[{"apiId": api.id, "stage": "dev",
                    "throttle": {"/pets/GET": {"rateLimit": 5.0, "burstLimit": 2}}}],
        throttle={"rateLimit": 100.0, "burstLimit": 50},
        quota={"limit": 1000, "period": "MONTH", "offset": 0},
    )
    assert plan["name"] == "gold"
    assert plan["apiStages"][0]["throttle"]["/pets/GET"] == {"rateLimit": 5.0, "burstLimit": 2}
    assert plan["quota"] == {"limit": 1000, "offset": 0, "period": "MONTH"}
    strip = lambda d: {k: v for k, v in d.items() if k != "ResponseMetadata"}  # noqa: E731
    assert strip(apigw.get_usage_plan(usagePlanId=plan["id"])) == strip(plan)

    updated = apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
        {"op": "replace", "path": f"/apiStages/{api.id}:dev/throttle/~1pets/GET/rateLimit", "value": "7"},
        {"op": "replace", "path": "/quota/limit", "value": "10"},
        {"op": "replace", "path": "/quota/period", "value": "DAY"},
        {"op": "replace", "path": "/throttle/burstLimit", "value": "9"},
    ])
    assert updated["apiStages"][0]["throttle"]["/pets/GET"]["rateLimit"] == 7.0
    assert updated["quota"]["limit"] == 10 and updated["quota"]["period"] == "DAY"
    assert updated["throttle"]["burstLimit"] == 9

    with pytest.raises(ClientError) as exc:
        apigw.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
            {"op": "replace", "path": "/quota/period", "value": "YEAR"}])
    assert exc.value.response["Error"]["Code"] in ("BadRequestException", "ValidationException")

    with pytest.raises(ClientError) as exc:
        apigw.create_usage_plan(name="bad", apiStages=[{"apiId": api.id, "stage": "nope"}])
    assert_error(exc, "NotFoundException", 404)

    key = apigw.create_api_key(name="k", enabled=True)
    member = apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert member == {**member, "id": key["id"], "type": "API_KEY", "value": key["value"], "name": "k"}
    assert apigw.get_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])["id"] == key["id"]
    assert [p["id"] for p in apigw.get_usage_plans(keyId=key["id"])["items"]] == [plan["id"]]

    # A key may not be in two plans that cover the same stage.
    other = apigw.create_usage_plan(name="silver", apiStages=[{"apiId": api.id, "stage": "dev"}])
    with pytest.raises(ClientError) as exc:
        apigw.create_usage_plan_key(usagePlanId=other["id"], keyId=key["id"], keyType="API_KEY")
    assert_error(exc, "ConflictException", 409)

    apigw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
    with pytest.raises(ClientError) as exc:
        apigw.get_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
    assert_error(exc, "NotFoundException", 404)

    apigw.delete_usage_plan(usagePlanId=plan["id"])
    with pytest.raises(ClientError) as exc:
        apigw.get_usage_plan(usagePlanId=plan["id"])
    assert_error(exc, "NotFoundException", 404)


def test_get_usage_shape_without_traffic(apigw):
    api = _api_with_stage(apigw)
    plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": api.id, "stage": "dev"}],
                                   quota={"limit": 50, "period": "WEEK"})
    key = apigw.create_api_key(name="k", enabled=True)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    usage = apigw.get_usage(usagePlanId=plan["id"], startDate="2026-01-01", endDate="2026-01-03")
    assert usage["usagePlanId"] == plan["id"]
    assert usage["startDate"] == "2026-01-01" and usage["endDate"] == "2026-01-03"
    assert usage["items"] == {key["id"]: [[0, 50], [0, 50], [0, 50]]}
    with pytest.raises(ClientError) as exc:
        apigw.get_usage(usagePlanId=plan["id"], startDate="2026-13-01", endDate="2026-01-03")
    assert_error(exc, "BadRequestException", 400)


def test_authorizer_lifecycle(apigw):
    api = RestApi(apigw, "auth")
    uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:auth/invocations"
    created = apigw.create_authorizer(restApiId=api.id, name="tok", type="TOKEN", authorizerUri=uri,
                                      identitySource="method.request.header.Authorization",
                                      identityValidationExpression="^Bearer .+$")
    assert created["authorizerResultTtlInSeconds"] == 300
    assert created["type"] == "TOKEN"
    assert apigw.get_authorizer(restApiId=api.id, authorizerId=created["id"])["name"] == "tok"
    cognito = apigw.create_authorizer(restApiId=api.id, name="cog", type="COGNITO_USER_POOLS",
                                      providerARNs=["arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_X"],
                                      identitySource="method.request.header.Authorization")
    assert cognito["providerARNs"][0].endswith("us-east-1_X")
    assert len(apigw.get_authorizers(restApiId=api.id)["items"]) == 2

    updated = apigw.update_authorizer(restApiId=api.id, authorizerId=created["id"], patchOperations=[
        {"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"}])
    assert updated["authorizerResultTtlInSeconds"] == 0

    with pytest.raises(ClientError) as exc:
        apigw.create_authorizer(restApiId=api.id, name="bad", type="TOKEN", authorizerUri=uri,
                                identitySource="method.request.querystring.x")
    assert_error(exc, "BadRequestException", 400)

    # In use by a method: AWS refuses to delete it.
    rid = api.resource("/secure")
    apigw.put_method(restApiId=api.id, resourceId=rid, httpMethod="GET", authorizationType="CUSTOM",
                     authorizerId=created["id"])
    with pytest.raises(ClientError) as exc:
        apigw.delete_authorizer(restApiId=api.id, authorizerId=created["id"])
    assert_error(exc, "ConflictException", 409)
    apigw.delete_method(restApiId=api.id, resourceId=rid, httpMethod="GET")
    apigw.delete_authorizer(restApiId=api.id, authorizerId=created["id"])
    with pytest.raises(ClientError) as exc:
        apigw.get_authorizer(restApiId=api.id, authorizerId=created["id"])
    assert_error(exc, "NotFoundException", 404)


def test_flush_stage_authorizers_cache(apigw):
    api = _api_with_stage(apigw)
    apigw.flush_stage_authorizers_cache(restApiId=api.id, stageName="dev")
    with pytest.raises(ClientError) as exc:
        apigw.flush_stage_authorizers_cache(restApiId=api.id, stageName="nope")
    assert_error(exc, "NotFoundException", 404)
