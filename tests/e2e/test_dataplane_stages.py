"""Data plane: stages, stage variables, deployment snapshots, stage switches and canaries.

AWS behaviour relied on:
- A stage serves the deployment it points at: a deployment is a snapshot, so resources,
  methods and templates changed after it are not served until the next deployment.
- Stage variables belong to the stage (several stages of one deployment differ by their
  variables; UpdateStage on /variables/x takes effect without a new deployment).
- UpdateStage replace /deploymentId switches the served deployment.
- Canary (developer guide, "Set up an API Gateway canary release deployment"):
  CreateDeployment on an existing stage with canarySettings leaves the stage on its
  deployment and sends percentTraffic % of requests to the new one, with
  stageVariableOverrides applied to canary requests; UpdateStage remove /canarySettings
  ends the canary; promotion copies /canarySettings/deploymentId to /deploymentId.
"""

import threading
import time
from collections import Counter

import requests

from dataplane_support import (
    MISSING_TOKEN,
    RestApi,
    backend,  # noqa: F401 - fixture
    call,
    count_bodies,
    holds,
    json_of,
    poll,
    wait_for,
)

V1 = '{"version": "v1"}'
V2 = '{"version": "v2"}'

# 10,000 requests over 8 keep-alive sessions; at 30 % the standard deviation of the canary
# share is 0.46 points, so +-3 points is a > 6 sigma bound.
CANARY_REQUESTS = 10_000
CANARY_TOLERANCE = 3.0


def two_versions(apigw, endpoint, stage="prod"):
    """An API whose GET / is a MOCK answering V1, deployed to `stage`, with the template
    then changed to V2 (not yet deployed). Returns (api, key, d1, url)."""
    api = RestApi(apigw, "versions")
    key = api.mock("/", body=V1)
    d1 = api.deploy(stage)
    url = api.url(endpoint, stage, "/")
    poll("GET", url, until=V1)
    api.set_mock_body(key, V2)
    return api, key, d1, url


def all_same(url, body, n=50):
    counts = count_bodies(url, n, workers=4)
    return set(counts) == {body}


# ---------------------------------------------------------------------------
# Stage variables
# ---------------------------------------------------------------------------


