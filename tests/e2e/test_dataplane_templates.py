"""Mapping templates in the data plane: `$input`, `$util`, `$context`, `$stageVariables` in
request and response templates, `$context.requestOverride` / `responseOverride`, passthrough
behaviours, and templates refused when they are written.

AWS behaviour relied on (API Gateway developer guide, "Mapping template reference" and
"passthroughBehavior"): request templates are chosen by the request's Content-Type
(`application/json` when absent); with no matching template WHEN_NO_MATCH passes the body
through, NEVER answers 415, WHEN_NO_TEMPLATES passes through only when the integration has no
templates at all; in integration response templates `$input` is the backend's answer;
`$context.requestOverride.header|querystring|path.x` and `$context.responseOverride.status|header.x`
override what the integration request and the method response would otherwise carry.
"""

import json

import pytest
from botocore.exceptions import ClientError

from dataplane_support import RestApi, backend, call, poll  # noqa: F401 - fixture
from helpers import assert_error

REQUEST_TEMPLATE = """#set($body = $input.path('$'))
{
  "name": "$body.name",
  "tags": [#foreach($t in $body.tags)"$util.escapeJavaScript($t)"#if($foreach.hasNext),#end#end],
  "first": $input.json('$.tags[0]'),
  "q": "$input.params('q')",
  "stage": "$context.stage",
  "var": "$stageVariables.flavour"
}"""

RESPONSE_TEMPLATE = """#set($echo = $util.parseJson($input.path('$.body')))
{"got": "$echo.name", "method": "$input.path('$.method')", "count": $echo.tags.size()}"""


def deploy_http(apigw, endpoint, backend, templates=None, passthrough=None, response_template=RESPONSE_TEMPLATE,
                stage_variables=None):
    api = RestApi(apigw)
    rid = api.resource("/t")
    key = {"restApiId": api.id, "resourceId": rid, "httpMethod": "POST"}
    apigw.put_method(**key, authorizationType="NONE")
    kwargs = {}
    if templates is not None:
        kwargs["requestTemplates"] = templates
    if passthrough:
        kwargs["passthroughBehavior"] = passthrough
    apigw.put_integration(**key, type="HTTP", integrationHttpMethod="POST", uri=f"{backend.url}/echo", **kwargs)
    apigw.put_method_response(**key, statusCode="200")
    ir = {"responseTemplates": {"application/json": response_template}} if response_template else {}
    apigw.put_integration_response(**key, statusCode="200", **ir)
    api.mock("/ready")
    api.deploy("test", variables=stage_variables or {"flavour": "mint"})
    poll("GET", api.url(endpoint, "test", "/ready"), until=200)
    return api


def test_request_and_response_templates(apigw, endpoint, backend):
    api = deploy_http(apigw, endpoint, backend, templates={"application/json": REQUEST_TEMPLATE})
    resp = call("POST", api.url(endpoint, "test", "/t") + "?q=hello", headers={"content-type": "application/json"},
                data=json.dumps({"name": "rex", "tags": ['a"b', "c"]}))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"got": "rex", "method": "POST", "count": 2}
    sent = json.loads(backend.received[-1]["body"])
    assert sent == {"name": "rex", "tags": ['a"b', "c"], "first": 'a"b', "q": "hello", "stage": "test",
                    "var": "mint"}


def test_request_override_and_response_override(apigw, endpoint, backend):
    template = """#set($context.requestOverride.header.X-Over = "yes")
#set($context.requestOverride.querystring.extra = "1")
{}"""
    response = """#set($context.responseOverride.status = 202)
#set($context.responseOverride.header.X-Resp = "set")
{"ok": true}"""
    api = deploy_http(apigw, endpoint, backend, templates={"application/json": template}, response_template=response)
    resp = call("POST", api.url(endpoint, "test", "/t"), headers={"content-type": "application/json"}, data="{}")
    assert resp.status_code == 202, resp.text
    assert resp.headers["X-Resp"] == "set"
    seen = backend.received[-1]
    assert seen["headers"]["x-over"] == "yes"
    assert seen["query"] == "extra=1"


