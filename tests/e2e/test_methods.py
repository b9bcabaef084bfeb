"""Methods (PutMethod, GetMethod, UpdateMethod, DeleteMethod) and method responses
(PutMethodResponse, GetMethodResponse, UpdateMethodResponse, DeleteMethodResponse).

Exact messages are the ones recorded against real AWS in LocalStack's snapshot file
tests/aws/services/apigateway/test_apigateway_api.snapshot.json
(TestApiGatewayApiMethod::*, TestApigatewayMethodResponse::*).
"""

import pytest
from botocore.exceptions import ClientError

from helpers import assert_error, status_of


@pytest.fixture
def pets(apigw, api):
    res = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    return {"api_id": api["id"], "resource_id": res["id"], "root_id": api["rootResourceId"]}


def _put(apigw, pets, method="GET", **kw):
    kw.setdefault("authorizationType", "NONE")
    return apigw.put_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod=method, **kw)


def test_put_method_minimal(apigw, pets):
    resp = _put(apigw, pets)
    assert status_of(resp) == 201
    assert resp["httpMethod"] == "GET"
    assert resp["authorizationType"] == "NONE"
    assert resp["apiKeyRequired"] is False


def test_put_method_with_parameters(apigw, pets):
    params = {
        "method.request.header.h_optional": False,
        "method.request.header.h_required": True,
        "method.request.querystring.q_optional": False,
        "method.request.querystring.q_required": True,
    }
    resp = _put(apigw, pets, "POST", apiKeyRequired=True, requestParameters=params, operationName="CreatePet")
    assert resp["apiKeyRequired"] is True
    assert resp["requestParameters"] == params
    assert resp["operationName"] == "CreatePet"
    got = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="POST")
    assert status_of(got) == 200
    assert got["httpMethod"] == "POST"
    assert got["apiKeyRequired"] is True
    assert got["requestParameters"] == params
    assert got["operationName"] == "CreatePet"


def test_put_method_request_models(apigw, pets):
    resp = _put(apigw, pets, "POST", requestModels={"application/json": "Empty"})
    assert resp["requestModels"] == {"application/json": "Empty"}


def test_put_method_unknown_model(apigw, pets):
    with pytest.raises(ClientError) as exc:
        _put(apigw, pets, "POST", requestModels={"application/json": "petModel"})
    assert_error(exc, "BadRequestException", 400, message="Invalid model identifier specified: petModel")


def test_put_method_any(apigw, pets):
    resp = _put(apigw, pets, "ANY")
    assert resp["httpMethod"] == "ANY"
    got = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="ANY")
    assert got["httpMethod"] == "ANY"


def test_put_several_methods_on_one_resource(apigw, pets):
    for m in ("GET", "POST", "DELETE", "OPTIONS"):
        _put(apigw, pets, m)
    res = apigw.get_resource(restApiId=pets["api_id"], resourceId=pets["resource_id"], embed=["methods"])
    assert set(res.get("resourceMethods", {})) == {"GET", "POST", "DELETE", "OPTIONS"}
    assert res["resourceMethods"]["POST"]["httpMethod"] == "POST"


def test_put_method_on_root(apigw, pets):
    resp = apigw.put_method(restApiId=pets["api_id"], resourceId=pets["root_id"], httpMethod="GET",
                            authorizationType="NONE")
    assert resp["httpMethod"] == "GET"


def test_put_method_invalid_http_method(apigw, pets):
    with pytest.raises(ClientError) as exc:
        _put(apigw, pets, "FETCH")
    assert_error(exc, "BadRequestException", 400,
                 message="Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY")


def test_put_method_unknown_resource(apigw, pets):
    with pytest.raises(ClientError) as exc:
        apigw.put_method(restApiId=pets["api_id"], resourceId="nosuch", httpMethod="GET", authorizationType="NONE")
    assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")


def test_put_method_unknown_api(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.put_method(restApiId="abcde01234", resourceId="nosuch", httpMethod="GET", authorizationType="NONE")
    # AWS answers "Invalid Resource identifier specified" here (recorded: wrong-api).
    assert_error(exc, "NotFoundException", 404)


def test_put_method_custom_auth_without_authorizer(apigw, pets):
    with pytest.raises(ClientError) as exc:
        _put(apigw, pets, "GET", authorizationType="CUSTOM")
    assert_error(exc, "BadRequestException", 400,
                 message="Invalid authorizer ID specified. Setting the authorization type to CUSTOM or "
                         "COGNITO_USER_POOLS requires a valid authorizer.")


def test_put_method_unknown_request_validator(apigw, pets):
    with pytest.raises(ClientError) as exc:
        _put(apigw, pets, "GET", requestValidatorId="nosuch")
    assert_error(exc, "BadRequestException", 400, message="Invalid Request Validator identifier specified")


def test_put_method_with_request_validator(apigw, pets):
    rv = apigw.create_request_validator(restApiId=pets["api_id"], name="body", validateRequestBody=True)
    resp = _put(apigw, pets, "POST", requestValidatorId=rv["id"])
    assert resp["requestValidatorId"] == rv["id"]
    got = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="POST")
    assert got["requestValidatorId"] == rv["id"]


