"""Integrations (PutIntegration, GetIntegration, UpdateIntegration, DeleteIntegration)
and integration responses (Put/Get/Update/DeleteIntegrationResponse).

Exact messages and defaults are the ones recorded against real AWS in LocalStack's
snapshot file tests/aws/services/apigateway/test_apigateway_api.snapshot.json
(TestApigatewayIntegration::*, TestApigatewayIntegrationResponse::*).
"""

import pytest
from botocore.exceptions import ClientError

from helpers import REGION, assert_error, status_of

LAMBDA_URI = (
    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
    f"arn:aws:lambda:{REGION}:123456789012:function:hello/invocations"
)


@pytest.fixture
def meth(apigw, api):
    """/pets with a GET method (no integration yet)."""
    res = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    apigw.put_method(restApiId=api["id"], resourceId=res["id"], httpMethod="GET", authorizationType="NONE")
    return {"restApiId": api["id"], "resourceId": res["id"], "httpMethod": "GET"}


def test_put_integration_mock_defaults(apigw, meth):
    resp = apigw.put_integration(**meth, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    assert status_of(resp) == 201
    assert resp["type"] == "MOCK"
    assert resp["requestTemplates"] == {"application/json": '{"statusCode": 200}'}
    assert resp["passthroughBehavior"] == "WHEN_NO_MATCH"
    assert resp["timeoutInMillis"] == 29000
    assert resp["cacheNamespace"] == meth["resourceId"]
    assert resp["cacheKeyParameters"] == []
    assert "uri" not in resp


def test_get_integration(apigw, meth):
    apigw.put_integration(**meth, type="MOCK")
    got = apigw.get_integration(**meth)
    assert status_of(got) == 200
    assert got["type"] == "MOCK"
    assert got["timeoutInMillis"] == 29000
    assert got["passthroughBehavior"] == "WHEN_NO_MATCH"
    assert got["cacheNamespace"] == meth["resourceId"]
    assert got["cacheKeyParameters"] == []


def test_put_integration_http(apigw, meth):
    resp = apigw.put_integration(
        **meth,
        type="HTTP",
        integrationHttpMethod="GET",
        uri="https://example.com/pets",
        requestParameters={"integration.request.header.X-Source": "'tollgate'"},
        passthroughBehavior="WHEN_NO_TEMPLATES",
        timeoutInMillis=5000,
        cacheKeyParameters=[],
    )
    assert resp["type"] == "HTTP"
    assert resp["httpMethod"] == "GET"
    assert resp["uri"] == "https://example.com/pets"
    assert resp["requestParameters"] == {"integration.request.header.X-Source": "'tollgate'"}
    assert resp["passthroughBehavior"] == "WHEN_NO_TEMPLATES"
    assert resp["timeoutInMillis"] == 5000
    got = apigw.get_integration(**meth)
    assert got["uri"] == "https://example.com/pets"
    assert got["httpMethod"] == "GET"


def test_put_integration_http_proxy(apigw, meth):
    resp = apigw.put_integration(**meth, type="HTTP_PROXY", integrationHttpMethod="ANY",
                                 uri="https://example.com/{proxy}")
    assert resp["type"] == "HTTP_PROXY"
    assert resp["httpMethod"] == "ANY"
    assert resp["uri"] == "https://example.com/{proxy}"
    assert resp["timeoutInMillis"] == 29000
    assert resp["passthroughBehavior"] == "WHEN_NO_MATCH"


def test_put_integration_aws_proxy(apigw, meth):
    resp = apigw.put_integration(**meth, type="AWS_PROXY", integrationHttpMethod="POST", uri=LAMBDA_URI)
    assert resp["type"] == "AWS_PROXY"
    assert resp["httpMethod"] == "POST"
    assert resp["uri"] == LAMBDA_URI
    assert resp["cacheNamespace"] == meth["resourceId"]


def test_put_integration_http_requires_http_method(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.put_integration(**meth, type="HTTP", uri="https://example.com/")
    # AWS: "Enumeration value for HttpMethod must be non-empty" (code asserted only).
    assert_error(exc, "BadRequestException", 400)


def test_put_integration_http_requires_uri(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.put_integration(**meth, type="HTTP", integrationHttpMethod="GET")
    assert_error(exc, "BadRequestException", 400)


def test_put_integration_invalid_type(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.put_integration(**meth, type="HTTPS_PROXY", integrationHttpMethod="GET", uri="https://example.com/")
    # Real AWS rejects enum violations at the framework level with a ValidationException:
    # "1 validation error detected: Value 'HTTPS_PROXY' at 'putIntegrationInput.type' failed to
    # satisfy constraint: Member must satisfy enum value set: [HTTP, MOCK, AWS_PROXY, HTTP_PROXY, AWS]"
    assert_error(exc, "ValidationException", 400, contains="HTTPS_PROXY")


def test_put_integration_missing_method(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.put_integration(restApiId=meth["restApiId"], resourceId=meth["resourceId"], httpMethod="POST",
                              type="MOCK")
    assert_error(exc, "NotFoundException", 404, message="Invalid Method identifier specified")


def test_put_integration_missing_resource(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.put_integration(restApiId=meth["restApiId"], resourceId="nosuch", httpMethod="GET", type="MOCK")
    assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")


def test_get_integration_missing(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.get_integration(**meth)
    assert_error(exc, "NotFoundException", 404, message="Invalid Integration identifier specified")


def test_get_integration_missing_method(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.get_integration(restApiId=meth["restApiId"], resourceId=meth["resourceId"], httpMethod="PUT")
    assert_error(exc, "NotFoundException", 404, message="Invalid Method identifier specified")


def test_update_integration(apigw, meth):
    apigw.put_integration(**meth, type="HTTP", integrationHttpMethod="GET", uri="https://example.com/a")
    resp = apigw.update_integration(
        **meth,
        patchOperations=[
            {"op": "replace", "path": "/uri", "value": "https://example.com/b"},
            {"op": "replace", "path": "/timeoutInMillis", "value": "10000"},
            {"op": "add", "path": "/requestTemplates/application~1json", "value": '{"a": 1}'},
        ],
    )
    assert status_of(resp) == 200
    assert resp["uri"] == "https://example.com/b"
    assert resp["timeoutInMillis"] == 10000
    assert resp["requestTemplates"] == {"application/json": '{"a": 1}'}
    got = apigw.get_integration(**meth)
    assert got["uri"] == "https://example.com/b"
    assert got["timeoutInMillis"] == 10000
    assert got["requestTemplates"] == {"application/json": '{"a": 1}'}


def test_update_integration_remove_template_and_params(apigw, meth):
    apigw.put_integration(
        **meth, type="HTTP", integrationHttpMethod="GET", uri="https://example.com/",
        requestTemplates={"application/json": "{}", "application/xml": "<a/>"},
        requestParameters={"integration.request.header.X-A": "'a'"},
    )
    resp = apigw.update_integration(
        **meth,
        patchOperations=[
            {"op": "remove", "path": "/requestTemplates/application~1xml"},
            {"op": "remove", "path": "/requestParameters/integration.request.header.X-A"},
            {"op": "add", "path": "/requestParameters/integration.request.header.X-B", "value": "'b'"},
        ],
    )
    assert resp["requestTemplates"] == {"application/json": "{}"}
    assert resp["requestParameters"] == {"integration.request.header.X-B": "'b'"}


def test_update_integration_missing(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.update_integration(**meth, patchOperations=[{"op": "replace", "path": "/uri", "value": "x"}])
    assert_error(exc, "NotFoundException", 404, message="Invalid Integration identifier specified")


def test_update_integration_unknown_path(apigw, meth):
    apigw.put_integration(**meth, type="MOCK")
    with pytest.raises(ClientError) as exc:
        apigw.update_integration(**meth, patchOperations=[{"op": "replace", "path": "/noSuchField", "value": "x"}])
    assert_error(exc, "BadRequestException", 400)


def test_delete_integration(apigw, meth):
    apigw.put_integration(**meth, type="MOCK")
    resp = apigw.delete_integration(**meth)
    assert status_of(resp) == 204
    with pytest.raises(ClientError) as exc:
        apigw.get_integration(**meth)
    assert_error(exc, "NotFoundException", 404, message="Invalid Integration identifier specified")
    # The method itself survives.
    assert apigw.get_method(**meth)["httpMethod"] == "GET"
    assert "methodIntegration" not in apigw.get_method(**meth)


def test_delete_integration_missing(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.delete_integration(**meth)
    assert_error(exc, "NotFoundException", 404)


def test_method_shows_integration(apigw, meth):
    apigw.put_integration(**meth, type="HTTP_PROXY", integrationHttpMethod="GET", uri="https://example.com/")
    got = apigw.get_method(**meth)
    assert got["methodIntegration"]["type"] == "HTTP_PROXY"
    assert got["methodIntegration"]["uri"] == "https://example.com/"


# ---------------------------------------------------------------------------
# Integration responses
# ---------------------------------------------------------------------------


@pytest.fixture
def mock_meth(apigw, meth):
    apigw.put_integration(**meth, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(
        **meth, statusCode="200", responseParameters={"method.response.header.X-Foo": False}
    )
    apigw.put_method_response(**meth, statusCode="400")
    return meth


def test_integration_response_lifecycle(apigw, mock_meth):
    resp = apigw.put_integration_response(
        **mock_meth, statusCode="200", selectionPattern="",
        responseTemplates={"application/json": '"created"'},
        responseParameters={"method.response.header.X-Foo": "'bar'"},
    )
    assert status_of(resp) == 201
    assert resp["statusCode"] == "200"
    assert resp["selectionPattern"] == ""
    assert resp["responseTemplates"] == {"application/json": '"created"'}
    assert resp["responseParameters"] == {"method.response.header.X-Foo": "'bar'"}

    got = apigw.get_integration_response(**mock_meth, statusCode="200")
    assert status_of(got) == 200
    assert got["selectionPattern"] == ""
    assert got["responseTemplates"] == {"application/json": '"created"'}
    assert got["responseParameters"] == {"method.response.header.X-Foo": "'bar'"}

    upd = apigw.update_integration_response(
        **mock_meth, statusCode="200",
        patchOperations=[
            {"op": "replace", "path": "/selectionPattern", "value": "updated-pattern"},
            {"op": "replace", "path": "/responseTemplates/application~1json", "value": '"changed"'},
        ],
    )
    assert status_of(upd) == 200
    assert upd["selectionPattern"] == "updated-pattern"
    assert upd["responseTemplates"] == {"application/json": '"changed"'}

    # PUT again overwrites the whole integration response.
    over = apigw.put_integration_response(
        **mock_meth, statusCode="200", selectionPattern="overwrite-pattern",
        responseTemplates={"application/json": "overwrite"},
    )
    assert over["selectionPattern"] == "overwrite-pattern"
    assert over["responseTemplates"] == {"application/json": "overwrite"}
    assert not over.get("responseParameters")

    method = apigw.get_method(**mock_meth)
    ir = method["methodIntegration"]["integrationResponses"]["200"]
    assert ir["selectionPattern"] == "overwrite-pattern"
    assert ir["responseTemplates"] == {"application/json": "overwrite"}

    dele = apigw.delete_integration_response(**mock_meth, statusCode="200")
    assert status_of(dele) == 204
    with pytest.raises(ClientError) as exc:
        apigw.get_integration_response(**mock_meth, statusCode="200")
    assert_error(exc, "NotFoundException", 404, message="Invalid Response status code specified")


def test_integration_response_error_pattern(apigw, mock_meth):
    resp = apigw.put_integration_response(**mock_meth, statusCode="400", selectionPattern="4\\d{2}")
    assert resp["selectionPattern"] == "4\\d{2}"
    integ = apigw.get_integration(**mock_meth)
    assert integ["integrationResponses"]["400"]["selectionPattern"] == "4\\d{2}"


def test_integration_response_update_parameters(apigw, mock_meth):
    apigw.put_integration_response(**mock_meth, statusCode="200", selectionPattern="")
    upd = apigw.update_integration_response(
        **mock_meth, statusCode="200",
        patchOperations=[{"op": "add", "path": "/responseParameters/method.response.header.X-Foo",
                          "value": "'*'"}],
    )
    assert upd["responseParameters"] == {"method.response.header.X-Foo": "'*'"}
    upd = apigw.update_integration_response(
        **mock_meth, statusCode="200",
        patchOperations=[{"op": "remove", "path": "/responseParameters/method.response.header.X-Foo"}],
    )
    assert not upd.get("responseParameters")


def test_get_integration_response_without_integration(apigw, meth):
    with pytest.raises(ClientError) as exc:
        apigw.get_integration_response(**meth, statusCode="200")
    assert_error(exc, "NotFoundException", 404, message="Invalid Integration identifier specified")


def test_get_integration_response_wrong_status(apigw, mock_meth):
    with pytest.raises(ClientError) as exc:
        apigw.get_integration_response(**mock_meth, statusCode="201")
    assert_error(exc, "NotFoundException", 404, message="Invalid Response status code specified")


def test_put_integration_response_wrong_method(apigw, mock_meth):
    with pytest.raises(ClientError) as exc:
        apigw.put_integration_response(restApiId=mock_meth["restApiId"], resourceId=mock_meth["resourceId"],
                                       httpMethod="POST", statusCode="200")
    assert_error(exc, "NotFoundException", 404, message="Invalid Method identifier specified")


def test_put_integration_response_wrong_resource(apigw, mock_meth):
    with pytest.raises(ClientError) as exc:
        apigw.put_integration_response(restApiId=mock_meth["restApiId"], resourceId="nosuch",
                                       httpMethod="GET", statusCode="200")
    assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")


def test_put_integration_response_invalid_status_code(apigw, mock_meth):
    with pytest.raises(ClientError) as exc:
        apigw.put_integration_response(**mock_meth, statusCode="wrong", selectionPattern="")
    assert_error(exc, "ValidationException", 400)


def test_delete_integration_response_missing(apigw, mock_meth):
    with pytest.raises(ClientError) as exc:
        apigw.delete_integration_response(**mock_meth, statusCode="200")
    assert_error(exc, "NotFoundException", 404, message="Invalid Response status code specified")


def test_delete_integration_removes_its_responses(apigw, mock_meth):
    apigw.put_integration_response(**mock_meth, statusCode="200", selectionPattern="")
    apigw.delete_integration(**mock_meth)
    apigw.put_integration(**mock_meth, type="MOCK")
    got = apigw.get_integration(**mock_meth)
    assert not got.get("integrationResponses")
