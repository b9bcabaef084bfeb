"""Data plane: HTTP_PROXY and HTTP (custom) integrations against a local echo backend.

AWS behaviour relied on:
- HTTP_PROXY passes method (integration method ANY), path, query string, headers and
  body to the backend and returns the backend's status, headers and body unchanged
  ("API Gateway passes the incoming request from the client to the HTTP endpoint and
  passes the outgoing response from the HTTP endpoint to the client", developer guide,
  "Set up HTTP proxy integrations"). The Host header is the integration endpoint's, not
  the caller's (knowledge center, "forward the host header ... for an API Gateway REST
  API": "API Gateway overwrites the host value ... depending on the integration request
  endpoint URL").
- `{proxy}` / `{name}` in the uri are filled from `integration.request.path.*` mappings;
  `${stageVariables.x}` may appear anywhere in an HTTP uri, host included.
- HTTP (non-proxy) sends only mapped parameters; integration responses are chosen by
  matching `selectionPattern` against the backend's status code, the response without a
  pattern being the default (which also catches unmatched codes).
- A backend slower than `timeoutInMillis`: 504 {"message": "Endpoint request timed out"}.
- Payload limit 10 MB: larger requests answer 413.
"""

import time
from urllib.parse import parse_qs

import pytest
import requests

from dataplane_support import (
    BIG_BODY,
    INTERNAL_ERROR,
    TIMED_OUT,
    RestApi,
    backend,  # noqa: F401 - fixture
    call,
    json_of,
    poll,
)
from helpers import free_port


@pytest.fixture
def echo(apigw, endpoint, backend):
    """ANY /echo and ANY /api/{proxy+} as HTTP_PROXY to the backend; deployed to 'test'.
    Returns a function path -> invoke URL."""
    api = RestApi(apigw, "proxy")
    api.http_proxy("/echo", backend.url + "/echo")
    api.http_proxy("/api/{proxy+}", backend.url + "/{proxy}")
    api.http_proxy("/st/{code}", backend.url + "/status/{code}")
    api.http_proxy("/big", backend.url + "/big")
    api.deploy("test")
    url = lambda path: api.url(endpoint, "test", path)  # noqa: E731
    poll("GET", url("/echo"), until=200)
    return url


# ---------------------------------------------------------------------------
# HTTP_PROXY: request side
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_proxy_passes_method(echo, method):
    resp = call(method, echo("/echo"))
    assert resp.status_code == 200, resp.text
    assert json_of(resp)["method"] == method


def test_proxy_passes_path(echo):
    resp = call("GET", echo("/echo"))
    assert json_of(resp)["path"] == "/echo"


def test_proxy_passes_query_string_with_repeated_keys(echo):
    resp = call("GET", echo("/echo") + "?a=1&a=2&b=x%20y")
    assert resp.status_code == 200, resp.text
    assert parse_qs(json_of(resp)["query"]) == {"a": ["1", "2"], "b": ["x y"]}


def test_proxy_passes_request_headers(echo):
    resp = call("GET", echo("/echo"), headers={"X-Custom-Header": "hello", "Accept-Language": "fr"})
    headers = json_of(resp)["headers"]
    assert headers.get("x-custom-header") == "hello"
    assert headers.get("accept-language") == "fr"


def test_proxy_sets_host_to_backend(echo, backend):
    resp = call("GET", echo("/echo"))
    assert json_of(resp)["headers"].get("host") == backend.host


def test_proxy_sets_x_forwarded_for(echo):
    resp = call("GET", echo("/echo"))
    xff = json_of(resp)["headers"].get("x-forwarded-for", "")
    assert [p.strip() for p in xff.split(",")][-1] == "127.0.0.1", xff
    assert json_of(resp)["headers"].get("x-forwarded-proto") == "http"


def test_proxy_appends_to_x_forwarded_for(echo):
    resp = call("GET", echo("/echo"), headers={"X-Forwarded-For": "203.0.113.7"})
    xff = [p.strip() for p in json_of(resp)["headers"].get("x-forwarded-for", "").split(",")]
    assert xff[0] == "203.0.113.7"
    assert xff[-1] == "127.0.0.1"
    assert len(xff) >= 2


def test_proxy_passes_body_and_content_type(echo):
    resp = call("POST", echo("/echo"), headers={"Content-Type": "text/plain"}, data=b"hello world\nline 2")
    got = json_of(resp)
    assert got["body"] == "hello world\nline 2"
    assert got["headers"].get("content-type") == "text/plain"


def test_proxy_passes_json_body(echo):
    body = b'{"name": "Rex", "tags": [1, 2, 3]}'
    resp = call("PUT", echo("/echo"), headers={"Content-Type": "application/json"}, data=body)
    assert json_of(resp)["body"] == body.decode()