def test_put_method_twice_conflicts(apigw, pets):
    # CloudFormation/Terraform users see "Method already exists for this resource
    # (Service: AmazonApiGateway; Status Code: 409; Error Code: ConflictException)".
    _put(apigw, pets, "GET", apiKeyRequired=True)
    with pytest.raises(ClientError) as exc:
        _put(apigw, pets, "GET")
    assert_error(exc, "ConflictException", 409, message="Method already exists for this resource")
    got = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert got["apiKeyRequired"] is True


def test_get_method_unknown(apigw, pets):
    with pytest.raises(ClientError) as exc:
        apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert_error(exc, "NotFoundException", 404, message="Invalid Method identifier specified")


def test_get_method_includes_integration_and_responses(apigw, pets):
    _put(apigw, pets, "GET")
    apigw.put_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                              statusCode="200", responseModels={"application/json": "Empty"})
    apigw.put_integration(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_integration_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                                   statusCode="200", selectionPattern="")
    got = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert got["methodResponses"]["200"]["statusCode"] == "200"
    assert got["methodResponses"]["200"]["responseModels"] == {"application/json": "Empty"}
    integ = got["methodIntegration"]
    assert integ["type"] == "MOCK"
    assert integ["integrationResponses"]["200"]["statusCode"] == "200"
    assert integ["cacheNamespace"] == pets["resource_id"]


def test_update_method(apigw, pets):
    _put(apigw, pets, "GET")
    resp = apigw.update_method(
        restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
        patchOperations=[
            {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
            {"op": "add", "path": "/requestParameters/method.request.querystring.q", "value": "false"},
            {"op": "replace", "path": "/operationName", "value": "ListPets"},
        ],
    )
    assert status_of(resp) == 200
    assert resp["apiKeyRequired"] is True
    assert resp["requestParameters"] == {"method.request.querystring.q": False}
    assert resp["operationName"] == "ListPets"
    got = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert got["apiKeyRequired"] is True
    assert got["requestParameters"] == {"method.request.querystring.q": False}


def test_update_method_replace_and_remove_request_parameter(apigw, pets):
    _put(apigw, pets, "GET", requestParameters={"method.request.querystring.q": False,
                                                "method.request.header.x-h": True})
    resp = apigw.update_method(
        restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
        patchOperations=[
            {"op": "replace", "path": "/requestParameters/method.request.querystring.q", "value": "true"},
            {"op": "remove", "path": "/requestParameters/method.request.header.x-h"},
        ],
    )
    assert resp["requestParameters"] == {"method.request.querystring.q": True}


def test_update_method_request_models(apigw, pets):
    _put(apigw, pets, "POST")
    resp = apigw.update_method(
        restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="POST",
        patchOperations=[{"op": "add", "path": "/requestModels/application~1json", "value": "Empty"}],
    )
    assert resp["requestModels"] == {"application/json": "Empty"}
    resp = apigw.update_method(
        restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="POST",
        patchOperations=[{"op": "remove", "path": "/requestModels/application~1json"}],
    )
    assert not resp.get("requestModels")


def test_update_method_authorization_type(apigw, pets):
    _put(apigw, pets, "GET")
    resp = apigw.update_method(
        restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
        patchOperations=[{"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"}],
    )
    assert resp["authorizationType"] == "AWS_IAM"


def test_update_method_unknown(apigw, pets):
    with pytest.raises(ClientError) as exc:
        apigw.update_method(
            restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
            patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "true"}],
        )
    assert_error(exc, "NotFoundException", 404, message="Invalid Method identifier specified")


def test_update_method_unsupported_path(apigw, pets):
    _put(apigw, pets, "GET")
    with pytest.raises(ClientError) as exc:
        apigw.update_method(
            restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
            patchOperations=[{"op": "add", "path": "/httpMethod", "value": "PUT"}],
        )
    assert_error(exc, "BadRequestException", 400, message="Invalid patch path /httpMethod")


def test_update_method_unsupported_op(apigw, pets):
    _put(apigw, pets, "GET")
    with pytest.raises(ClientError) as exc:
        apigw.update_method(
            restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
            patchOperations=[{"op": "add", "path": "/operationName", "value": "x"}],
        )
    assert_error(exc, "BadRequestException", 400,
                 message="Invalid patch operation specified. Must be one of: [replace]")


def test_update_method_unknown_validator(apigw, pets):
    _put(apigw, pets, "GET")
    with pytest.raises(ClientError) as exc:
        apigw.update_method(
            restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
            patchOperations=[{"op": "replace", "path": "/requestValidatorId", "value": "fake-id"}],
        )
    assert_error(exc, "BadRequestException", 400, message="Invalid Request Validator identifier specified")


