"""Models: CreateModel, GetModel, GetModels, UpdateModel, DeleteModel, GetModelTemplate.

Exact messages are the ones recorded against real AWS in LocalStack's snapshot file
tests/aws/services/apigateway/test_apigateway_api.snapshot.json (TestApiGatewayApiModels::*,
TestApiGatewayApiMethod::test_put_method_model).
"""

import json

import pytest
from botocore.exceptions import ClientError

from helpers import UNKNOWN_API_MESSAGE_RE, assert_error, status_of

PET_SCHEMA = json.dumps(
    {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "Pet",
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    }
)


def _create(apigw, api_id, name="Pet", **kw):
    kw.setdefault("contentType", "application/json")
    kw.setdefault("schema", PET_SCHEMA)
    return apigw.create_model(restApiId=api_id, name=name, **kw)


def test_new_api_has_default_models(apigw, api):
    names = {m["name"] for m in apigw.get_models(restApiId=api["id"])["items"]}
    assert {"Empty", "Error"} <= names
    empty = apigw.get_model(restApiId=api["id"], modelName="Empty")
    assert empty["contentType"] == "application/json"
    assert empty["description"] == "This is a default empty schema model"
    assert json.loads(empty["schema"])["title"] == "Empty Schema"
    error = apigw.get_model(restApiId=api["id"], modelName="Error")
    assert error["description"] == "This is a default error schema model"
    assert json.loads(error["schema"])["properties"] == {"message": {"type": "string"}}


def test_create_model(apigw, api):
    resp = _create(apigw, api["id"], description="A pet")
    assert status_of(resp) == 201
    assert resp["id"]
    assert resp["name"] == "Pet"
    assert resp["contentType"] == "application/json"
    assert resp["description"] == "A pet"
    assert json.loads(resp["schema"]) == json.loads(PET_SCHEMA)


def test_get_model(apigw, api):
    created = _create(apigw, api["id"], description="A pet")
    got = apigw.get_model(restApiId=api["id"], modelName="Pet")
    assert status_of(got) == 200
    assert got["id"] == created["id"]
    assert got["name"] == "Pet"
    assert got["description"] == "A pet"
    assert json.loads(got["schema"]) == json.loads(PET_SCHEMA)


