"""Data plane: MOCK integrations and TestInvokeMethod.

AWS behaviour relied on: a MOCK integration's request template `{"statusCode": N}`
selects the integration response whose selectionPattern matches N (the response without
a pattern being the default); the method answers that response's status with its static
response template and static `method.response.header.*` values; the default
Content-Type is application/json. TestInvokeMethod runs the current (undeployed)
configuration and returns status, body, headers, log and latency; its log is AWS's
execution log ("Execution log for request ...", "... Method completed with status: 200",
as seen in the console and in logs published by users).
"""

import json

from dataplane_support import (
    RestApi,
    backend,  # noqa: F401 - fixture
    call,
    poll,
)


def test_mock_static_body(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/m", body='{"mocked": true, "n": 1}')
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/m"), until=200)
    assert resp.text == '{"mocked": true, "n": 1}'


def test_mock_default_content_type_json(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/m", body='{"mocked": true}')
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/m"), until=200)
    assert resp.headers.get("Content-Type", "").startswith("application/json")


def test_mock_status_code_selects_error_response(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/boom", body='{"fine": true}', request_template='{"statusCode": 500}',
             extra_responses=[{"status": "500", "pattern": r"5\d{2}", "body": '{"error": "boom"}'}])
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/boom"), until=500)
    assert resp.text == '{"error": "boom"}'


def test_mock_status_code_200_uses_default_response(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/ok", body='{"fine": true}', request_template='{"statusCode": 200}',
             extra_responses=[{"status": "500", "pattern": r"5\d{2}", "body": '{"error": "boom"}'}])
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/ok"), until=200)
    assert resp.text == '{"fine": true}'


def test_mock_status_code_selects_non_200_success(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/created", body='{"default": true}', http_method="POST", request_template='{"statusCode": 201}',
             extra_responses=[{"status": "201", "pattern": "201", "body": '{"created": true}'}])
    api.deploy("test")
    resp = poll("POST", api.url(endpoint, "test", "/created"), until=201)
    assert resp.text == '{"created": true}'


def test_mock_static_response_header(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/m", body="{}", response_parameters={"method.response.header.X-Mock": "'yes'",
                                                   "method.response.header.Cache-Control": "'no-store'"})
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/m"), until=200)
    assert resp.headers.get("X-Mock") == "yes"
    assert resp.headers.get("Cache-Control") == "no-store"


# ---------------------------------------------------------------------------
# TestInvokeMethod
# ---------------------------------------------------------------------------


def test_test_invoke_mock(apigw):
    api = RestApi(apigw)
    key = api.mock("/m", body='{"invoked": true}')
    out = apigw.test_invoke_method(restApiId=api.id, resourceId=key["resourceId"], httpMethod="GET",
                                   pathWithQueryString="/m")
    assert out["status"] == 200
    assert out["body"] == '{"invoked": true}'
    assert isinstance(out.get("headers", {}), dict)
    assert isinstance(out["latency"], int) and out["latency"] >= 0
    assert "Execution log for request" in out["log"]
    assert "Method completed with status: 200" in out["log"]


def test_test_invoke_uses_undeployed_configuration(apigw, endpoint):
    api = RestApi(apigw)
    key = api.mock("/m", body='{"v": 1}')
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/m"), until='{"v": 1}')
    api.set_mock_body(key, '{"v": 2}')
    out = apigw.test_invoke_method(restApiId=api.id, resourceId=key["resourceId"], httpMethod="GET",
                                   pathWithQueryString="/m")
    assert out["body"] == '{"v": 2}'
    # the deployed stage still serves the snapshot
    assert call("GET", api.url(endpoint, "test", "/m")).text == '{"v": 1}'


def test_test_invoke_mock_error_status(apigw):
    api = RestApi(apigw)
    key = api.mock("/boom", body="{}", request_template='{"statusCode": 500}',
                   extra_responses=[{"status": "500", "pattern": r"5\d{2}", "body": '{"error": "boom"}'}])
    out = apigw.test_invoke_method(restApiId=api.id, resourceId=key["resourceId"], httpMethod="GET",
                                   pathWithQueryString="/boom")
    assert out["status"] == 500
    assert out["body"] == '{"error": "boom"}'


def test_test_invoke_http_proxy_with_stage_variables_and_headers(apigw, backend):
    api = RestApi(apigw)
    key = api.http_proxy("/p", backend.url + "/${stageVariables.seg}", http_method="GET")
    out = apigw.test_invoke_method(restApiId=api.id, resourceId=key["resourceId"], httpMethod="GET",
                                   pathWithQueryString="/p?a=1", headers={"X-Test": "t"},
                                   stageVariables={"seg": "from-test-invoke"})
    assert out["status"] == 200, out
    got = json.loads(out["body"])
    assert got["path"] == "/from-test-invoke"
    assert got["query"] == "a=1"
    assert got["headers"].get("x-test") == "t"