def test_delete_method(apigw, pets):
    _put(apigw, pets, "GET")
    resp = apigw.delete_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert status_of(resp) == 204
    with pytest.raises(ClientError) as exc:
        apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert_error(exc, "NotFoundException", 404, message="Invalid Method identifier specified")
    with pytest.raises(ClientError) as exc:
        apigw.delete_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert_error(exc, "NotFoundException", 404, message="Invalid Method identifier specified")


def test_delete_method_removes_its_integration(apigw, pets):
    _put(apigw, pets, "GET")
    apigw.put_integration(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET", type="MOCK")
    apigw.delete_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    _put(apigw, pets, "GET")
    got = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert "methodIntegration" not in got


# ---------------------------------------------------------------------------
# Method responses
# ---------------------------------------------------------------------------


def test_put_method_response_minimal(apigw, pets):
    _put(apigw, pets, "GET")
    resp = apigw.put_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                                     statusCode="200")
    assert status_of(resp) == 201
    assert resp["statusCode"] == "200"
    # Recorded AWS output returns empty maps here.
    assert resp.get("responseModels", {}) == {}
    assert resp.get("responseParameters", {}) == {}


def test_method_response_lifecycle(apigw, pets):
    _put(apigw, pets, "GET")
    resp = apigw.put_method_response(
        restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET", statusCode="200",
        responseParameters={"method.response.header.X-Foo": False},
        responseModels={"application/json": "Empty"},
    )
    assert resp["responseParameters"] == {"method.response.header.X-Foo": False}
    assert resp["responseModels"] == {"application/json": "Empty"}

    got = apigw.get_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                                    statusCode="200")
    assert status_of(got) == 200
    assert got["statusCode"] == "200"
    assert got["responseParameters"] == {"method.response.header.X-Foo": False}
    assert got["responseModels"] == {"application/json": "Empty"}

    upd = apigw.update_method_response(
        restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET", statusCode="200",
        patchOperations=[
            {"op": "add", "path": "/responseParameters/method.response.header.X-Bar", "value": "true"},
            {"op": "remove", "path": "/responseModels/application~1json"},
        ],
    )
    # UpdateMethodResponse is modelled (and recorded) with a 201.
    assert status_of(upd) == 201
    assert upd["responseParameters"] == {"method.response.header.X-Foo": False,
                                         "method.response.header.X-Bar": True}
    assert not upd.get("responseModels")

    method = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert method["methodResponses"]["200"]["responseParameters"]["method.response.header.X-Bar"] is True

    dele = apigw.delete_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                                        statusCode="200")
    assert status_of(dele) == 204
    with pytest.raises(ClientError) as exc:
        apigw.get_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                                  statusCode="200")
    assert_error(exc, "NotFoundException", 404, message="Invalid Response status code specified")


def test_several_method_responses(apigw, pets):
    _put(apigw, pets, "GET")
    for code in ("200", "400", "500"):
        apigw.put_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                                  statusCode=code)
    got = apigw.get_method(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET")
    assert set(got["methodResponses"]) == {"200", "400", "500"}


def test_put_method_response_on_missing_method(apigw, pets):
    with pytest.raises(ClientError) as exc:
        apigw.put_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                                  statusCode="200")
    assert_error(exc, "NotFoundException", 404, message="Invalid Method identifier specified")


def test_update_method_response_unknown_status(apigw, pets):
    _put(apigw, pets, "GET")
    with pytest.raises(ClientError) as exc:
        apigw.update_method_response(
            restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET", statusCode="404",
            patchOperations=[{"op": "add", "path": "/responseParameters/method.response.header.a", "value": "true"}],
        )
    assert_error(exc, "NotFoundException", 404, message="Invalid Response status code specified")


def test_method_response_invalid_status_code(apigw, pets):
    _put(apigw, pets, "GET")
    with pytest.raises(ClientError) as exc:
        apigw.put_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                                  statusCode="wrong")
    # AWS: ValidationException "1 validation error detected: Value 'wrong' at 'statusCode' failed to
    # satisfy constraint: Member must satisfy regular expression pattern: [1-5]\d\d"
    assert_error(exc, "ValidationException", 400)


def test_update_method_response_wrong_patch_path(apigw, pets):
    _put(apigw, pets, "GET")
    apigw.put_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                              statusCode="200")
    with pytest.raises(ClientError) as exc:
        apigw.update_method_response(
            restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET", statusCode="200",
            patchOperations=[{"op": "remove", "path": "/wrong/method.response.header.my-header", "value": "true"}],
        )
    assert_error(exc, "BadRequestException", 400, message="Invalid patch path /wrong/method.response.header.my-header")


def test_update_method_response_remove_missing_parameter(apigw, pets):
    _put(apigw, pets, "GET")
    apigw.put_method_response(restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET",
                              statusCode="200")
    with pytest.raises(ClientError) as exc:
        apigw.update_method_response(
            restApiId=pets["api_id"], resourceId=pets["resource_id"], httpMethod="GET", statusCode="200",
            patchOperations=[{"op": "remove", "path": "/responseParameters/method.response.header.nope"}],
        )
    assert_error(exc, "NotFoundException", 404, message="Invalid parameter name specified")
