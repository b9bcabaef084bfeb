"""Data plane: the addresses of a stage, resource/method routing, AWS's routing errors
and request ids.

Routing follows Amazon API Gateway (REST APIs): a request goes to the most specific
resource that has a method for it (the verb, or ANY); literal path parts beat `{param}`,
which beats `{proxy+}`; when the most specific path match has no method for the verb the
router falls back to a less specific resource. The fall-back cases (method mismatch and
method-less resources) are the ones measured on real API Gateway and published in
ministackorg/ministack#1423 and floci-io/floci#3399. A request no method serves answers
403 {"message":"Missing Authentication Token"} with x-amzn-ErrorType
MissingAuthenticationTokenException (AWS knowledge center, "How do I troubleshoot HTTP
403 errors from API Gateway?"). `/{proxy+}` does not match the root path `/`
(logandk/serverless-wsgi#20; AWS SAM templates declare both `/` and `/{proxy+}`).
"""

import time

import pytest

from dataplane_support import (
    FORBIDDEN,
    MISSING_TOKEN,
    RestApi,
    backend,  # noqa: F401 - fixture
    call,
    host_style,
    invoke_url,
    json_of,
    not_deployed_message,
    poll,
)


def route(name: str) -> str:
    return '{"route": "%s"}' % name


@pytest.fixture
def routed(apigw, endpoint):
    """An API with a tree that exercises every routing rule, deployed to 'test'.
    Each MOCK answers {"route": <name>}."""
    api = RestApi(apigw, "routing")
    api.mock("/pets", "GET", route("pets"))
    api.mock("/pets/mine", "GET", route("pets-mine"))
    api.mock("/pets/{id}", "GET", route("pet-param"))
    api.mock("/{proxy+}", "ANY", route("root-proxy"))
    api.mock("/users/me/settings", "GET", route("me-settings"))
    api.mock("/users/{id}/profile", "GET", route("user-profile"))
    api.mock("/users/me", "PATCH", route("me-patch"))
    api.mock("/users/{id}", "GET", route("user-param"))
    api.mock("/things/real", "GET", route("things-real"))
    api.mock("/things/{proxy+}", "ANY", route("things-proxy"))
    api.mock("/jobs/{op}", "GET", route("jobs-op"))  # /jobs itself has no method
    api.mock("/both", "ANY", route("both-any"))
    api.mock("/both", "GET", route("both-get"))
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/pets"), route("pets"))
    return api


@pytest.fixture
def plain(apigw, endpoint):
    """An API with only GET /pets (no greedy resource), deployed to 'test'."""
    api = RestApi(apigw, "plain")
    api.mock("/pets", "GET", route("pets"))
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/pets"), route("pets"))
    return api


def get_route(api, endpoint, path, method="GET"):
    resp = call(method, api.url(endpoint, "test", path))
    assert resp.status_code == 200, f"{method} {path}: HTTP {resp.status_code} {resp.text[:300]}"
    return json_of(resp)["route"]


# ---------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------


