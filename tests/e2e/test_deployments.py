"""Deployments: CreateDeployment, GetDeployment, GetDeployments, UpdateDeployment, DeleteDeployment."""

import datetime

import pytest
from botocore.exceptions import ClientError

from helpers import UNKNOWN_API_MESSAGE_RE, assert_error, deployable_api, status_of


def test_create_deployment_without_methods(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.create_deployment(restApiId=api["id"], stageName="dev")
    # AWS text: seen in Terraform/CloudFormation errors and in the CloudFormation docs
    # for AWS::ApiGateway::Deployment.
    assert_error(exc, "BadRequestException", 400, message="The REST API doesn't contain any methods")


def test_create_deployment_method_without_integration(apigw, api):
    apigw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET",
                     authorizationType="NONE")
    with pytest.raises(ClientError) as exc:
        apigw.create_deployment(restApiId=api["id"], stageName="dev")
    # AWS: "No integration defined for method"
    assert_error(exc, "BadRequestException", 400, contains="No integration defined for method")


def test_create_deployment_unknown_api(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.create_deployment(restApiId="abcde01234", stageName="dev")
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_create_deployment_without_stage(apigw):
    api_id, _ = deployable_api(apigw)
    resp = apigw.create_deployment(restApiId=api_id, description="first")
    assert status_of(resp) == 201
    assert resp["id"]
    assert resp["description"] == "first"
    assert isinstance(resp["createdDate"], datetime.datetime)
    assert apigw.get_stages(restApiId=api_id)["item"] == []


def test_create_deployment_with_stage_creates_stage(apigw):
    api_id, _ = deployable_api(apigw)
    dep = apigw.create_deployment(
        restApiId=api_id, stageName="dev", stageDescription="Development stage",
        description="First deployment", variables={"key": "value", "other": "x"},
    )
    stage = apigw.get_stage(restApiId=api_id, stageName="dev")
    assert stage["deploymentId"] == dep["id"]
    assert stage["description"] == "Development stage"
    assert stage["variables"] == {"key": "value", "other": "x"}


def test_create_deployment_moves_existing_stage(apigw):
    api_id, _ = deployable_api(apigw)
    first = apigw.create_deployment(restApiId=api_id, stageName="dev")
    second = apigw.create_deployment(restApiId=api_id, stageName="dev", description="second")
    assert first["id"] != second["id"]
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["deploymentId"] == second["id"]
    assert len(apigw.get_stages(restApiId=api_id)["item"]) == 1
    assert {d["id"] for d in apigw.get_deployments(restApiId=api_id)["items"]} == {first["id"], second["id"]}


def test_get_deployment(apigw):
    api_id, _ = deployable_api(apigw)
    dep = apigw.create_deployment(restApiId=api_id, description="v1")
    got = apigw.get_deployment(restApiId=api_id, deploymentId=dep["id"])
    assert status_of(got) == 200
    assert got["id"] == dep["id"]
    assert got["description"] == "v1"
    assert isinstance(got["createdDate"], datetime.datetime)


def test_get_deployment_api_summary(apigw):
    api_id, root = deployable_api(apigw)
    pets = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="pets")
    apigw.put_method(restApiId=api_id, resourceId=pets["id"], httpMethod="POST", authorizationType="NONE",
                     apiKeyRequired=True)
    apigw.put_integration(restApiId=api_id, resourceId=pets["id"], httpMethod="POST", type="MOCK")
    dep = apigw.create_deployment(restApiId=api_id)
    got = apigw.get_deployment(restApiId=api_id, deploymentId=dep["id"], embed=["apisummary"])
    summary = got["apiSummary"]
    assert summary["/"]["GET"]["authorizationType"] == "NONE"
    assert summary["/"]["GET"]["apiKeyRequired"] is False
    assert summary["/pets"]["POST"]["apiKeyRequired"] is True


def test_get_deployment_unknown(apigw):
    api_id, _ = deployable_api(apigw)
    with pytest.raises(ClientError) as exc:
        apigw.get_deployment(restApiId=api_id, deploymentId="nosuch")
    assert_error(exc, "NotFoundException", 404)