# ---------------------------------------------------------------------------
# HTTP_PROXY: response side
# ---------------------------------------------------------------------------


def test_proxy_returns_backend_status_headers_and_body(echo):
    resp = call("GET", echo("/st/409"))
    assert resp.status_code == 409
    assert resp.headers.get("X-Backend") == "yes"
    assert json_of(resp)["status"] == 409


def test_proxy_returns_backend_server_error_unchanged(echo):
    resp = call("GET", echo("/st/503"))
    assert resp.status_code == 503
    assert resp.headers.get("X-Backend") == "yes"
    assert json_of(resp)["status"] == 503


def test_proxy_returns_large_backend_body(echo):
    resp = call("GET", echo("/big"))
    assert resp.status_code == 200
    assert resp.headers.get("Content-Type", "").startswith("text/plain")
    assert len(resp.content) == len(BIG_BODY)
    assert resp.content == BIG_BODY


# ---------------------------------------------------------------------------
# HTTP_PROXY: uri substitution
# ---------------------------------------------------------------------------


def test_greedy_proxy_path(echo):
    resp = call("GET", echo("/api/a/b/c") + "?x=1")
    got = json_of(resp)
    assert got["path"] == "/a/b/c"
    assert parse_qs(got["query"]) == {"x": ["1"]}


def test_greedy_proxy_single_segment_with_body(echo):
    resp = call("POST", echo("/api/orders"), headers={"Content-Type": "application/json"}, data=b'{"n": 1}')
    got = json_of(resp)
    assert (got["method"], got["path"], got["body"]) == ("POST", "/orders", '{"n": 1}')