def test_path_style_user_request_address(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/hello", body='{"hello": "world"}')
    api.deploy("test")
    resp = poll("GET", invoke_url(endpoint, api.id, "test", "/hello"), until=200)
    assert resp.text == '{"hello": "world"}'


def test_path_style_execute_api_address(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/hello", body='{"hello": "execute-api"}')
    api.deploy("test")
    resp = poll("GET", invoke_url(endpoint, api.id, "test", "/hello", style="execute_api"), until=200)
    assert resp.text == '{"hello": "execute-api"}'


@pytest.mark.parametrize("suffix", ["localhost", "us-east-1.amazonaws.com", "localhost.localstack.cloud:4566"])
def test_host_style_address(apigw, endpoint, suffix):
    api = RestApi(apigw)
    api.mock("/hello", body='{"hello": "host"}')
    api.deploy("test")
    url, headers = host_style(endpoint, api.id, "test", "/hello", suffix=suffix)
    resp = poll("GET", url, until=200, headers=headers)
    assert resp.text == '{"hello": "host"}'


def test_root_resource_method(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/", body='{"at": "root"}')
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/"), until=200)
    assert resp.text == '{"at": "root"}'


def test_stage_serves_within_a_second_of_create_deployment(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/fresh", body='{"fresh": true}')
    api.deploy("test")
    started = time.monotonic()
    poll("GET", api.url(endpoint, "test", "/fresh"), until='{"fresh": true}', interval=0.02)
    assert time.monotonic() - started < 1.5


# ---------------------------------------------------------------------------
# Unknown stage / API
# ---------------------------------------------------------------------------


def test_unknown_stage_is_forbidden(apigw, endpoint, plain):
    resp = call("GET", plain.url(endpoint, "nosuchstage", "/pets"))
    assert resp.status_code == 403
    assert json_of(resp) == FORBIDDEN


def test_unknown_stage_error_type_header(apigw, endpoint, plain):
    # AWS labels its {"message":"Forbidden"} answers ForbiddenException (knowledge-center
    # table of 403 answers).
    resp = call("GET", plain.url(endpoint, "nosuchstage", "/pets"))
    assert resp.status_code == 403
    assert resp.headers.get("x-amzn-ErrorType") == "ForbiddenException"


def test_deleted_stage_is_forbidden(apigw, endpoint, plain):
    apigw.delete_stage(restApiId=plain.id, stageName="test")
    resp = poll("GET", plain.url(endpoint, "test", "/pets"), until=403)
    assert json_of(resp) == FORBIDDEN


def test_unknown_api_path_style(endpoint):
    resp = call("GET", invoke_url(endpoint, "abcde01234", "test", "/pets"))
    assert resp.status_code == 404
    assert json_of(resp) == not_deployed_message("abcde01234")


def test_unknown_api_host_style(endpoint):
    url, headers = host_style(endpoint, "abcde01234", "test", "/pets")
    resp = call("GET", url, headers=headers)
    assert resp.status_code == 404
    assert json_of(resp) == not_deployed_message("abcde01234")


def test_api_without_deployment_is_forbidden(apigw, endpoint):
    # The API exists but has no stage at all: an unknown stage of an existing API.
    api = RestApi(apigw)
    api.mock("/pets")
    resp = call("GET", api.url(endpoint, "test", "/pets"))
    assert resp.status_code == 403
    assert json_of(resp) == FORBIDDEN


# ---------------------------------------------------------------------------
# Missing Authentication Token
# ---------------------------------------------------------------------------


def test_unknown_path_missing_authentication_token(endpoint, plain):
    resp = call("GET", plain.url(endpoint, "test", "/nope"))
    assert resp.status_code == 403
    assert json_of(resp) == MISSING_TOKEN
    assert resp.headers.get("x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def test_unknown_method_missing_authentication_token(endpoint, plain):
    resp = call("POST", plain.url(endpoint, "test", "/pets"), data=b"{}")
    assert resp.status_code == 403
    assert json_of(resp) == MISSING_TOKEN
    assert resp.headers.get("x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def test_deeper_unknown_path_missing_authentication_token(endpoint, plain):
    resp = call("GET", plain.url(endpoint, "test", "/pets/1/toys"))
    assert resp.status_code == 403
    assert json_of(resp) == MISSING_TOKEN


def test_paths_are_case_sensitive(endpoint, plain):
    resp = call("GET", plain.url(endpoint, "test", "/PETS"))
    assert resp.status_code == 403
    assert json_of(resp) == MISSING_TOKEN


def test_root_without_method_missing_authentication_token(endpoint, plain):
    resp = call("GET", plain.url(endpoint, "test", "/"))
    assert resp.status_code == 403
    assert json_of(resp) == MISSING_TOKEN


# ---------------------------------------------------------------------------
# Routing priority
# ---------------------------------------------------------------------------


def test_exact_literal_route(endpoint, routed):
    assert get_route(routed, endpoint, "/pets") == "pets"


def test_literal_beats_param(endpoint, routed):
    assert get_route(routed, endpoint, "/pets/mine") == "pets-mine"


def test_param_beats_greedy(endpoint, routed):
    assert get_route(routed, endpoint, "/pets/42") == "pet-param"


def test_greedy_catches_deeper_paths(endpoint, routed):
    # /pets/{id} has no child: the request backtracks to /{proxy+}.
    assert get_route(routed, endpoint, "/pets/42/toys") == "root-proxy"


def test_greedy_catches_unknown_top_level(endpoint, routed):
    assert get_route(routed, endpoint, "/a/b/c/d", method="DELETE") == "root-proxy"


def test_backtracking_from_literal_to_param(endpoint, routed):
    # /users/me has no child 'profile'; /users/{id}/profile serves it with id=me.
    assert get_route(routed, endpoint, "/users/me/profile") == "user-profile"


def test_literal_with_other_method_falls_back_to_param(endpoint, routed):
    # /users/me only has PATCH; GET /users/me is served by /users/{id}.
    assert get_route(routed, endpoint, "/users/me") == "user-param"
    assert get_route(routed, endpoint, "/users/me", method="PATCH") == "me-patch"


def test_literal_with_other_method_falls_back_to_greedy(endpoint, routed):
    assert get_route(routed, endpoint, "/things/real") == "things-real"
    assert get_route(routed, endpoint, "/things/real", method="POST") == "things-proxy"


def test_methodless_resource_falls_back_to_greedy(endpoint, routed):
    assert get_route(routed, endpoint, "/jobs/reboot") == "jobs-op"
    assert get_route(routed, endpoint, "/jobs") == "root-proxy"


def test_nested_greedy_beats_root_greedy(endpoint, routed):
    assert get_route(routed, endpoint, "/things/x/y/z") == "things-proxy"


def test_greedy_does_not_match_root(endpoint, routed):
    resp = call("GET", routed.url(endpoint, "test", "/"))
    assert resp.status_code == 403
    assert json_of(resp) == MISSING_TOKEN


# ---------------------------------------------------------------------------
# ANY
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
def test_any_method_serves_every_verb(apigw, endpoint, method):
    api = RestApi(apigw)
    api.mock("/any", "ANY", route("any"))
    api.deploy("test")
    resp = poll(method, api.url(endpoint, "test", "/any"), until=200)
    assert json_of(resp) == {"route": "any"}


def test_specific_method_beats_any(endpoint, routed):
    assert get_route(routed, endpoint, "/both") == "both-get"
    assert get_route(routed, endpoint, "/both", method="POST") == "both-any"


# ---------------------------------------------------------------------------
# Path parameters
# ---------------------------------------------------------------------------


def test_path_parameter_percent_decoded(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http("/items/{id}", backend.url + "/echo",
             request_parameters={"integration.request.header.x-id": "method.request.path.id"})
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/items/a%20b%2Bc"), until=200)
    assert json_of(resp)["headers"].get("x-id") == "a b+c"


def test_path_parameter_plain_value(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http("/items/{id}", backend.url + "/echo",
             request_parameters={"integration.request.header.x-id": "method.request.path.id"})
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/items/42"), until=200)
    assert json_of(resp)["headers"].get("x-id") == "42"


# ---------------------------------------------------------------------------
# Request ids
# ---------------------------------------------------------------------------


def test_request_id_present_and_unique(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/hello")
    api.deploy("test")
    url = api.url(endpoint, "test", "/hello")
    poll("GET", url, until=200)
    ids = [call("GET", url).headers.get("x-amzn-RequestId") for _ in range(5)]
    assert all(ids), ids
    assert len(set(ids)) == 5


def test_request_id_on_error_answers(endpoint, plain):
    for resp in (call("GET", plain.url(endpoint, "test", "/nope")),
                 call("GET", plain.url(endpoint, "nosuchstage", "/pets")),
                 call("GET", invoke_url(endpoint, "abcde01234", "test", "/pets"))):
        assert resp.headers.get("x-amzn-RequestId"), describe_headers(resp)


def test_request_id_on_proxied_answer(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/echo", backend.url + "/echo")
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/echo"), until=200)
    # The echo backend never sets it: the gateway adds it.
    assert resp.headers.get("x-amzn-RequestId")


def describe_headers(resp):
    return f"HTTP {resp.status_code} {dict(resp.headers)}"