def test_get_deployments(apigw):
    api_id, _ = deployable_api(apigw)
    assert apigw.get_deployments(restApiId=api_id).get("items", []) == []
    ids = {apigw.create_deployment(restApiId=api_id, description=f"d{i}")["id"] for i in range(3)}
    items = apigw.get_deployments(restApiId=api_id)["items"]
    assert {d["id"] for d in items} == ids
    for d in items:
        assert isinstance(d["createdDate"], datetime.datetime)


def test_get_deployments_pagination(apigw):
    api_id, _ = deployable_api(apigw)
    ids = {apigw.create_deployment(restApiId=api_id)["id"] for _ in range(3)}
    first = apigw.get_deployments(restApiId=api_id, limit=2)
    assert len(first["items"]) == 2
    assert first.get("position")
    second = apigw.get_deployments(restApiId=api_id, limit=2, position=first["position"])
    assert {d["id"] for d in first["items"]} | {d["id"] for d in second["items"]} == ids


def test_update_deployment_description(apigw):
    api_id, _ = deployable_api(apigw)
    dep = apigw.create_deployment(restApiId=api_id, description="old")
    resp = apigw.update_deployment(
        restApiId=api_id, deploymentId=dep["id"],
        patchOperations=[{"op": "replace", "path": "/description", "value": "newDescription"}],
    )
    assert status_of(resp) == 200
    assert resp["id"] == dep["id"]
    assert resp["description"] == "newDescription"
    assert apigw.get_deployment(restApiId=api_id, deploymentId=dep["id"])["description"] == "newDescription"


def test_update_deployment_unknown_path(apigw):
    api_id, _ = deployable_api(apigw)
    dep = apigw.create_deployment(restApiId=api_id)
    with pytest.raises(ClientError) as exc:
        apigw.update_deployment(
            restApiId=api_id, deploymentId=dep["id"],
            patchOperations=[{"op": "replace", "path": "/id", "value": "x"}],
        )
    assert_error(exc, "BadRequestException", 400)


def test_update_deployment_unknown(apigw):
    api_id, _ = deployable_api(apigw)
    with pytest.raises(ClientError) as exc:
        apigw.update_deployment(
            restApiId=api_id, deploymentId="nosuch",
            patchOperations=[{"op": "replace", "path": "/description", "value": "x"}],
        )
    assert_error(exc, "NotFoundException", 404)


def test_delete_deployment_used_by_stage(apigw):
    api_id, _ = deployable_api(apigw)
    dep = apigw.create_deployment(restApiId=api_id, stageName="dev")
    with pytest.raises(ClientError) as exc:
        apigw.delete_deployment(restApiId=api_id, deploymentId=dep["id"])
    # AWS text, as quoted in many Terraform issues/configs
    # ("BadRequestException: Active stages pointing to this deployment must be moved or deleted").
    assert_error(exc, "BadRequestException", 400,
                 message="Active stages pointing to this deployment must be moved or deleted")
    # Nothing was removed.
    assert len(apigw.get_deployments(restApiId=api_id)["items"]) == 1
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["deploymentId"] == dep["id"]

    apigw.delete_stage(restApiId=api_id, stageName="dev")
    resp = apigw.delete_deployment(restApiId=api_id, deploymentId=dep["id"])
    assert status_of(resp) == 202
    with pytest.raises(ClientError) as exc:
        apigw.get_deployment(restApiId=api_id, deploymentId=dep["id"])
    assert_error(exc, "NotFoundException", 404)


def test_delete_deployment_after_stage_moved(apigw):
    api_id, _ = deployable_api(apigw)
    first = apigw.create_deployment(restApiId=api_id, stageName="dev")
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    resp = apigw.delete_deployment(restApiId=api_id, deploymentId=first["id"])
    assert status_of(resp) == 202


def test_delete_deployment_unknown(apigw):
    api_id, _ = deployable_api(apigw)
    with pytest.raises(ClientError) as exc:
        apigw.delete_deployment(restApiId=api_id, deploymentId="nosuch")
    assert_error(exc, "NotFoundException", 404)
