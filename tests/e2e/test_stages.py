"""Stages: CreateStage, GetStage, GetStages, UpdateStage, DeleteStage.

Method-settings keys: the aws-cli's own examples (awscli/examples/apigateway/
update-stage.rst, get-stage.rst) show that a patch path /~1resourceName/GET/<setting>
yields methodSettings key "~1resourceName/GET", and /*/*/<setting> yields "*/*".
"""

import datetime

import pytest
from botocore.exceptions import ClientError

from helpers import UNKNOWN_API_MESSAGE_RE, assert_error, deployable_api, put_mock_method, status_of


@pytest.fixture
def deployed(apigw):
    """API with GET / and GET /pets (MOCK) and one deployment, no stage."""
    api_id, root = deployable_api(apigw)
    pets = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="pets")
    put_mock_method(apigw, api_id, pets["id"], "GET")
    dep = apigw.create_deployment(restApiId=api_id, description="d1")
    return {"api_id": api_id, "deployment_id": dep["id"]}


def test_create_stage(apigw, deployed):
    resp = apigw.create_stage(
        restApiId=deployed["api_id"], stageName="dev", deploymentId=deployed["deployment_id"],
        description="Development stage", variables={"key": "value", "otherKey": "otherValue"},
    )
    assert status_of(resp) == 201
    assert resp["stageName"] == "dev"
    assert resp["deploymentId"] == deployed["deployment_id"]
    assert resp["description"] == "Development stage"
    assert resp["variables"] == {"key": "value", "otherKey": "otherValue"}
    # Defaults recorded from AWS (LocalStack snapshot test_get_stages_filters_by_deployment_id).
    assert resp["cacheClusterEnabled"] is False
    assert resp["cacheClusterStatus"] == "NOT_AVAILABLE"
    assert resp["tracingEnabled"] is False
    assert resp.get("methodSettings", {}) == {}
    assert isinstance(resp["createdDate"], datetime.datetime)
    assert isinstance(resp["lastUpdatedDate"], datetime.datetime)


def test_get_stage(apigw, deployed):
    apigw.create_stage(restApiId=deployed["api_id"], stageName="dev", deploymentId=deployed["deployment_id"],
                       variables={"a": "1"})
    got = apigw.get_stage(restApiId=deployed["api_id"], stageName="dev")
    assert status_of(got) == 200
    assert got["stageName"] == "dev"
    assert got["deploymentId"] == deployed["deployment_id"]
    assert got["variables"] == {"a": "1"}
    assert got["cacheClusterEnabled"] is False
    assert got["cacheClusterStatus"] == "NOT_AVAILABLE"
    assert got.get("methodSettings", {}) == {}


def test_get_stage_unknown(apigw, deployed):
    with pytest.raises(ClientError) as exc:
        apigw.get_stage(restApiId=deployed["api_id"], stageName="nosuch")
    assert_error(exc, "NotFoundException", 404)


def test_get_stages_unknown_api(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.get_stages(restApiId="abcde01234")
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_create_stage_duplicate(apigw, deployed):
    apigw.create_stage(restApiId=deployed["api_id"], stageName="dev", deploymentId=deployed["deployment_id"])
    with pytest.raises(ClientError) as exc:
        apigw.create_stage(restApiId=deployed["api_id"], stageName="dev", deploymentId=deployed["deployment_id"])
    assert_error(exc, "ConflictException", 409)


def test_create_stage_unknown_deployment(apigw, deployed):
    with pytest.raises(ClientError) as exc:
        apigw.create_stage(restApiId=deployed["api_id"], stageName="dev", deploymentId="nosuch")
    status = exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert status in (400, 404), status
    with pytest.raises(ClientError):
        apigw.get_stage(restApiId=deployed["api_id"], stageName="dev")


def test_create_stage_invalid_name(apigw, deployed):
    with pytest.raises(ClientError) as exc:
        apigw.create_stage(restApiId=deployed["api_id"], stageName="bad name!", deploymentId=deployed["deployment_id"])
    # AWS: "Stage name only allows a-zA-Z0-9_" (code asserted only).
    assert_error(exc, "BadRequestException", 400)


def test_get_stages_filter_by_deployment(apigw, deployed):
    api_id = deployed["api_id"]
    dep2 = apigw.create_deployment(restApiId=api_id)["id"]
    apigw.create_stage(restApiId=api_id, stageName="stage1", deploymentId=deployed["deployment_id"])
    apigw.create_stage(restApiId=api_id, stageName="stage2", deploymentId=dep2)
    everything = apigw.get_stages(restApiId=api_id)
    assert status_of(everything) == 200
    assert {s["stageName"] for s in everything["item"]} == {"stage1", "stage2"}
    only1 = apigw.get_stages(restApiId=api_id, deploymentId=deployed["deployment_id"])["item"]
    assert [s["stageName"] for s in only1] == ["stage1"]
    only2 = apigw.get_stages(restApiId=api_id, deploymentId=dep2)["item"]
    assert [s["stageName"] for s in only2] == ["stage2"]


def test_update_stage_variables(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"],
                       variables={"keep": "k", "drop": "d"})
    resp = apigw.update_stage(
        restApiId=api_id, stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/variables/x", "value": "1"},
            {"op": "replace", "path": "/variables/keep", "value": "k2"},
            {"op": "remove", "path": "/variables/drop"},
        ],
    )
    assert status_of(resp) == 200
    assert resp["variables"] == {"keep": "k2", "x": "1"}
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["variables"] == {"keep": "k2", "x": "1"}
    resp = apigw.update_stage(restApiId=api_id, stageName="dev",
                              patchOperations=[{"op": "remove", "path": "/variables/x"}])
    assert resp["variables"] == {"keep": "k2"}


