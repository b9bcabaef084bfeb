"""Data plane: API keys, usage plans (throttle, per-method throttle, quota), stage method
throttling, the account throttle, and usage metering.

AWS behaviour relied on (API Gateway developer guide, "Usage plans and API keys" and
"Throttle requests"): a method with `apiKeyRequired` answers 403 `{"message":"Forbidden"}` to a
missing, unknown or disabled key, or one whose usage plan does not cover the stage; throttles
answer 429 `{"message":"Too Many Requests"}` and an exhausted quota 429
`{"message":"Limit Exceeded"}`; throttling is a token bucket (rate, burst).
"""

import time

import pytest
import requests

from dataplane_support import FORBIDDEN, RestApi, call, json_of, poll, wait_for

TOO_MANY = {"message": "Too Many Requests"}
LIMIT_EXCEEDED = {"message": "Limit Exceeded"}


def keyed_api(apigw, *, stage="dev"):
    api = RestApi(apigw, "keyed")
    key = api.mock("/pets", body='{"key": "$context.identity.apiKeyId"}')
    apigw.update_method(**key, patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "true"}])
    api.mock("/open", body='{"open": true}')
    api.deploy(stage)
    return api


def plan_with_key(apigw, api, stage="dev", enabled=True, **plan):
    usage_plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": api.id, "stage": stage}], **plan)
    key = apigw.create_api_key(name="k", enabled=enabled)
    apigw.create_usage_plan_key(usagePlanId=usage_plan["id"], keyId=key["id"], keyType="API_KEY")
    return usage_plan, key