@pytest.mark.parametrize(
    "passthrough,content_type,expected",
    [
        ("WHEN_NO_MATCH", "text/plain", 200),
        ("NEVER", "text/plain", 415),
        ("NEVER", "application/json", 200),
        ("WHEN_NO_TEMPLATES", "text/plain", 415),
    ],
)
def test_passthrough_behaviours(apigw, endpoint, backend, passthrough, content_type, expected):
    api = deploy_http(apigw, endpoint, backend, templates={"application/json": "{}"}, passthrough=passthrough,
                      response_template=None)
    resp = call("POST", api.url(endpoint, "test", "/t"), headers={"content-type": content_type}, data="plain")
    assert resp.status_code == expected, resp.text
    if expected == 415:
        assert resp.json() == {"message": "Unsupported Media Type"}


def test_passthrough_without_templates(apigw, endpoint, backend):
    api = deploy_http(apigw, endpoint, backend, passthrough="WHEN_NO_TEMPLATES", response_template=None)
    resp = call("POST", api.url(endpoint, "test", "/t"), headers={"content-type": "text/plain"}, data="plain")
    assert resp.status_code == 200
    assert backend.received[-1]["body"] == "plain"


def test_mock_selects_by_template_logic(apigw, endpoint):
    api = RestApi(apigw)
    template = "#if($input.params('mode') == 'fail'){\"statusCode\": 500}#else{\"statusCode\": 200}#end"
    api.mock("/m", request_template=template, body='{"fine": true}',
             extra_responses=[{"status": "500", "pattern": "5\\d{2}", "body": '{"fine": false}'}])
    api.deploy("test")
    assert poll("GET", api.url(endpoint, "test", "/m"), until=200).json() == {"fine": True}
    failed = call("GET", api.url(endpoint, "test", "/m") + "?mode=fail")
    assert failed.status_code == 500
    assert failed.json() == {"fine": False}


def test_unparseable_template_is_refused_when_written(apigw):
    api = RestApi(apigw)
    rid = api.resource("/x")
    key = {"restApiId": api.id, "resourceId": rid, "httpMethod": "GET"}
    apigw.put_method(**key, authorizationType="NONE")
    with pytest.raises(ClientError) as exc:
        apigw.put_integration(**key, type="MOCK", requestTemplates={"application/json": "#if($x)\nno end"})
    assert_error(exc, "BadRequestException", 400, contains="line")


def test_binary_request_converted_to_text(apigw, endpoint, backend):
    import base64

    api = RestApi(apigw)
    apigw.update_rest_api(restApiId=api.id, patchOperations=[
        {"op": "add", "path": "/binaryMediaTypes/image~1png"}])
    rid = api.resource("/upload")
    key = {"restApiId": api.id, "resourceId": rid, "httpMethod": "POST"}
    apigw.put_method(**key, authorizationType="NONE")
    apigw.put_integration(**key, type="HTTP", integrationHttpMethod="POST", uri=f"{backend.url}/upload",
                          contentHandling="CONVERT_TO_TEXT")
    apigw.put_method_response(**key, statusCode="200")
    apigw.put_integration_response(**key, statusCode="200")
    api.mock("/ready")
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/ready"), until=200)
    png = bytes(range(256))
    resp = call("POST", api.url(endpoint, "test", "/upload"), headers={"content-type": "image/png"}, data=png)
    assert resp.status_code == 200, resp.text
    assert backend.received[-1]["body"] == base64.b64encode(png).decode()


def test_binary_bodies_pass_through_http_proxy_unchanged(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/raw", f"{backend.url}/raw", http_method="POST")
    api.deploy("test")
    poll("POST", api.url(endpoint, "test", "/raw"), until=200)
    blob = bytes(range(256)) * 4
    resp = call("POST", api.url(endpoint, "test", "/raw"), headers={"content-type": "application/octet-stream"}, data=blob)
    assert resp.status_code == 200
    assert backend.received[-1]["body_length"] == len(blob)