def test_update_stage_description_and_deployment(apigw, deployed):
    api_id = deployed["api_id"]
    dep2 = apigw.create_deployment(restApiId=api_id)["id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    resp = apigw.update_stage(
        restApiId=api_id, stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/description", "value": "now with a description"},
            {"op": "replace", "path": "/deploymentId", "value": dep2},
        ],
    )
    assert resp["description"] == "now with a description"
    assert resp["deploymentId"] == dep2
    got = apigw.get_stage(restApiId=api_id, stageName="dev")
    assert got["deploymentId"] == dep2
    assert got["description"] == "now with a description"
    # The first deployment is free again.
    apigw.delete_deployment(restApiId=api_id, deploymentId=deployed["deployment_id"])


def test_update_stage_unknown_deployment(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    with pytest.raises(ClientError) as exc:
        apigw.update_stage(restApiId=api_id, stageName="dev",
                           patchOperations=[{"op": "replace", "path": "/deploymentId", "value": "nosuch"}])
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["deploymentId"] == deployed["deployment_id"]


def test_update_stage_throttling_all_methods(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    resp = apigw.update_stage(
        restApiId=api_id, stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "50"},
        ],
    )
    settings = resp["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 100.0
    assert settings["throttlingBurstLimit"] == 50
    got = apigw.get_stage(restApiId=api_id, stageName="dev")["methodSettings"]["*/*"]
    assert got["throttlingRateLimit"] == 100.0
    assert got["throttlingBurstLimit"] == 50


def test_update_stage_method_metrics(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    resp = apigw.update_stage(
        restApiId=api_id, stageName="dev",
        patchOperations=[{"op": "replace", "path": "/~1pets/GET/metrics/enabled", "value": "true"}],
    )
    assert "~1pets/GET" in resp["methodSettings"], resp["methodSettings"]
    settings = resp["methodSettings"]["~1pets/GET"]
    assert settings["metricsEnabled"] is True
    # Untouched members take their defaults (aws-cli update-stage.rst example output).
    assert settings["dataTraceEnabled"] is False
    assert settings["cachingEnabled"] is False
    assert settings["cacheTtlInSeconds"] == 300
    assert settings["cacheDataEncrypted"] is False
    assert settings["requireAuthorizationForCacheControl"] is True
    assert settings["unauthorizedCacheControlHeaderStrategy"] == "SUCCEED_WITH_RESPONSE_HEADER"
    got = apigw.get_stage(restApiId=api_id, stageName="dev")
    assert got["methodSettings"]["~1pets/GET"]["metricsEnabled"] is True


def test_update_stage_logging_and_data_trace(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    resp = apigw.update_stage(
        restApiId=api_id, stageName="dev",
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
            {"op": "replace", "path": "/*/*/logging/dataTrace", "value": "true"},
            {"op": "replace", "path": "/*/*/caching/ttlInSeconds", "value": "60"},
        ],
    )
    settings = resp["methodSettings"]["*/*"]
    assert settings["loggingLevel"] == "INFO"
    assert settings["dataTraceEnabled"] is True
    assert settings["cacheTtlInSeconds"] == 60


def test_update_stage_tracing(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    resp = apigw.update_stage(restApiId=api_id, stageName="dev",
                              patchOperations=[{"op": "replace", "path": "/tracingEnabled", "value": "true"}])
    assert resp["tracingEnabled"] is True


def test_update_stage_unknown_path(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    with pytest.raises(ClientError) as exc:
        apigw.update_stage(restApiId=api_id, stageName="dev",
                           patchOperations=[{"op": "replace", "path": "/noSuchField", "value": "x"}])
    assert_error(exc, "BadRequestException", 400)


def test_update_stage_unknown(apigw, deployed):
    with pytest.raises(ClientError) as exc:
        apigw.update_stage(restApiId=deployed["api_id"], stageName="nosuch",
                           patchOperations=[{"op": "replace", "path": "/description", "value": "x"}])
    assert_error(exc, "NotFoundException", 404)


def test_delete_stage(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    apigw.create_stage(restApiId=api_id, stageName="prod", deploymentId=deployed["deployment_id"])
    resp = apigw.delete_stage(restApiId=api_id, stageName="dev")
    assert status_of(resp) == 202
    with pytest.raises(ClientError) as exc:
        apigw.get_stage(restApiId=api_id, stageName="dev")
    assert_error(exc, "NotFoundException", 404)
    assert [s["stageName"] for s in apigw.get_stages(restApiId=api_id)["item"]] == ["prod"]
    # The deployment survives the stage.
    assert apigw.get_deployment(restApiId=api_id, deploymentId=deployed["deployment_id"])["id"]


def test_delete_stage_unknown(apigw, deployed):
    with pytest.raises(ClientError) as exc:
        apigw.delete_stage(restApiId=deployed["api_id"], stageName="nosuch")
    assert_error(exc, "NotFoundException", 404, message="Invalid Stage identifier specified")


def test_stage_name_reusable_after_delete(apigw, deployed):
    api_id = deployed["api_id"]
    apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    apigw.delete_stage(restApiId=api_id, stageName="dev")
    resp = apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=deployed["deployment_id"])
    assert resp["stageName"] == "dev"
