"""The data plane of HTTP APIs, with boto3 set-up and real HTTP requests: stages with and
without a stage segment, route priority, HTTP_PROXY, AWS_PROXY with payload 2.0 and 1.0 and
the exact event shapes, response inference, error bodies, parameter mapping and CORS."""

from __future__ import annotations

import base64
import json

import requests

from dataplane_support import backend, call, poll  # noqa: F401
from http_api_support import echo_function, host_url, path_url, v2  # noqa: F401


def http_api(v2, **kwargs):
    return v2.create_api(Name="dp", ProtocolType="HTTP", **kwargs)["ApiId"]


def http_integration(v2, api_id, uri, method="ANY", **kwargs):
    return v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationUri=uri,
                                 IntegrationMethod=method, **kwargs)["IntegrationId"]


def lambda_integration(v2, api_id, arn, version="2.0", **kwargs):
    return v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                 PayloadFormatVersion=version, **kwargs)["IntegrationId"]


def route(v2, api_id, key, integration_id, **kwargs):
    return v2.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration_id}",
                           **kwargs)


def auto_stage(v2, api_id, name="$default", **kwargs):
    v2.create_stage(ApiId=api_id, StageName=name, AutoDeploy=True, **kwargs)


def get(endpoint, api_id, path, method="GET", until=200, **kwargs):
    url, headers = host_url(endpoint, api_id, path)
    headers.update(kwargs.pop("headers", {}))
    return poll(method, url, until, headers=headers, **kwargs)


def test_routes_match_by_priority_and_unmatched_is_404(v2, endpoint, backend):
    api_id = http_api(v2)
    for key in ("GET /pets/{id}", "GET /pets/dog/{id}", "ANY /{proxy+}", "GET /pets/{proxy+}",
                "POST /orders"):
        name = key.replace(" ", "_").replace("/", "-").replace("{", "").replace("}", "").replace("+", "")
        route(v2, api_id, key, http_integration(v2, api_id, f"{backend.url}/{name}"))
    auto_stage(v2, api_id)

    def matched(method, path):
        return get(endpoint, api_id, path, method=method).json()["path"]

    assert matched("GET", "/pets/dog/1") == "/GET_-pets-dog-id"
    assert matched("GET", "/pets/1") == "/GET_-pets-id"
    assert matched("GET", "/pets/1/toys") == "/GET_-pets-proxy"
    assert matched("POST", "/pets/1") == "/ANY_-proxy"
    assert matched("POST", "/orders") == "/POST_-orders"
    # Nothing matches `/` (a greedy variable needs a segment) and there is no $default.
    resp = get(endpoint, api_id, "/", until=404)
    assert resp.json() == {"message": "Not Found"}
    assert resp.headers["apigw-requestid"]

    # A $default route catches what nothing else does.
    route(v2, api_id, "$default", http_integration(v2, api_id, f"{backend.url}/fallback"))
    assert get(endpoint, api_id, "/", until=lambda r: r.status_code == 200).json()["path"] == "/fallback"


def test_named_and_default_stages(v2, endpoint, backend):
    api_id = http_api(v2)
    route(v2, api_id, "GET /where", http_integration(
        v2, api_id, backend.url + "/${stageVariables.name}"))
    auto_stage(v2, api_id, "$default", StageVariables={"name": "default-stage"})
    auto_stage(v2, api_id, "dev", StageVariables={"name": "dev-stage"})
    assert get(endpoint, api_id, "/where").json()["path"] == "/default-stage"
    assert get(endpoint, api_id, "/dev/where").json()["path"] == "/dev-stage"
    # Path style, without and with a stage segment.
    assert poll("GET", path_url(endpoint, api_id, "/where"), 200).json()["path"] == "/default-stage"
    assert poll("GET", path_url(endpoint, api_id, "/dev/where"), 200).json()["path"] == "/dev-stage"
    # A request to an unknown API id is not an HTTP API's 404.
    url, headers = host_url(endpoint, "nosuchapi1", "/where")
    assert call("GET", url, headers=headers).status_code == 404


def test_named_stage_without_default_answers_404_elsewhere(v2, endpoint, backend):
    api_id = http_api(v2)
    route(v2, api_id, "GET /x", http_integration(v2, api_id, backend.url + "/x"))
    deployment = v2.create_deployment(ApiId=api_id)["DeploymentId"]
    v2.create_stage(ApiId=api_id, StageName="prod", DeploymentId=deployment)
    assert get(endpoint, api_id, "/prod/x").json()["path"] == "/x"
    assert get(endpoint, api_id, "/x", until=404).json() == {"message": "Not Found"}


