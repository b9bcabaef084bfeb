"""Server behaviour of Tollgate itself: the dev-only reset endpoint, persistence across
restarts, durability across SIGKILL, and signal handling."""

import subprocess
import tempfile

import pytest
import requests
from botocore.exceptions import ClientError

from helpers import put_mock_method, rest_api_arn, tollgate_bin


@pytest.mark.no_reset
def test_serve_help():
    binary = tollgate_bin()
    if not binary.exists():
        pytest.fail(f"tollgate binary not found at {binary}", pytrace=False)
    proc = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    for flag in ("--listen", "--data-dir", "--dev"):
        assert flag in proc.stdout, f"{flag} missing from `serve --help`:\n{proc.stdout}"


def test_reset_wipes_everything(apigw, endpoint):
    api = apigw.create_rest_api(name="to-be-wiped", tags={"a": "b"})
    apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    resp = requests.post(endpoint + "/_tollgate/reset", timeout=10)
    assert resp.status_code < 300
    assert apigw.get_rest_apis().get("items", []) == []
    with pytest.raises(ClientError) as exc:
        apigw.get_rest_api(restApiId=api["id"])
    assert exc.value.response["Error"]["Code"] == "NotFoundException"


def test_reset_is_dev_only(spawn_server):
    srv = spawn_server(dev=False)
    client = srv.client()
    api = client.create_rest_api(name="survivor")
    resp = requests.post(srv.url + "/_tollgate/reset", timeout=10)
    assert 400 <= resp.status_code < 500, f"reset without --dev answered {resp.status_code}"
    assert client.get_rest_api(restApiId=api["id"])["name"] == "survivor"


def _populate(client):
    api = client.create_rest_api(name="durable", description="must survive", tags={"k": "v"})
    api_id, root = api["id"], api["rootResourceId"]
    pets = client.create_resource(restApiId=api_id, parentId=root, pathPart="pets")
    put_mock_method(client, api_id, pets["id"], "GET")
    client.create_model(restApiId=api_id, name="Pet", contentType="application/json",
                        schema='{"type": "object", "properties": {"name": {"type": "string"}}}')
    rv = client.create_request_validator(restApiId=api_id, name="v", validateRequestBody=True)
    dep = client.create_deployment(restApiId=api_id, stageName="dev", variables={"x": "1"})
    return {"api_id": api_id, "root": root, "pets": pets["id"], "rv": rv["id"], "dep": dep["id"]}


def _check(client, ids):
    api = client.get_rest_api(restApiId=ids["api_id"])
    assert api["name"] == "durable"
    assert api["description"] == "must survive"
    assert api["rootResourceId"] == ids["root"]
    assert client.get_tags(resourceArn=rest_api_arn(ids["api_id"]))["tags"] == {"k": "v"}
    paths = {r["path"]: r["id"] for r in client.get_resources(restApiId=ids["api_id"])["items"]}
    assert paths == {"/": ids["root"], "/pets": ids["pets"]}
    method = client.get_method(restApiId=ids["api_id"], resourceId=ids["pets"], httpMethod="GET")
    assert method["methodIntegration"]["type"] == "MOCK"
    assert "200" in method["methodResponses"]
    assert client.get_model(restApiId=ids["api_id"], modelName="Pet")["name"] == "Pet"
    assert client.get_request_validator(restApiId=ids["api_id"], requestValidatorId=ids["rv"])["name"] == "v"
    stage = client.get_stage(restApiId=ids["api_id"], stageName="dev")
    assert stage["deploymentId"] == ids["dep"]
    assert stage["variables"] == {"x": "1"}


def test_data_survives_restart(spawn_server):
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-restart-")
    try:
        first = spawn_server(data_dir=data_dir)
        ids = _populate(first.client())
        first.stop()
        second = spawn_server(data_dir=data_dir)
        _check(second.client(), ids)
        # New writes after a restart do not collide with old ids.
        again = second.client().create_rest_api(name="after-restart")
        assert again["id"] != ids["api_id"]
        assert len(second.client().get_rest_apis()["items"]) == 2
    finally:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


def test_data_survives_sigkill(spawn_server):
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-kill9-")
    try:
        first = spawn_server(data_dir=data_dir)
        client = first.client()
        ids = _populate(client)
        # The very last write before the crash must be durable too.
        last = client.create_rest_api(name="last-write")
        first.kill9()
        assert first.proc.returncode == -9
        second = spawn_server(data_dir=data_dir)
        c2 = second.client()
        _check(c2, ids)
        assert c2.get_rest_api(restApiId=last["id"])["name"] == "last-write"
    finally:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


def test_deletes_survive_restart(spawn_server):
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-del-")
    try:
        first = spawn_server(data_dir=data_dir)
        client = first.client()
        keep = client.create_rest_api(name="keep")
        drop = client.create_rest_api(name="drop")
        client.delete_rest_api(restApiId=drop["id"])
        first.kill9()
        second = spawn_server(data_dir=data_dir)
        ids = [a["id"] for a in second.client().get_rest_apis()["items"]]
        assert ids == [keep["id"]]
    finally:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


def test_sigterm_exits_promptly(spawn_server):
    srv = spawn_server()
    srv.client().create_rest_api(name="x")
    code = srv.stop(grace=5.0)
    # stop() escalates to SIGKILL after 5 s; a graceful shutdown exits 0 well before that.
    assert code == 0, f"tollgate exited with {code} on SIGTERM; output:\n{srv.output()[-2000:]}"


def test_servers_are_isolated(spawn_server, apigw):
    other = spawn_server()
    other.client().create_rest_api(name="elsewhere")
    assert apigw.get_rest_apis().get("items", []) == []
