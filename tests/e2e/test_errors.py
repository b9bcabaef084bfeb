"""Error wire format and bad input.

API Gateway (rest-json) errors carry the HTTP status, a JSON body {"message": "..."} and the
header x-amzn-ErrorType naming the exception; botocore takes the code from that header.
Framework-level enum/pattern violations come back as ValidationException (400) - recorded
against real AWS in LocalStack's snapshot file test_apigateway_api.snapshot.json
(e.g. test_update_rest_api_concatenation_of_errors, test_put_integration_wrong_type).
"""

import json

import pytest
import requests
from botocore.exceptions import ClientError

from helpers import UNKNOWN_API_MESSAGE_RE, assert_error

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _error_type(resp: requests.Response) -> str:
    return resp.headers.get("x-amzn-ErrorType", "")


def _body_message(resp: requests.Response):
    body = resp.json()
    assert isinstance(body, dict), body
    return body.get("message", body.get("Message"))


# ---------------------------------------------------------------------------
# Unknown ids through boto3
# ---------------------------------------------------------------------------

UNKNOWN = "abcde01234"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_rest_api(restApiId=UNKNOWN),
        lambda c: c.delete_rest_api(restApiId=UNKNOWN),
        lambda c: c.update_rest_api(restApiId=UNKNOWN, patchOperations=[{"op": "replace", "path": "/name", "value": "x"}]),
        lambda c: c.get_resources(restApiId=UNKNOWN),
        lambda c: c.get_stages(restApiId=UNKNOWN),
        lambda c: c.get_deployments(restApiId=UNKNOWN),
        lambda c: c.get_models(restApiId=UNKNOWN),
        lambda c: c.get_request_validators(restApiId=UNKNOWN),
    ],
    ids=["get_rest_api", "delete_rest_api", "update_rest_api", "get_resources", "get_stages",
         "get_deployments", "get_models", "get_request_validators"],
)
def test_unknown_rest_api_is_not_found(apigw, call):
    with pytest.raises(ClientError) as exc:
        call(apigw)
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_unknown_children_are_not_found(apigw, api):
    calls = [
        lambda: apigw.get_resource(restApiId=api["id"], resourceId="nosuch"),
        lambda: apigw.get_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET"),
        lambda: apigw.get_stage(restApiId=api["id"], stageName="nosuch"),
        lambda: apigw.get_deployment(restApiId=api["id"], deploymentId="nosuch"),
        lambda: apigw.get_model(restApiId=api["id"], modelName="nosuch"),
        lambda: apigw.get_request_validator(restApiId=api["id"], requestValidatorId="nosuch"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert_error(exc, "NotFoundException", 404)


# ---------------------------------------------------------------------------
# Wire format
# ---------------------------------------------------------------------------


def test_error_wire_format(endpoint):
    resp = requests.get(f"{endpoint}/restapis/{UNKNOWN}", headers=JSON_HEADERS, timeout=10)
    assert resp.status_code == 404
    assert _error_type(resp).split(":")[0] == "NotFoundException"
    assert resp.headers.get("Content-Type", "").startswith("application/json")
    message = _body_message(resp)
    assert message and UNKNOWN_API_MESSAGE_RE.search(message)


def test_success_wire_format(endpoint):
    resp = requests.post(f"{endpoint}/restapis", headers=JSON_HEADERS, data=json.dumps({"name": "raw"}), timeout=10)
    assert resp.status_code == 201
    assert resp.headers.get("Content-Type", "").startswith("application/json")
    body = resp.json()
    assert body["name"] == "raw"
    # Timestamps are epoch seconds (JSON numbers) in the apigateway protocol.
    assert isinstance(body["createdDate"], (int, float))
    listed = requests.get(f"{endpoint}/restapis", headers=JSON_HEADERS, timeout=10).json()
    # Wire name of the list member is "item" (RestApis.items has locationName "item").
    assert [a["id"] for a in listed["item"]] == [body["id"]]


def test_responses_carry_request_id(apigw):
    ok = apigw.get_account()
    assert ok["ResponseMetadata"].get("RequestId")
    with pytest.raises(ClientError) as exc:
        apigw.get_rest_api(restApiId=UNKNOWN)
    assert exc.value.response["ResponseMetadata"].get("RequestId")


def test_malformed_json_body(endpoint):
    resp = requests.post(f"{endpoint}/restapis", headers=JSON_HEADERS, data="{not json", timeout=10)
    assert resp.status_code == 400
    etype = _error_type(resp)
    assert "BadRequestException" in etype or "SerializationException" in etype, etype
    assert _body_message(resp)


@pytest.mark.parametrize("body", ["[]", "null", "123", '"name"', '{"name": {"nested": true}}'])
def test_wrong_shaped_json_body(endpoint, body):
    resp = requests.post(f"{endpoint}/restapis", headers=JSON_HEADERS, data=body, timeout=10)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    assert _error_type(resp)
    assert _body_message(resp)


def test_missing_required_name(endpoint):
    resp = requests.post(f"{endpoint}/restapis", headers=JSON_HEADERS, data="{}", timeout=10)
    assert resp.status_code == 400, resp.text
    assert _error_type(resp)
    assert requests.get(f"{endpoint}/restapis", timeout=10).json().get("item", []) == []


def test_malformed_patch_body(endpoint, api):
    resp = requests.patch(f"{endpoint}/restapis/{api['id']}", headers=JSON_HEADERS,
                          data='{"patchOperations": "nope"}', timeout=10)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    assert _error_type(resp)


# ---------------------------------------------------------------------------
# Patch operations
# ---------------------------------------------------------------------------


def test_unknown_patch_path(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.update_rest_api(restApiId=api["id"],
                              patchOperations=[{"op": "replace", "path": "/notAField", "value": "x"}])
    assert_error(exc, "BadRequestException", 400)


def test_unsupported_patch_op_for_path(apigw, api):
    # 'move' is a valid op name, but not supported on /name.
    with pytest.raises(ClientError) as exc:
        apigw.update_rest_api(restApiId=api["id"],
                              patchOperations=[{"op": "move", "path": "/name", "from": "/description"}])
    assert_error(exc, "BadRequestException", 400)


def test_invalid_patch_op_name(apigw, api):
    # Ops outside the enum fail validation before the handler runs:
    # "1 validation error detected: Value 'wrong' at 'updateRestApiInput.patchOperations.1.member.op'
    # failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"
    with pytest.raises(ClientError) as exc:
        apigw.update_rest_api(restApiId=api["id"],
                              patchOperations=[{"op": "wrong", "path": "/name", "value": "x"}])
    assert_error(exc, "ValidationException", 400, contains="wrong")
    assert apigw.get_rest_api(restApiId=api["id"])["name"] == api["name"]


def test_failed_patch_is_atomic(apigw, api):
    with pytest.raises(ClientError):
        apigw.update_rest_api(
            restApiId=api["id"],
            patchOperations=[
                {"op": "replace", "path": "/name", "value": "should-not-stick"},
                {"op": "replace", "path": "/notAField", "value": "x"},
            ],
        )
    assert apigw.get_rest_api(restApiId=api["id"])["name"] == api["name"]


# ---------------------------------------------------------------------------
# Input validation with known AWS texts
# ---------------------------------------------------------------------------


def test_create_rest_api_empty_description(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.create_rest_api(name="x", description="")
    assert_error(exc, "BadRequestException", 400, message="Description cannot be an empty string")


def test_create_rest_api_negative_compression(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.create_rest_api(name="x", minimumCompressionSize=-1)
    assert_error(exc, "BadRequestException", 400,
                 message="Invalid minimum compression size, must be between 0 and 10485760")


def test_create_rest_api_two_endpoint_types(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.create_rest_api(name="x", endpointConfiguration={"types": ["EDGE", "REGIONAL"]})
    assert_error(exc, "BadRequestException", 400, message="Cannot create an api with multiple Endpoint Types.")


def test_create_rest_api_bad_endpoint_type(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.create_rest_api(name="x", endpointConfiguration={"types": ["wrong"]})
    assert_error(exc, "ValidationException", 400)


def test_create_rest_api_bad_api_key_source(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.create_rest_api(name="x", apiKeySource="BODY")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_nothing_created_on_bad_input(apigw):
    for kwargs in ({"name": "x", "description": ""}, {"name": "x", "minimumCompressionSize": -1}):
        with pytest.raises(ClientError):
            apigw.create_rest_api(**kwargs)
    assert apigw.get_rest_apis().get("items", []) == []


# ---------------------------------------------------------------------------
# The server must never answer 5xx to client mistakes
# ---------------------------------------------------------------------------


def test_garbage_requests_never_500(endpoint, api):
    api_id = api["id"]
    root = api["rootResourceId"]
    cases = [
        ("GET", f"/restapis/{UNKNOWN}/resources/{root}", None),
        ("GET", "/restapis/%00", None),
        ("GET", "/restapis/..%2F..%2Fetc", None),
        ("GET", "/restapis/" + "a" * 5000, None),
        ("GET", "/restapis?limit=abc", None),
        ("GET", "/restapis?limit=-1", None),
        ("GET", "/restapis?limit=100000", None),
        ("GET", "/restapis?position=garbage", None),
        ("GET", f"/restapis/{api_id}/resources?embed=nonsense", None),
        ("POST", "/restapis", "\x00\x01\x02"),
        ("POST", "/restapis", '{"name": "x", "tags": "notamap"}'),
        ("POST", "/restapis", '{"name": "x", "minimumCompressionSize": "big"}'),
        ("POST", "/restapis", '{"name": "x", "binaryMediaTypes": {"a": 1}}'),
        ("POST", f"/restapis/{api_id}/resources/{root}", "{}"),
        ("POST", f"/restapis/{api_id}/resources/{root}", '{"pathPart": ""}'),
        ("PUT", f"/restapis/{api_id}/resources/{root}/methods/GET", "{}"),
        ("PUT", f"/restapis/{api_id}/resources/{root}/methods/GET/integration", "{}"),
        ("PUT", f"/restapis/{api_id}/resources/{root}/methods/GET/responses/abc", "{}"),
        ("PATCH", f"/restapis/{api_id}", "{}"),
        ("PATCH", f"/restapis/{api_id}", '{"patchOperations": [{}]}'),
        ("PATCH", f"/restapis/{api_id}", '{"patchOperations": [{"op": "replace"}]}'),
        ("PATCH", f"/restapis/{api_id}", '{"patchOperations": [{"op": "replace", "path": "/name"}]}'),
        ("PATCH", f"/restapis/{api_id}", '{"patchOperations": [{"op": "add", "path": "/binaryMediaTypes"}]}'),
        ("PATCH", f"/restapis/{api_id}", '{"patchOperations": [{"op": "replace", "path": "/minimumCompressionSize", "value": "x"}]}'),
        ("PATCH", f"/restapis/{api_id}", '{"patchOperations": [{"op": "replace", "path": "/endpointConfiguration/types/7", "value": "REGIONAL"}]}'),
        ("POST", f"/restapis/{api_id}/deployments", "{}"),
        ("POST", f"/restapis/{api_id}/stages", "{}"),
        ("POST", f"/restapis/{api_id}/models", "{}"),
        ("POST", f"/restapis/{api_id}/requestvalidators", '{"name": 5}'),
        ("GET", "/tags/not-an-arn", None),
        ("PUT", "/tags/not-an-arn", '{"tags": {"a": "b"}}'),
        ("DELETE", "/tags/not-an-arn?tagKeys=a", None),
        ("PATCH", "/account", '{"patchOperations": [{"op": "replace", "path": "/cloudwatchRoleArn"}]}'),
        ("GET", "/no/such/route", None),
        ("DELETE", "/restapis", None),
    ]
    failures = []
    for method, path, body in cases:
        resp = requests.request(method, endpoint + path, headers=JSON_HEADERS, data=body, timeout=10)
        if resp.status_code >= 500:
            failures.append(f"{method} {path} {body!r} -> {resp.status_code} {resp.text[:200]}")
    assert not failures, "server answered 5xx:\n" + "\n".join(failures)
    # ... and it is still alive.
    assert requests.get(endpoint + "/account", timeout=10).status_code == 200