def test_get_model_unknown(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.get_model(restApiId=api["id"], modelName="MySchema")
    assert_error(exc, "NotFoundException", 404, message="Invalid model name specified: MySchema")


def test_get_models(apigw, api):
    _create(apigw, api["id"], name="Pet")
    _create(apigw, api["id"], name="Owner")
    resp = apigw.get_models(restApiId=api["id"])
    assert status_of(resp) == 200
    names = [m["name"] for m in resp["items"]]
    assert sorted(names) == sorted(["Pet", "Owner", "Empty", "Error"])


def test_get_models_unknown_api(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.get_models(restApiId="abcde01234")
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_create_model_unknown_api(apigw):
    with pytest.raises(ClientError) as exc:
        _create(apigw, "abcde01234")
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_create_model_duplicate(apigw, api):
    _create(apigw, api["id"])
    with pytest.raises(ClientError) as exc:
        _create(apigw, api["id"])
    assert_error(exc, "ConflictException", 409, message="Model name already exists for this REST API")


def test_create_model_named_like_default(apigw, api):
    with pytest.raises(ClientError) as exc:
        _create(apigw, api["id"], name="Empty")
    assert_error(exc, "ConflictException", 409, message="Model name already exists for this REST API")


def test_create_model_empty_name(apigw, api):
    with pytest.raises(ClientError) as exc:
        _create(apigw, api["id"], name="")
    assert_error(exc, "BadRequestException", 400, message="Model name must be non-empty")


def test_create_model_non_alphanumeric_name(apigw, api):
    with pytest.raises(ClientError) as exc:
        _create(apigw, api["id"], name="my-model")
    # The API reference says "Must be alphanumeric"; code asserted only.
    assert_error(exc, "BadRequestException", 400)


def test_update_model(apigw, api):
    _create(apigw, api["id"], description="old")
    new_schema = json.dumps({"title": "Updated schema", "type": "object",
                             "properties": {"id": {"type": "string"}}})
    resp = apigw.update_model(
        restApiId=api["id"], modelName="Pet",
        patchOperations=[
            {"op": "replace", "path": "/schema", "value": new_schema},
            {"op": "replace", "path": "/description", "value": "New Description"},
        ],
    )
    assert status_of(resp) == 200
    assert resp["description"] == "New Description"
    assert json.loads(resp["schema"]) == json.loads(new_schema)
    got = apigw.get_model(restApiId=api["id"], modelName="Pet")
    assert got["description"] == "New Description"
    assert json.loads(got["schema"]) == json.loads(new_schema)


def test_update_model_name_not_allowed(apigw, api):
    _create(apigw, api["id"])
    with pytest.raises(ClientError) as exc:
        apigw.update_model(restApiId=api["id"], modelName="Pet",
                           patchOperations=[{"op": "replace", "path": "/name", "value": "Other"}])
    # AWS: "Invalid patch path  '/name' specified for op 'replace'. Must be one of: [/description, /schema]"
    assert_error(exc, "BadRequestException", 400, contains="Invalid patch path")


def test_update_model_unknown(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.update_model(restApiId=api["id"], modelName="mySchema",
                           patchOperations=[{"op": "replace", "path": "/description", "value": "x"}])
    assert_error(exc, "NotFoundException", 404, message="Invalid model name specified: mySchema")


def test_delete_model(apigw, api):
    _create(apigw, api["id"])
    resp = apigw.delete_model(restApiId=api["id"], modelName="Pet")
    assert status_of(resp) == 202
    with pytest.raises(ClientError) as exc:
        apigw.get_model(restApiId=api["id"], modelName="Pet")
    assert_error(exc, "NotFoundException", 404, message="Invalid model name specified: Pet")
    with pytest.raises(ClientError) as exc:
        apigw.delete_model(restApiId=api["id"], modelName="Pet")
    assert_error(exc, "NotFoundException", 404, message="Invalid model name specified: Pet")
    # The name is free again.
    assert _create(apigw, api["id"])["name"] == "Pet"


def test_delete_model_referenced_by_method(apigw, api):
    _create(apigw, api["id"])
    apigw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="ANY",
                     authorizationType="NONE", requestModels={"application/json": "Pet"})
    with pytest.raises(ClientError) as exc:
        apigw.delete_model(restApiId=api["id"], modelName="Pet")
    # AWS: "Cannot delete model 'Pet', is referenced in method request: //ANY"
    assert_error(exc, "ConflictException", 409, contains="Cannot delete model 'Pet', is referenced in method request")
    apigw.delete_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="ANY")
    assert status_of(apigw.delete_model(restApiId=api["id"], modelName="Pet")) == 202


def test_get_model_template_empty(apigw, api):
    resp = apigw.get_model_template(restApiId=api["id"], modelName="Empty")
    assert status_of(resp) == 200
    # aws-cli example get-model-template.rst: "#set($inputRoot = $input.path('$'))\n{ }"
    assert resp["value"].startswith("#set($inputRoot = $input.path('$'))")


def test_get_model_template_custom(apigw, api):
    _create(apigw, api["id"])
    value = apigw.get_model_template(restApiId=api["id"], modelName="Pet")["value"]
    assert value.startswith("#set($inputRoot = $input.path('$'))")
    assert '"name"' in value
    assert '"age"' in value


def test_get_model_template_unknown(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.get_model_template(restApiId=api["id"], modelName="Nope")
    assert_error(exc, "NotFoundException", 404)


def test_models_are_per_api(apigw):
    a = apigw.create_rest_api(name="a")
    b = apigw.create_rest_api(name="b")
    _create(apigw, a["id"])
    # Same name in another API is fine.
    assert _create(apigw, b["id"])["name"] == "Pet"
    apigw.delete_model(restApiId=a["id"], modelName="Pet")
    assert apigw.get_model(restApiId=b["id"], modelName="Pet")["name"] == "Pet"
