"""Data plane: REST `AWS_PROXY` integrations to local functions.

AWS behaviour relied on (API Gateway developer guide, "Input format of a Lambda function for
proxy integration" and "Output format"): the function receives payload format 1.0 (resource,
path, httpMethod, headers/multiValueHeaders, queryStringParameters/multiValue..., pathParameters,
stageVariables, requestContext with identity, body, isBase64Encoded; absent maps are null); the
response `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}` becomes the HTTP
response; anything else, or a function error, answers 502 `{"message": "Internal server error"}`.
"""

import base64
import io
import json
import zipfile

import boto3
import pytest
from botocore.config import Config

from dataplane_support import RestApi, call, poll

HANDLER = r'''
import base64, json

def handler(event, context):
    path = event["path"]
    if path.endswith("/malformed"):
        return "not a proxy response"
    if path.endswith("/boom"):
        raise RuntimeError("boom")
    if path.endswith("/binary"):
        return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                "body": base64.b64encode(bytes(range(8))).decode(), "isBase64Encoded": True}
    return {
        "statusCode": 201,
        "headers": {"X-Fn": "yes"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps({"event": event, "fn": context.function_name}),
    }
'''


def zip_of(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", source)
    return buf.getvalue()


@pytest.fixture
def lam(endpoint):
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def proxied(apigw, lam, endpoint):
    fn = lam.create_function(FunctionName="proxy-fn", Runtime="python3.11", Role="arn:aws:iam::000000000000:role/x",
                             Handler="app.handler", Code={"ZipFile": zip_of(HANDLER)}, Timeout=10)
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"
    api = RestApi(apigw)
    rid = api.resource("/items/{id}")
    key = {"restApiId": api.id, "resourceId": rid, "httpMethod": "ANY"}
    apigw.put_method(**key, authorizationType="NONE")
    apigw.put_integration(**key, type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
    apigw.update_rest_api(restApiId=api.id, patchOperations=[
        {"op": "add", "path": "/binaryMediaTypes/application~1octet-stream"}])
    api.mock("/ready")
    api.deploy("test", variables={"flavour": "mint"})
    poll("GET", api.url(endpoint, "test", "/ready"), until=200)
    return api


def test_proxy_event_and_response(proxied, endpoint):
    resp = poll("POST", proxied.url(endpoint, "test", "/items/a%20b") + "?q=1&q=2&single=x",
                until=201, headers={"content-type": "application/json", "x-multi": "v"},
                data='{"hello": "world"}', timeout=20)
    assert resp.headers["X-Fn"] == "yes"
    assert resp.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    payload = resp.json()
    assert payload["fn"] == "proxy-fn"
    event = payload["event"]
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/a b"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"q": "2", "single": "x"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"], "single": ["x"]}
    assert event["headers"]["x-multi"] == "v"
    assert event["multiValueHeaders"]["x-multi"] == ["v"]
    assert event["stageVariables"] == {"flavour": "mint"}
    assert event["body"] == '{"hello": "world"}'
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["resourcePath"] == "/items/{id}"
    assert ctx["stage"] == "test"
    assert ctx["httpMethod"] == "POST"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["apiId"] == proxied.id
    assert ctx["requestId"] == resp.headers["x-amzn-RequestId"]


def test_absent_maps_are_null(proxied, endpoint):
    resp = poll("GET", proxied.url(endpoint, "test", "/items/1"), until=201, timeout=20)
    event = resp.json()["event"]
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None


def test_binary_in_and_out(proxied, endpoint):
    poll("GET", proxied.url(endpoint, "test", "/items/1"), until=201, timeout=20)
    blob = bytes(range(16))
    resp = call("POST", proxied.url(endpoint, "test", "/items/binary"),
                headers={"content-type": "application/octet-stream"}, data=blob)
    assert resp.status_code == 200
    assert resp.content == bytes(range(8))


@pytest.mark.parametrize("path", ["/items/malformed", "/items/boom"])
def test_malformed_response_or_function_error_is_502(proxied, endpoint, path):
    poll("GET", proxied.url(endpoint, "test", "/items/1"), until=201, timeout=20)
    resp = call("GET", proxied.url(endpoint, "test", path))
    assert resp.status_code == 502
    assert resp.json() == {"message": "Internal server error"}


NON_PROXY_HANDLER = r'''
def handler(event, context):
    if event.get("fail"):
        raise ValueError("BadInput: " + event["fail"])
    return {"greeting": "hello " + event.get("name", "nobody"), "meta": {"code": 7}}
'''


@pytest.fixture
def non_proxy(apigw, lam, endpoint):
    fn = lam.create_function(FunctionName="plain-fn", Runtime="python3.11", Role="arn:aws:iam::000000000000:role/x",
                             Handler="app.handler", Code={"ZipFile": zip_of(NON_PROXY_HANDLER)}, Timeout=10)
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"
    api = RestApi(apigw)
    rid = api.resource("/greet")
    key = {"restApiId": api.id, "resourceId": rid, "httpMethod": "POST"}
    apigw.put_method(**key, authorizationType="NONE")
    apigw.put_integration(**key, type="AWS", integrationHttpMethod="POST", uri=uri, requestTemplates={
        "application/json": '{"name": "$input.path(\'$.who\')", "fail": $input.json(\'$.fail\')}'})
    apigw.put_method_response(**key, statusCode="200", responseParameters={"method.response.header.X-Code": False})
    apigw.put_method_response(**key, statusCode="400")
    apigw.put_integration_response(**key, statusCode="200",
                                   responseParameters={"method.response.header.X-Code": "integration.response.body.meta.code"})
    apigw.put_integration_response(**key, statusCode="400", selectionPattern="BadInput.*", responseTemplates={
        "application/json": '{"error": "$input.path(\'$.errorMessage\')"}'})
    api.mock("/ready")
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/ready"), until=200)
    return api


def test_non_proxy_lambda_success_takes_the_default_response(non_proxy, endpoint):
    resp = poll("POST", non_proxy.url(endpoint, "test", "/greet"), until=200, timeout=20,
                headers={"content-type": "application/json"}, data='{"who": "ann", "fail": null}')
    assert resp.json() == {"greeting": "hello ann", "meta": {"code": 7}}
    assert resp.headers["X-Code"] == "7"


def test_non_proxy_lambda_error_message_selects_the_response(non_proxy, endpoint):
    poll("POST", non_proxy.url(endpoint, "test", "/greet"), until=200, timeout=20,
         headers={"content-type": "application/json"}, data='{"who": "ann", "fail": null}')
    resp = call("POST", non_proxy.url(endpoint, "test", "/greet"), headers={"content-type": "application/json"},
                data='{"who": "ann", "fail": "no name"}')
    assert resp.status_code == 400
    assert resp.json() == {"error": "BadInput: no name"}
