"""Gateway responses: the management operations and the data plane answering its own errors
through them.

AWS behaviour relied on: every API has all response types; those nobody customized are shown
with `defaultResponse: True`, their default status (none for DEFAULT_4XX/DEFAULT_5XX) and the
template `{"message":$context.error.messageString}`. A customized type answers with its own
status, headers and template; an uncustomized 4XX type inherits DEFAULT_4XX's headers and
templates but keeps its own status. Deleting a customized response restores the default.
"""

import pytest
from botocore.exceptions import ClientError

from dataplane_support import RestApi, call, poll
from helpers import assert_error


def test_every_type_is_listed_with_defaults(apigw, api):
    items = apigw.get_gateway_responses(restApiId=api["id"], limit=500)["items"]
    by_type = {i["responseType"]: i for i in items}
    assert len(by_type) == 21
    assert by_type["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "403"
    assert by_type["THROTTLED"]["statusCode"] == "429"
    assert "statusCode" not in by_type["DEFAULT_4XX"]
    assert all(i["defaultResponse"] for i in items)
    assert by_type["INTEGRATION_TIMEOUT"]["responseTemplates"] == {
        "application/json": '{"message":$context.error.messageString}'
    }


def test_put_get_update_delete(apigw, api):
    put = apigw.put_gateway_response(
        restApiId=api["id"], responseType="UNAUTHORIZED", statusCode="401",
        responseParameters={"gatewayresponse.header.WWW-Authenticate": "'Bearer'"},
        responseTemplates={"application/json": '{"m": $context.error.messageString}'},
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert put["defaultResponse"] is False
    got = apigw.get_gateway_response(restApiId=api["id"], responseType="UNAUTHORIZED")
    assert got["responseParameters"] == {"gatewayresponse.header.WWW-Authenticate": "'Bearer'"}
    updated = apigw.update_gateway_response(
        restApiId=api["id"], responseType="UNAUTHORIZED",
        patchOperations=[{"op": "replace", "path": "/statusCode", "value": "403"}],
    )
    assert updated["statusCode"] == "403"
    apigw.delete_gateway_response(restApiId=api["id"], responseType="UNAUTHORIZED")
    again = apigw.get_gateway_response(restApiId=api["id"], responseType="UNAUTHORIZED")
    assert again["defaultResponse"] is True and again["statusCode"] == "401"


def test_unknown_type_is_a_validation_error(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.get_gateway_response(restApiId=api["id"], responseType="NOPE")
    assert_error(exc, "ValidationException", 400)


def test_deleting_a_default_response_is_not_found(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.delete_gateway_response(restApiId=api["id"], responseType="THROTTLED")
    assert_error(exc, "NotFoundException", 404)


def test_customized_missing_token_answers_on_the_data_plane(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/here")
    apigw.put_gateway_response(
        restApiId=api.id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="404",
        responseTemplates={"application/json": '{"error": "no route", "type": "$context.error.responseType"}'},
    )
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/nowhere"), until=404)
    assert resp.json() == {"error": "no route", "type": "MISSING_AUTHENTICATION_TOKEN"}


def test_default_4xx_headers_are_inherited(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/here")
    apigw.put_gateway_response(
        restApiId=api.id, responseType="DEFAULT_4XX",
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
    )
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/here"), until=200)
    resp = call("GET", api.url(endpoint, "test", "/nowhere"))
    assert resp.status_code == 403
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.json() == {"message": "Missing Authentication Token"}


def test_gateway_responses_are_part_of_the_deployment(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/here")
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/here"), until=200)
    apigw.put_gateway_response(restApiId=api.id, responseType="MISSING_AUTHENTICATION_TOKEN", statusCode="418")
    assert call("GET", api.url(endpoint, "test", "/nowhere")).status_code == 403
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/nowhere"), until=418)