def test_keys_are_required_and_checked(apigw, endpoint):
    api = keyed_api(apigw)
    url = api.url(endpoint, "dev", "/pets")
    usage_plan, key = plan_with_key(apigw, api)
    ok = poll("GET", url, 200, headers={"x-api-key": key["value"]})
    assert json_of(ok) == {"key": key["id"]}

    for headers in ({}, {"x-api-key": "not-a-key-at-all-123456"}):
        resp = call("GET", url, headers=headers)
        assert resp.status_code == 403 and json_of(resp) == FORBIDDEN
        assert resp.headers["x-amzn-ErrorType"] == "ForbiddenException"

    # Methods without apiKeyRequired do not look at keys.
    assert call("GET", api.url(endpoint, "dev", "/open")).status_code == 200

    # Disabling the key applies at once, without a redeployment.
    apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}])
    poll("GET", url, 403, headers={"x-api-key": key["value"]})
    apigw.update_api_key(apiKey=key["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}])
    poll("GET", url, 200, headers={"x-api-key": key["value"]})

    # A key in no plan, or in a plan that does not cover this stage, is refused.
    loose = apigw.create_api_key(name="loose", enabled=True)
    time.sleep(0.3)
    assert call("GET", url, headers={"x-api-key": loose["value"]}).status_code == 403
    api.deploy("other")
    other_url = api.url(endpoint, "other", "/pets")
    poll("GET", api.url(endpoint, "other", "/open"), 200)
    assert call("GET", other_url, headers={"x-api-key": key["value"]}).status_code == 403
    apigw.update_usage_plan(usagePlanId=usage_plan["id"], patchOperations=[
        {"op": "add", "path": "/apiStages", "value": f"{api.id}:other"}])
    poll("GET", other_url, 200, headers={"x-api-key": key["value"]})

    # Removing the key from its plan locks it out.
    apigw.delete_usage_plan_key(usagePlanId=usage_plan["id"], keyId=key["id"])
    poll("GET", url, 403, headers={"x-api-key": key["value"]})


def test_a_quota_lets_exactly_its_limit_through(apigw, endpoint):
    api = keyed_api(apigw)
    _, key = plan_with_key(apigw, api, quota={"limit": 7, "period": "DAY"})
    url = api.url(endpoint, "dev", "/pets")
    headers = {"x-api-key": key["value"]}
    poll("GET", api.url(endpoint, "dev", "/open"), 200)
    time.sleep(0.3)
    statuses = [call("GET", url, headers=headers).status_code for _ in range(12)]
    assert statuses == [200] * 7 + [429] * 5
    resp = call("GET", url, headers=headers)
    assert json_of(resp) == LIMIT_EXCEEDED
    assert resp.headers["x-amzn-ErrorType"] == "LimitExceededException"


def test_usage_is_metered_and_update_usage_extends_the_quota(apigw, endpoint):
    api = keyed_api(apigw)
    usage_plan, key = plan_with_key(apigw, api, quota={"limit": 5, "period": "MONTH"})
    url = api.url(endpoint, "dev", "/pets")
    headers = {"x-api-key": key["value"]}
    poll("GET", url, 200, headers=headers)
    for _ in range(2):
        assert call("GET", url, headers=headers).status_code == 200
    today = time.strftime("%Y-%m-%d", time.gmtime())

    def used():
        usage = apigw.get_usage(usagePlanId=usage_plan["id"], startDate=today, endDate=today)
        return usage["items"].get(key["id"], [[0, 0]])[0]

    assert wait_for(lambda: used() == [3, 2] and used(), timeout=6, message="usage flushed") == [3, 2]
    out = apigw.update_usage(usagePlanId=usage_plan["id"], keyId=key["id"],
                             patchOperations=[{"op": "replace", "path": "/remaining", "value": "4"}])
    assert out["items"][key["id"]][0] == [3, 4]
    time.sleep(0.3)
    statuses = [call("GET", url, headers=headers).status_code for _ in range(6)]
    assert statuses == [200] * 4 + [429] * 2


def test_usage_survives_a_restart(spawn_server):
    srv = spawn_server()
    apigw = srv.client()
    api = keyed_api(apigw)
    usage_plan, key = plan_with_key(apigw, api, quota={"limit": 4, "period": "DAY"})
    url = api.url(srv.url, "dev", "/pets")
    headers = {"x-api-key": key["value"]}
    poll("GET", url, 200, headers=headers)
    assert call("GET", url, headers=headers).status_code == 200
    srv.stop()  # a graceful stop writes what was metered
    srv.start()
    apigw = srv.client()
    url = api.url(srv.url, "dev", "/pets")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    usage = apigw.get_usage(usagePlanId=usage_plan["id"], startDate=today, endDate=today)
    assert usage["items"][key["id"]] == [[2, 2]]
    statuses = [call("GET", url, headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]


def paced(url: str, headers: dict, rate: float, seconds: float) -> dict:
    """Send requests at `rate` per second for `seconds` over one keep-alive connection;
    count the statuses."""
    session = requests.Session()
    counts: dict[int, int] = {}
    start = time.monotonic()
    n = int(rate * seconds)
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        status = session.get(url, headers=headers, timeout=10).status_code
        counts[status] = counts.get(status, 0) + 1
    return counts


def test_plan_throttle_admits_rate_times_time_plus_burst(apigw, endpoint):
    rate, burst, seconds = 20.0, 5, 10.0
    api = keyed_api(apigw)
    _, key = plan_with_key(apigw, api, throttle={"rateLimit": rate, "burstLimit": burst})
    url = api.url(endpoint, "dev", "/pets")
    headers = {"x-api-key": key["value"]}
    poll("GET", api.url(endpoint, "dev", "/open"), 200)
    time.sleep(0.5)
    counts = paced(url, headers, rate * 2, seconds)
    expected = rate * seconds + burst
    assert set(counts) <= {200, 429}, counts
    assert abs(counts[200] - expected) <= 0.05 * expected, (counts, expected)
    resp = call("GET", url, headers=headers)
    if resp.status_code == 429:
        assert json_of(resp) == TOO_MANY
        assert resp.headers["x-amzn-ErrorType"] == "TooManyRequestsException"


def test_per_method_plan_throttle(apigw, endpoint):
    api = RestApi(apigw, "methods")
    for path in ("/slow", "/fast"):
        key = api.mock(path)
        apigw.update_method(**key, patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "true"}])
    api.deploy("dev")
    _, key = plan_with_key(apigw, api)
    plan_id = apigw.get_usage_plans(keyId=key["id"])["items"][0]["id"]
    apigw.update_usage_plan(usagePlanId=plan_id, patchOperations=[
        {"op": "replace", "path": f"/apiStages/{api.id}:dev/throttle/~1slow/GET/rateLimit", "value": "0.5"},
        {"op": "replace", "path": f"/apiStages/{api.id}:dev/throttle/~1slow/GET/burstLimit", "value": "2"},
    ])
    headers = {"x-api-key": key["value"]}
    time.sleep(0.5)
    slow = [call("GET", api.url(endpoint, "dev", "/slow"), headers=headers).status_code for _ in range(5)]
    fast = [call("GET", api.url(endpoint, "dev", "/fast"), headers=headers).status_code for _ in range(5)]
    assert slow == [200, 200, 429, 429, 429]
    assert fast == [200] * 5


def test_stage_method_settings_throttle(apigw, endpoint):
    api = RestApi(apigw, "stage-throttle")
    api.mock("/a")
    api.mock("/b")
    api.deploy("dev")
    api.update_stage("dev",
                     {"op": "replace", "path": "/~1a/GET/throttling/rateLimit", "value": "0.1"},
                     {"op": "replace", "path": "/~1a/GET/throttling/burstLimit", "value": "1"})
    url = api.url(endpoint, "dev", "/a")
    resp = poll("GET", url, 429, timeout=5)
    assert json_of(resp) == TOO_MANY
    assert all(call("GET", api.url(endpoint, "dev", "/b")).status_code == 200 for _ in range(5))
    # A zero rate closes the whole stage.
    api.update_stage("dev",
                     {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0"},
                     {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "0"})
    poll("GET", api.url(endpoint, "dev", "/b"), 429, timeout=5)


def test_account_throttle(apigw, endpoint):
    api = RestApi(apigw, "account")
    api.mock("/x")
    api.deploy("dev")
    url = api.url(endpoint, "dev", "/x")
    poll("GET", url, 200)
    try:
        apigw.update_account(patchOperations=[
            {"op": "replace", "path": "/throttle/rateLimit", "value": "0.1"},
            {"op": "replace", "path": "/throttle/burstLimit", "value": "1"},
        ])
        poll("GET", url, 429, timeout=5)
    finally:
        apigw.update_account(patchOperations=[
            {"op": "replace", "path": "/throttle/rateLimit", "value": "10000"},
            {"op": "replace", "path": "/throttle/burstLimit", "value": "5000"},
        ])
    poll("GET", url, 200, timeout=5)