def test_http_proxy_forwards_and_returns_as_is(v2, endpoint, backend):
    api_id = http_api(v2)
    route(v2, api_id, "ANY /{proxy+}", http_integration(v2, api_id, backend.url + "/{proxy}"))
    auto_stage(v2, api_id)
    resp = get(endpoint, api_id, "/a/b%20c?x=1&x=2&y=z", method="PUT", data=b'{"k": 1}',
               headers={"X-Custom": "v", "Content-Type": "application/json"})
    echoed = resp.json()
    assert echoed["method"] == "PUT"
    assert echoed["path"] == "/a/b%20c"
    assert echoed["query"] == "x=1&x=2&y=z"
    assert echoed["headers"]["x-custom"] == "v"
    assert echoed["headers"]["host"] == backend.host
    assert "127.0.0.1" in echoed["headers"]["x-forwarded-for"]
    assert echoed["body"] == '{"k": 1}'
    teapot = get(endpoint, api_id, "/status/418", until=418)
    assert teapot.headers["x-backend"] == "yes"


def test_http_errors_and_timeouts(v2, endpoint, backend):
    api_id = http_api(v2)
    route(v2, api_id, "GET /slow", http_integration(v2, api_id, backend.url + "/slow/2000",
                                                    TimeoutInMillis=300))
    route(v2, api_id, "GET /down", http_integration(v2, api_id, "http://127.0.0.1:9/"))
    v2.create_route(ApiId=api_id, RouteKey="GET /nothing")
    auto_stage(v2, api_id)
    slow = get(endpoint, api_id, "/slow", until=503)
    assert slow.json() == {"message": "Service Unavailable"}
    down = get(endpoint, api_id, "/down", until=500)
    assert down.json() == {"message": "Internal Server Error"}
    nothing = get(endpoint, api_id, "/nothing", until=500)
    assert nothing.json() == {"message": "Internal Server Error"}


def test_lambda_payload_2_event(v2, endpoint, echo_function):
    api_id = http_api(v2)
    route(v2, api_id, "POST /items/{id}", lambda_integration(v2, api_id, echo_function))
    auto_stage(v2, api_id, "$default", StageVariables={"env": "test"})
    url, headers = host_url(endpoint, api_id, "/items/4%202?a=1&a=2&b=x")
    headers.update({"Cookie": "c1=v1; c2=v2", "Content-Type": "text/plain", "User-Agent": "ua/1"})
    session = requests.Session()
    resp = poll("POST", url, 200, headers=headers, data=b"hello", request_timeout=30, timeout=20)
    event = resp.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items/{id}"
    assert event["rawPath"] == "/items/4%202"
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["content-type"] == "text/plain"
    assert event["headers"]["user-agent"] == "ua/1"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["pathParameters"] == {"id": "4 2"}
    assert event["stageVariables"] == {"env": "test"}
    assert event["body"] == "hello" and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["apiId"] == api_id and ctx["stage"] == "$default"
    assert ctx["routeKey"] == "POST /items/{id}"
    assert ctx["http"] == {"method": "POST", "path": "/items/4%202", "protocol": "HTTP/1.1",
                           "sourceIp": "127.0.0.1", "userAgent": "ua/1"}
    assert ctx["domainName"] == f"{api_id}.execute-api.localhost"
    assert ctx["domainPrefix"] == api_id
    assert ctx["requestId"] == resp.headers["apigw-requestid"]
    assert isinstance(ctx["timeEpoch"], int) and ctx["time"].endswith("+0000")
    assert "authorizer" not in ctx
    session.close()

    # Binary bodies arrive base64-encoded; empty collections are left out.
    url, headers = host_url(endpoint, api_id, "/items/1")
    headers["Content-Type"] = "application/octet-stream"
    event = call("POST", url, headers=headers, data=b"\x00\x01\x02", timeout=30).json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\x01\x02"
    assert "queryStringParameters" not in event and "cookies" not in event


