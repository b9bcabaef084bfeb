"""Request validators: Create/Get/GetRequestValidators/Update/DeleteRequestValidator.

Exact messages/defaults are the ones recorded against real AWS in LocalStack's snapshot
file tests/aws/services/apigateway/test_apigateway_api.snapshot.json
(TestApiGatewayApiRequestValidator::*).
"""

import pytest
from botocore.exceptions import ClientError

from helpers import UNKNOWN_API_MESSAGE_RE, assert_error, status_of


def test_create_request_validator_defaults(apigw, api):
    resp = apigw.create_request_validator(restApiId=api["id"], name="plain")
    assert status_of(resp) == 201
    assert resp["id"]
    assert resp["name"] == "plain"
    assert resp["validateRequestBody"] is False
    assert resp["validateRequestParameters"] is False


def test_request_validator_lifecycle(apigw, api):
    rv = apigw.create_request_validator(restApiId=api["id"], name="body-only", validateRequestBody=True,
                                        validateRequestParameters=False)
    assert rv["validateRequestBody"] is True

    got = apigw.get_request_validator(restApiId=api["id"], requestValidatorId=rv["id"])
    assert status_of(got) == 200
    assert got == {**got, "id": rv["id"], "name": "body-only", "validateRequestBody": True,
                   "validateRequestParameters": False}

    listed = apigw.get_request_validators(restApiId=api["id"])
    assert status_of(listed) == 200
    assert [v["id"] for v in listed["items"]] == [rv["id"]]

    upd = apigw.update_request_validator(
        restApiId=api["id"], requestValidatorId=rv["id"],
        patchOperations=[
            {"op": "replace", "path": "/validateRequestParameters", "value": "true"},
            {"op": "replace", "path": "/validateRequestBody", "value": "false"},
            {"op": "replace", "path": "/name", "value": "params-only"},
        ],
    )
    assert status_of(upd) == 200
    assert upd["name"] == "params-only"
    assert upd["validateRequestParameters"] is True
    assert upd["validateRequestBody"] is False
    got = apigw.get_request_validator(restApiId=api["id"], requestValidatorId=rv["id"])
    assert got["name"] == "params-only"
    assert got["validateRequestParameters"] is True

    dele = apigw.delete_request_validator(restApiId=api["id"], requestValidatorId=rv["id"])
    assert status_of(dele) == 202
    with pytest.raises(ClientError) as exc:
        apigw.get_request_validator(restApiId=api["id"], requestValidatorId=rv["id"])
    assert_error(exc, "NotFoundException", 404, message="Invalid Request Validator identifier specified")
    assert apigw.get_request_validators(restApiId=api["id"]).get("items", []) == []


def test_get_request_validators_several(apigw, api):
    ids = {apigw.create_request_validator(restApiId=api["id"], name=f"v{i}")["id"] for i in range(3)}
    assert {v["id"] for v in apigw.get_request_validators(restApiId=api["id"])["items"]} == ids


def test_get_request_validator_unknown(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.get_request_validator(restApiId=api["id"], requestValidatorId="nosuch")
    assert_error(exc, "NotFoundException", 404, message="Invalid Request Validator identifier specified")


def test_get_request_validators_unknown_api(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.get_request_validators(restApiId="abcde01234")
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_delete_request_validator_unknown(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.delete_request_validator(restApiId=api["id"], requestValidatorId="nosuch")
    assert_error(exc, "NotFoundException", 404, message="Invalid Request Validator identifier specified")


def test_update_request_validator_invalid_path(apigw, api):
    rv = apigw.create_request_validator(restApiId=api["id"], name="v")
    with pytest.raises(ClientError) as exc:
        apigw.update_request_validator(restApiId=api["id"], requestValidatorId=rv["id"],
                                       patchOperations=[{"op": "replace", "path": "/invalidPath", "value": "x"}])
    # AWS: "Invalid patch path  '/invalidPath' specified for op 'replace'. Must be one of:
    # [/name, /validateRequestParameters, /validateRequestBody]"
    assert_error(exc, "BadRequestException", 400, contains="Invalid patch path")


def test_update_request_validator_unsupported_op(apigw, api):
    rv = apigw.create_request_validator(restApiId=api["id"], name="v")
    with pytest.raises(ClientError) as exc:
        apigw.update_request_validator(restApiId=api["id"], requestValidatorId=rv["id"],
                                       patchOperations=[{"op": "add", "path": "/validateRequestBody", "value": "true"}])
    assert_error(exc, "BadRequestException", 400, contains="Invalid patch path")


def test_update_request_validator_blank_name(apigw, api):
    rv = apigw.create_request_validator(restApiId=api["id"], name="v")
    with pytest.raises(ClientError) as exc:
        apigw.update_request_validator(restApiId=api["id"], requestValidatorId=rv["id"],
                                       patchOperations=[{"op": "replace", "path": "/name", "value": ""}])
    assert_error(exc, "BadRequestException", 400, message="Request Validator name cannot be blank")


def test_validator_used_by_method(apigw, api):
    rv = apigw.create_request_validator(restApiId=api["id"], name="all", validateRequestBody=True,
                                        validateRequestParameters=True)
    apigw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="POST",
                     authorizationType="NONE", requestValidatorId=rv["id"])
    got = apigw.get_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="POST")
    assert got["requestValidatorId"] == rv["id"]