def test_path_parameter_substituted_in_uri(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/items/{id}", backend.url + "/things/{id}/detail", http_method="GET")
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/items/42"), until=200)
    assert json_of(resp)["path"] == "/things/42/detail"


def test_stage_variable_in_uri_port(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/sv", "http://127.0.0.1:${stageVariables.port}/x", http_method="GET")
    api.deploy("test", variables={"port": str(backend.port)})
    resp = poll("GET", api.url(endpoint, "test", "/sv"), until=200)
    assert json_of(resp)["path"] == "/x"


def test_stage_variable_in_uri_path(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/sv", backend.url + "/${stageVariables.prefix}/items", http_method="GET")
    api.deploy("test", variables={"prefix": "v1"})
    resp = poll("GET", api.url(endpoint, "test", "/sv"), until=200)
    assert json_of(resp)["path"] == "/v1/items"


# ---------------------------------------------------------------------------
# Failures: timeout, refused connection, payload limit
# ---------------------------------------------------------------------------


def test_backend_timeout_504(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/slow", backend.url + "/slow/2000", http_method="GET", timeout_ms=200)
    api.deploy("test")
    url = api.url(endpoint, "test", "/slow")
    poll("GET", url, until=504)
    started = time.monotonic()
    resp = call("GET", url)
    elapsed = time.monotonic() - started
    assert resp.status_code == 504
    assert json_of(resp) == TIMED_OUT
    assert elapsed < 1.0, f"gateway answered after {elapsed:.2f}s with timeoutInMillis=200"
    assert resp.headers.get("x-amzn-RequestId")


def test_backend_within_timeout_succeeds(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/slow", backend.url + "/slow/100", http_method="GET", timeout_ms=2000)
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/slow"), until=200)
    assert json_of(resp)["path"] == "/slow/100"


def test_refused_backend_500(apigw, endpoint):
    port = free_port()  # nothing listens there
    api = RestApi(apigw)
    api.http_proxy("/down", f"http://127.0.0.1:{port}/x", http_method="GET")
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/down"), until=500)
    assert json_of(resp) == INTERNAL_ERROR


def test_body_over_10mb_413(echo):
    body = b"a" * (11 * 1024 * 1024)
    try:
        resp = call("POST", echo("/st/200"), headers={"Content-Type": "application/octet-stream"}, data=body,
                    timeout=30)
    except requests.ConnectionError as exc:
        pytest.fail(f"the gateway dropped the connection instead of answering 413: {exc!r}")
    assert resp.status_code == 413


def test_body_under_10mb_passes(echo):
    size = 9 * 1024 * 1024
    resp = call("POST", echo("/st/200"), headers={"Content-Type": "application/octet-stream"}, data=b"b" * size,
                timeout=30)
    assert resp.status_code == 200, resp.text[:300]
    assert json_of(resp)["body_length"] == size


# ---------------------------------------------------------------------------
# HTTP (custom, non-proxy)
# ---------------------------------------------------------------------------


def test_http_sends_only_mapped_parameters(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http(
        "/mapped", backend.url + "/echo",
        method_parameters={"method.request.querystring.q": False, "method.request.header.X-Mapped": False},
        request_parameters={
            "integration.request.querystring.q": "method.request.querystring.q",
            "integration.request.header.x-mapped": "method.request.header.X-Mapped",
        },
    )
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/mapped") + "?q=hello&secret=1", until=200,
                headers={"X-Mapped": "m", "X-Secret": "s"})
    got = json_of(resp)
    assert parse_qs(got["query"]) == {"q": ["hello"]}
    assert got["headers"].get("x-mapped") == "m"
    assert "x-secret" not in got["headers"]


def test_http_maps_static_stage_variable_and_context(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http(
        "/mapped", backend.url + "/echo",
        request_parameters={
            "integration.request.header.x-const": "'constant'",
            "integration.request.header.x-var": "stageVariables.v",
            "integration.request.header.x-stage": "context.stage",
            "integration.request.querystring.fixed": "'yes'",
        },
    )
    api.deploy("test", variables={"v": "from-stage"})
    resp = poll("GET", api.url(endpoint, "test", "/mapped"), until=200)
    got = json_of(resp)
    assert got["headers"].get("x-const") == "constant"
    assert got["headers"].get("x-var") == "from-stage"
    assert got["headers"].get("x-stage") == "test"
    assert parse_qs(got["query"]) == {"fixed": ["yes"]}


def test_http_maps_path_parameter_into_uri(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http("/widgets/{wid}", backend.url + "/parts/{pid}",
             request_parameters={"integration.request.path.pid": "method.request.path.wid"})
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/widgets/77"), until=200)
    assert json_of(resp)["path"] == "/parts/77"


def test_http_uses_integration_method(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http("/convert", backend.url + "/echo", http_method="GET", integration_method="POST")
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/convert"), until=200)
    assert json_of(resp)["method"] == "POST"


def test_http_body_passes_through_without_template(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http("/submit", backend.url + "/echo", http_method="POST", integration_method="POST")
    api.deploy("test")
    body = '{"order": 7, "items": ["a", "b"]}'
    resp = poll("POST", api.url(endpoint, "test", "/submit"), until=200,
                headers={"Content-Type": "application/json"}, data=body.encode())
    assert json_of(resp)["body"] == body


@pytest.fixture
def selecting(apigw, endpoint, backend):
    """GET /s/{code} -> HTTP backend /status/{code}; integration responses: default 200,
    and 400 for `4\\d{2}`."""
    api = RestApi(apigw)
    api.http("/s/{code}", backend.url + "/status/{code}",
             request_parameters={"integration.request.path.code": "method.request.path.code"},
             responses=[{"status": "200"}, {"status": "400", "pattern": r"4\d{2}"}])
    api.deploy("test")
    url = lambda code: api.url(endpoint, "test", f"/s/{code}")  # noqa: E731
    poll("GET", url(200), until=200)
    return url


def test_http_selection_pattern_picks_400(selecting):
    resp = call("GET", selecting(404))
    assert resp.status_code == 400
    assert json_of(resp)["status"] == 404  # backend body passes through


def test_http_default_response_for_200(selecting):
    resp = call("GET", selecting(200))
    assert resp.status_code == 200
    assert json_of(resp)["status"] == 200


def test_http_default_response_catches_unmatched_status(selecting):
    resp = call("GET", selecting(503))
    assert resp.status_code == 200
    assert json_of(resp)["status"] == 503


def test_http_no_matching_response_500(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http("/s/{code}", backend.url + "/status/{code}",
             request_parameters={"integration.request.path.code": "method.request.path.code"},
             responses=[{"status": "200", "pattern": r"2\d{2}"}])
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/s/200"), until=200)
    resp = call("GET", api.url(endpoint, "test", "/s/404"))
    assert resp.status_code == 500
    assert json_of(resp) == INTERNAL_ERROR


def test_http_static_response_header(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http("/h", backend.url + "/status/200",
             responses=[{"status": "200", "parameters": {"method.response.header.X-Static": "'hello'"}}])
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/h"), until=200)
    assert resp.headers.get("X-Static") == "hello"


def test_http_response_header_from_backend(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http("/h", backend.url + "/status/200",
             responses=[{"status": "200",
                         "parameters": {"method.response.header.X-Up": "integration.response.header.X-Backend"}}])
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/h"), until=200)
    assert resp.headers.get("X-Up") == "yes"


def test_http_does_not_return_unmapped_backend_headers(apigw, endpoint, backend):
    # Non-proxy integrations only return mapped method-response headers.
    api = RestApi(apigw)
    api.http("/h", backend.url + "/status/200")
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/h"), until=200)
    assert "X-Backend" not in resp.headers