def test_stage_variables_per_stage(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/c", backend.url + "/${stageVariables.color}", http_method="GET")
    dep = api.deploy("blue", variables={"color": "blue"})
    apigw.create_stage(restApiId=api.id, stageName="green", deploymentId=dep, variables={"color": "green"})
    blue = poll("GET", api.url(endpoint, "blue", "/c"), until=200)
    green = poll("GET", api.url(endpoint, "green", "/c"), until=200)
    assert json_of(blue)["path"] == "/blue"
    assert json_of(green)["path"] == "/green"


def test_stage_variable_update_takes_effect_without_deployment(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/c", backend.url + "/${stageVariables.color}", http_method="GET")
    api.deploy("test", variables={"color": "blue"})
    url = api.url(endpoint, "test", "/c")
    poll("GET", url, until=lambda r: r.status_code == 200 and json_of(r)["path"] == "/blue")
    api.update_stage("test", {"op": "replace", "path": "/variables/color", "value": "red"})
    poll("GET", url, until=lambda r: r.status_code == 200 and json_of(r)["path"] == "/red")


# ---------------------------------------------------------------------------
# Deployment snapshots
# ---------------------------------------------------------------------------


def test_resource_added_after_deployment_not_served(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/a", body='{"r": "a"}')
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/a"), until='{"r": "a"}')
    api.mock("/b", body='{"r": "b"}')
    holds("GET", api.url(endpoint, "test", "/b"), lambda r: r.status_code == 403 and r.json() == MISSING_TOKEN)
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/b"), until='{"r": "b"}')


def test_template_changed_after_deployment_not_served(apigw, endpoint):
    api, _key, _d1, url = two_versions(apigw, endpoint, "test")
    holds("GET", url, V1)
    api.deploy("test")
    poll("GET", url, until=V2)


def test_method_deleted_after_deployment_still_served(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/keep", body='{"r": "keep"}')
    gone = api.mock("/gone", body='{"r": "gone"}')
    api.deploy("test")
    url = api.url(endpoint, "test", "/gone")
    poll("GET", url, until='{"r": "gone"}')
    apigw.delete_method(**gone)
    holds("GET", url, '{"r": "gone"}')
    api.deploy("test")
    poll("GET", url, until=lambda r: r.status_code == 403 and r.json() == MISSING_TOKEN)


def test_stages_serve_their_own_deployments(apigw, endpoint):
    api, _key, _d1, prod_url = two_versions(apigw, endpoint, "prod")
    api.deploy("beta")
    poll("GET", api.url(endpoint, "beta", "/"), until=V2)
    assert call("GET", prod_url).text == V1


# ---------------------------------------------------------------------------
# Switching deployments
# ---------------------------------------------------------------------------


def test_update_stage_switches_deployment_within_a_second(apigw, endpoint):
    api, _key, d1, url = two_versions(apigw, endpoint)
    api.deploy("prod")  # prod -> d2
    poll("GET", url, until=V2)
    api.update_stage("prod", {"op": "replace", "path": "/deploymentId", "value": d1})
    started = time.monotonic()
    poll("GET", url, until=V1, interval=0.02)
    assert time.monotonic() - started < 1.5


def test_hot_switch_under_load(apigw, endpoint):
    api, _key, d1, url = two_versions(apigw, endpoint)
    d2 = api.deploy(None)  # a deployment no stage points at yet
    stop = threading.Event()
    seen: Counter = Counter()
    failures: list[str] = []
    last = {"body": None}

    def load():
        with requests.Session() as sess:
            while not stop.is_set():
                try:
                    r = sess.get(url, timeout=5)
                except requests.RequestException as exc:
                    failures.append(f"error {exc!r}")
                    continue
                if r.status_code != 200:
                    failures.append(f"HTTP {r.status_code} {r.text[:200]}")
                    continue
                seen[r.text] += 1
                last["body"] = r.text

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        for i in range(10):
            target, body = (d2, V2) if i % 2 == 0 else (d1, V1)
            api.update_stage("prod", {"op": "replace", "path": "/deploymentId", "value": target})
            wait_for(lambda: last["body"] == body, timeout=3, interval=0.01,
                     message=f"switch {i + 1} to {body}")
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not failures, f"{len(failures)} failed requests, first: {failures[:5]}"
    assert seen[V1] > 0 and seen[V2] > 0, seen
    assert set(seen) == {V1, V2}, seen


# ---------------------------------------------------------------------------
# Canary
# ---------------------------------------------------------------------------


def start_canary(apigw, endpoint, percent=30.0, **canary):
    api, key, d1, url = two_versions(apigw, endpoint)
    d2 = api.deploy("prod", canarySettings={"percentTraffic": percent, **canary})
    wait_for(lambda: call("GET", url).text == V2, message="canary deployment served")
    return api, d1, d2, url


def test_canary_settings_on_stage(apigw, endpoint):
    api, d1, d2, _url = start_canary(apigw, endpoint)
    stage = apigw.get_stage(restApiId=api.id, stageName="prod")
    assert stage["deploymentId"] == d1
    assert stage["canarySettings"]["deploymentId"] == d2
    assert stage["canarySettings"]["percentTraffic"] == 30.0


def test_canary_traffic_split(apigw, endpoint):
    _api, _d1, _d2, url = start_canary(apigw, endpoint, percent=30.0)
    counts = count_bodies(url, CANARY_REQUESTS, workers=8)
    assert set(counts) <= {V1, V2}, counts.most_common(5)
    share = 100.0 * counts[V2] / CANARY_REQUESTS
    assert abs(share - 30.0) <= CANARY_TOLERANCE, f"canary share {share:.2f}% ({counts})"


def test_canary_stage_variable_overrides(apigw, endpoint, backend):
    api = RestApi(apigw)
    api.http_proxy("/c", backend.url + "/${stageVariables.color}", http_method="GET")
    api.deploy("prod", variables={"color": "blue"})
    url = api.url(endpoint, "prod", "/c")
    path_of = lambda r: json_of(r)["path"] if r.status_code == 200 else f"HTTP {r.status_code}"  # noqa: E731
    poll("GET", url, until=lambda r: path_of(r) == "/blue")
    api.deploy("prod", canarySettings={"percentTraffic": 50.0, "stageVariableOverrides": {"color": "green"}})
    wait_for(lambda: path_of(call("GET", url)) == "/green", message="canary override served")
    with requests.Session() as sess:
        paths = Counter(path_of(sess.get(url, timeout=10)) for _ in range(300))
    assert set(paths) == {"/blue", "/green"}, paths
    assert 30 <= 100.0 * paths["/green"] / 300 <= 70, paths


def test_remove_canary(apigw, endpoint):
    api, _d1, _d2, url = start_canary(apigw, endpoint)
    api.update_stage("prod", {"op": "remove", "path": "/canarySettings"})
    wait_for(lambda: all_same(url, V1), message="canary removed")
    counts = count_bodies(url, 300, workers=4)
    assert counts == Counter({V1: 300}), counts
    assert "canarySettings" not in apigw.get_stage(restApiId=api.id, stageName="prod")


def test_promote_canary(apigw, endpoint):
    api, _d1, d2, url = start_canary(apigw, endpoint)
    api.update_stage("prod", {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"})
    assert apigw.get_stage(restApiId=api.id, stageName="prod")["deploymentId"] == d2
    wait_for(lambda: all_same(url, V2), message="canary promoted")
    counts = count_bodies(url, 300, workers=4)
    assert counts == Counter({V2: 300}), counts


def test_canary_percent_update_to_100(apigw, endpoint):
    api, _d1, _d2, url = start_canary(apigw, endpoint)
    api.update_stage("prod", {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "100.0"})
    wait_for(lambda: all_same(url, V2), message="all traffic on the canary")
    counts = count_bodies(url, 300, workers=4)
    assert counts == Counter({V2: 300}), counts