def test_lambda_payload_2_responses(v2, endpoint, echo_function):
    api_id = http_api(v2)
    route(v2, api_id, "ANY /{proxy+}", lambda_integration(v2, api_id, echo_function,
                                                          TimeoutInMillis=1000))
    auto_stage(v2, api_id)
    inferred = get(endpoint, api_id, "/infer", timeout=20, request_timeout=30)
    assert inferred.json() == {"hello": "world"}
    assert inferred.headers["content-type"] == "application/json"
    assert get(endpoint, api_id, "/string").text == "plain text"
    made = get(endpoint, api_id, "/cookies", until=201)
    assert made.text == "made" and made.headers["x-fn"] == "yes"
    assert made.headers["content-type"] == "text/plain"
    assert made.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2; Secure"]
    failed = get(endpoint, api_id, "/fail", until=500)
    assert failed.json() == {"message": "Internal Server Error"}
    malformed = get(endpoint, api_id, "/malformed", until=500)
    assert malformed.json() == {"message": "Internal Server Error"}
    slow = get(endpoint, api_id, "/sleep", until=503, request_timeout=30)
    assert slow.json() == {"message": "Service Unavailable"}


def test_lambda_payload_1_event(v2, endpoint, echo_function):
    api_id = http_api(v2)
    route(v2, api_id, "GET /v1/{id}", lambda_integration(v2, api_id, echo_function, version="1.0"))
    auto_stage(v2, api_id)
    event = get(endpoint, api_id, "/v1/7?q=1&q=2", timeout=20, request_timeout=30,
                headers={"X-Multi": "a"}).json()
    assert event["version"] == "1.0"
    assert event["resource"] == "/v1/{id}"
    assert event["path"] == "/v1/7"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"q": "2"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
    assert event["multiValueHeaders"]["x-multi"] == ["a"]
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["resourcePath"] == "/v1/{id}" and ctx["stage"] == "$default"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"


def test_parameter_mapping(v2, endpoint, backend):
    api_id = http_api(v2)
    iid = http_integration(
        v2, api_id, backend.url + "/original",
        RequestParameters={
            "append:header.x-from-query": "$request.querystring.q",
            "overwrite:header.x-static": "fixed-$stageVariables.v",
            "remove:header.x-secret": "''",
            "overwrite:querystring.q": "changed",
            "overwrite:path": "/mapped/$request.path.id",
        },
        ResponseParameters={
            "200": {"overwrite:statuscode": "202",
                    "append:header.x-request-id": "$context.requestId",
                    "overwrite:header.x-method": "$response.body.method"},
        })
    route(v2, api_id, "GET /things/{id}", iid)
    auto_stage(v2, api_id, StageVariables={"v": "sv"})
    resp = get(endpoint, api_id, "/things/9?q=orig", until=202,
               headers={"X-Secret": "s", "X-Static": "client"})
    echoed = resp.json()
    assert echoed["path"] == "/mapped/9"
    assert echoed["query"] == "q=changed"
    assert echoed["headers"]["x-from-query"] == "orig"
    assert echoed["headers"]["x-static"] == "fixed-sv"
    assert "x-secret" not in echoed["headers"]
    assert resp.headers["x-request-id"] == resp.headers["apigw-requestid"]
    assert resp.headers["x-method"] == "GET"


def test_cors_preflight_and_response_headers(v2, endpoint, backend):
    api_id = http_api(v2, CorsConfiguration={
        "AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["content-type", "x-api-key"], "ExposeHeaders": ["x-backend"],
        "MaxAge": 300, "AllowCredentials": True})
    route(v2, api_id, "GET /data", http_integration(v2, api_id, backend.url + "/status/200"))
    auto_stage(v2, api_id)
    get(endpoint, api_id, "/data")
    # A browser's preflight: answered by the gateway, with no OPTIONS route.
    preflight = get(endpoint, api_id, "/data", method="OPTIONS", until=204, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert preflight.headers["access-control-allow-headers"] == "content-type,x-api-key"
    assert preflight.headers["access-control-max-age"] == "300"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert backend.received[-1]["method"] != "OPTIONS"
    denied = get(endpoint, api_id, "/data", method="OPTIONS", until=204, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in denied.headers

    actual = get(endpoint, api_id, "/data", headers={"Origin": "https://app.example"})
    assert actual.headers["access-control-allow-origin"] == "https://app.example"
    assert actual.headers["access-control-expose-headers"] == "x-backend"
    assert actual.headers["access-control-allow-credentials"] == "true"
    other = get(endpoint, api_id, "/data", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    # Unmatched routes carry CORS headers too, so browsers can read the 404.
    missing = get(endpoint, api_id, "/nope", until=404, headers={"Origin": "https://app.example"})
    assert missing.headers["access-control-allow-origin"] == "https://app.example"
