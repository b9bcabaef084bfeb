"""Request validation: a method's request validator checks required parameters and the body
against the method's model (JSON Schema draft 4, `$ref` to other models of the API) before the
integration runs.

AWS behaviour relied on (API Gateway developer guide, "Request validation"): missing required
parameters answer 400 `{"message": "Missing required request parameters: [names]"}`; a body
that fails its model answers 400 `{"message": "Invalid request body"}`; both go through the
BAD_REQUEST_PARAMETERS / BAD_REQUEST_BODY gateway responses, and
`$context.error.validationErrorString` carries the detail. A model for another content type
does not apply.
"""

import json

import pytest

from dataplane_support import RestApi, call, poll


PET = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "owner": {"$ref": "OWNER_REF"}},
}
OWNER = {"type": "object", "properties": {"age": {"type": "integer"}}}


@pytest.fixture
def validated(apigw, endpoint):
    api = RestApi(apigw)
    apigw.create_model(restApiId=api.id, name="Owner", contentType="application/json", schema=json.dumps(OWNER))
    pet = json.dumps(PET).replace(
        "OWNER_REF", f"https://apigateway.amazonaws.com/restapis/{api.id}/models/Owner"
    )
    apigw.create_model(restApiId=api.id, name="Pet", contentType="application/json", schema=pet)
    validator = apigw.create_request_validator(
        restApiId=api.id, name="all", validateRequestBody=True, validateRequestParameters=True
    )
    rid = api.resource("/pets")
    apigw.put_method(
        restApiId=api.id, resourceId=rid, httpMethod="POST", authorizationType="NONE",
        requestValidatorId=validator["id"],
        requestParameters={"method.request.querystring.owner": True, "method.request.header.x-trace": True,
                           "method.request.header.x-optional": False},
        requestModels={"application/json": "Pet"},
    )
    key = {"restApiId": api.id, "resourceId": rid, "httpMethod": "POST"}
    apigw.put_integration(**key, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(**key, statusCode="200")
    apigw.put_integration_response(**key, statusCode="200", responseTemplates={"application/json": '{"ok": true}'})
    api.mock("/ready")
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/ready"), until=200)
    return api


def post(api, endpoint, query="?owner=me", headers=None, body='{"name": "rex"}'):
    h = {"content-type": "application/json", "x-trace": "1"}
    h.update(headers or {})
    return call("POST", api.url(endpoint, "test", "/pets") + query, headers=h, data=body)


def test_valid_request_passes(validated, endpoint):
    resp = post(validated, endpoint)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"ok": True}


def test_missing_required_parameters(validated, endpoint):
    resp = post(validated, endpoint, query="", headers={"x-trace": None})
    assert resp.status_code == 400
    message = resp.json()["message"]
    assert message.startswith("Missing required request parameters: [")
    assert "owner" in message and "x-trace" in message
    assert resp.headers["x-amzn-ErrorType"] == "BadRequestException"


def test_body_that_fails_the_model(validated, endpoint):
    resp = post(validated, endpoint, body='{"owner": {"age": 3}}')
    assert resp.status_code == 400
    assert resp.json() == {"message": "Invalid request body"}


def test_referenced_model_is_checked(validated, endpoint):
    resp = post(validated, endpoint, body='{"name": "rex", "owner": {"age": "old"}}')
    assert resp.status_code == 400
    assert resp.json() == {"message": "Invalid request body"}


def test_body_that_is_not_json(validated, endpoint):
    assert post(validated, endpoint, body="{nope").status_code == 400


def test_validation_error_string_in_gateway_response(apigw, validated, endpoint):
    apigw.put_gateway_response(
        restApiId=validated.id, responseType="BAD_REQUEST_BODY", statusCode="422",
        responseTemplates={"application/json": '{"type": "$context.error.responseType", "detail": #if($context.error.validationErrorString != "")true#{else}false#end}'},
    )
    validated.deploy("test")
    resp = poll("POST", validated.url(endpoint, "test", "/pets") + "?owner=me", until=422,
                headers={"content-type": "application/json", "x-trace": "1"}, data="{}")
    assert resp.json() == {"type": "BAD_REQUEST_BODY", "detail": True}
