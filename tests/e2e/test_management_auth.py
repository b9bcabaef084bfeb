"""The locked management API: once credentials exist, every management request must be
signed with SigV4 by a known key (boto3's real signer); without credentials the server
refuses to listen on a non-loopback address. Credentials come from `tollgate credentials`
(with and without a running server) or from TOLLGATE_ACCESS_KEY_ID / _SECRET_ACCESS_KEY."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import tempfile
from unittest import mock

import boto3
import botocore.auth
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from helpers import REGION, ServerProcess, free_port, tollgate_bin

pytestmark = pytest.mark.no_reset


def cli(data_dir: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(tollgate_bin()), "credentials", "--data-dir", data_dir, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def client(endpoint: str, key: str, secret: str, service: str = "apigateway"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )


def eventually(check, timeout: float = 10.0):
    """`check()` until it stops raising AssertionError or ClientError (the server applies a
    credentials change from its change feed, just after the write is acknowledged)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, ClientError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def error_of(call) -> ClientError:
    with pytest.raises(ClientError) as info:
        call()
    return info.value


@pytest.fixture
def locked():
    """A server whose data dir got an access key from the CLI before it started."""
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-auth-")
    created = json.loads(cli(data_dir, "create", "--user", "alice").stdout)["AccessKey"]
    srv = ServerProcess(data_dir, dev=True)
    try:
        srv.start()
        yield srv, created
    finally:
        srv.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_signed_requests_with_known_keys_work(locked):
    srv, key = locked
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert key["Arn"] == "arn:aws:iam::000000000000:user/alice"
    apigw = client(srv.url, key["AccessKeyId"], key["SecretAccessKey"])
    created = apigw.create_rest_api(name="locked")
    assert [a["id"] for a in apigw.get_rest_apis()["items"]] == [created["id"]]
    # The lambda service signs with its own signing name.
    lam = client(srv.url, key["AccessKeyId"], key["SecretAccessKey"], "lambda")
    assert lam.list_functions()["Functions"] == []


def test_wrong_secret_is_an_invalid_signature(locked):
    srv, key = locked
    apigw = client(srv.url, key["AccessKeyId"], "not-the-secret")
    err = error_of(apigw.get_rest_apis)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err.response["Error"]["Code"] == "InvalidSignatureException"
    assert err.response["Error"]["Message"].startswith(
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method."
    )


def test_unknown_key_is_unrecognized(locked):
    srv, _ = locked
    err = error_of(client(srv.url, "AKIAUNKNOWN000000000", "x").get_rest_apis)
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err.response["Error"]["Code"] == "UnrecognizedClientException"
    assert err.response["Error"]["Message"] == "The security token included in the request is invalid."


def test_unsigned_requests_are_refused(locked):
    srv, _ = locked
    resp = requests.get(srv.url + "/restapis", timeout=10)
    assert resp.status_code == 403
    assert resp.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert resp.json() == {"message": "Missing Authentication Token"}


def signed_at(srv, key, when: datetime.datetime) -> requests.Response:
    """GET /restapis signed by botocore's SigV4Auth with its clock set to `when`."""
    request = AWSRequest(method="GET", url=srv.url + "/restapis")
    creds = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    with mock.patch.object(botocore.auth.datetime, "datetime", wraps=datetime.datetime) as clock:
        clock.now.return_value = when
        clock.utcnow.return_value = when
        SigV4Auth(creds, "apigateway", REGION).add_auth(request)
    return requests.get(srv.url + "/restapis", headers=dict(request.headers), timeout=10)


def test_a_request_signed_ten_minutes_off_is_refused(locked):
    srv, key = locked
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert signed_at(srv, key, now).status_code == 200
    for offset in (-10, 10):
        resp = signed_at(srv, key, now + datetime.timedelta(minutes=offset))
        assert resp.status_code == 403, resp.text
        assert resp.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
        expected = "Signature expired" if offset < 0 else "Signature not yet current"
        assert resp.json()["message"].startswith(expected), resp.text


def test_a_presigned_request_works(locked):
    srv, key = locked
    from botocore.auth import SigV4QueryAuth

    request = AWSRequest(method="GET", url=srv.url + "/restapis")
    SigV4QueryAuth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "apigateway", REGION, expires=60).add_auth(request)
    assert requests.get(request.url, timeout=10).status_code == 200
    tampered = request.url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    assert requests.get(tampered, timeout=10).status_code == 403


def test_the_cli_manages_credentials_of_a_running_server(locked):
    srv, key = locked
    created = json.loads(cli(srv.data_dir, "create", "--user", "bob").stdout)["AccessKey"]
    bob = client(srv.url, created["AccessKeyId"], created["SecretAccessKey"])
    assert eventually(bob.get_rest_apis)["items"] == []
    listed = json.loads(cli(srv.data_dir, "list").stdout)["AccessKeys"]
    assert {k["UserName"] for k in listed} == {"alice", "bob"}
    assert all("SecretAccessKey" not in k for k in listed)
    cli(srv.data_dir, "delete", created["AccessKeyId"])

    def refused():
        err = error_of(bob.get_rest_apis)
        assert err.response["Error"]["Code"] == "UnrecognizedClientException"

    eventually(refused)
    gone = cli(srv.data_dir, "delete", created["AccessKeyId"], check=False)
    assert gone.returncode == 2 and "cannot be found" in gone.stderr
    # A given key pair, and a policy file that is not a policy.
    given = cli(srv.data_dir, "create", "--user", "carol", "--access-key-id", "AKIAIOSFODNN7EXAMPLE",
                "--secret-access-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert json.loads(given.stdout)["AccessKey"]["AccessKeyId"] == "AKIAIOSFODNN7EXAMPLE"
    carol = client(srv.url, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert eventually(carol.get_rest_apis)["items"] == []
    with tempfile.NamedTemporaryFile("w", suffix=".json") as bad:
        bad.write('{"Statement": {"Effect": "Perhaps"}}')
        bad.flush()
        refused = cli(srv.data_dir, "create", "--user", "dave", "--policy", bad.name, check=False)
    assert refused.returncode == 2 and "MalformedPolicyDocument" in refused.stderr


def test_dev_routes_stay_open_to_loopback(locked):
    srv, _ = locked
    assert requests.post(srv.url + "/_tollgate/reset", timeout=10).status_code == 204


def test_bootstrap_credentials_from_the_environment(spawn_server):
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-boot-")
    try:
        env = {"TOLLGATE_ACCESS_KEY_ID": "AKIABOOTSTRAPKEY0000", "TOLLGATE_SECRET_ACCESS_KEY": "boot-secret"}
        srv = ServerProcess(data_dir, env=env).start()
        try:
            assert client(srv.url, "AKIABOOTSTRAPKEY0000", "boot-secret").get_rest_apis()["items"] == []
            err = error_of(client(srv.url, "AKIABOOTSTRAPKEY0000", "wrong").get_rest_apis)
            assert err.response["Error"]["Code"] == "InvalidSignatureException"
        finally:
            srv.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_without_credentials_a_non_loopback_listener_is_refused():
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-open-")
    try:
        result = subprocess.run(
            [str(tollgate_bin()), "serve", "--listen", f"0.0.0.0:{free_port()}", "--data-dir", data_dir],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tollgate: refusing to serve the management API"), result.stderr
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_with_credentials_a_non_loopback_listener_is_served_and_locked():
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-wide-")
    try:
        key = json.loads(cli(data_dir, "create", "--user", "ops").stdout)["AccessKey"]
        srv = ServerProcess(data_dir, listen_host="0.0.0.0").start()
        try:
            assert client(srv.url, key["AccessKeyId"], key["SecretAccessKey"]).get_rest_apis()["items"] == []
            assert requests.get(srv.url + "/restapis", timeout=10).status_code == 403
        finally:
            srv.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# AWS_IAM methods in the data plane, signed with botocore's SigV4 signer
# ---------------------------------------------------------------------------


def iam_call(url: str, key: str, secret: str, method: str = "GET") -> requests.Response:
    request = AWSRequest(method=method, url=url)
    SigV4Auth(Credentials(key, secret), "execute-api", REGION).add_auth(request)
    return requests.request(method, url, headers=dict(request.headers), timeout=10)


def test_aws_iam_methods_verify_signatures_and_identity_policies(locked):
    from dataplane_support import RestApi, invoke_url, poll

    srv, admin = locked
    apigw = client(srv.url, admin["AccessKeyId"], admin["SecretAccessKey"])
    api = RestApi(apigw, "iam-api")
    for path in ("/pets", "/admin"):
        key = api.mock(path, body='{"identity": {"arn": "$context.identity.userArn", "key": "$context.identity.accessKey"}}')
        apigw.update_method(**key, patchOperations=[{"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"}])
    api.deploy("prod")
    arn = f"arn:aws:execute-api:{REGION}:000000000000:{api.id}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{arn}/prod/GET/*"},
            {"Effect": "Deny", "Action": "execute-api:*", "Resource": f"{arn}/*/*/admin"},
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(policy, file)
        file.flush()
        user = json.loads(cli(srv.data_dir, "create", "--user", "caller", "--policy", file.name).stdout)["AccessKey"]
    pets = invoke_url(srv.url, api.id, "prod", "/pets")
    # The deployment is served once the data plane has compiled it.
    poll("GET", pets, lambda r: r.status_code == 403 and "Missing Authentication" in r.text)

    def served():
        response = iam_call(pets, user["AccessKeyId"], user["SecretAccessKey"])
        assert response.status_code == 200, response.text
        return response

    allowed = eventually(served)
    assert allowed.json() == {"identity": {"arn": user["Arn"], "key": user["AccessKeyId"]}}

    unsigned = requests.get(pets, timeout=10)
    assert unsigned.status_code == 403
    assert unsigned.json() == {"message": "Missing Authentication Token"}

    wrong = iam_call(pets, user["AccessKeyId"], "wrong-secret")
    assert wrong.status_code == 403
    assert wrong.json()["message"].startswith("The request signature we calculated does not match")
    assert wrong.headers["x-amzn-ErrorType"] == "InvalidSignatureException"

    unknown = iam_call(pets, "AKIAUNKNOWN000000000", "x")
    assert unknown.status_code == 403
    assert unknown.json()["message"] == "The security token included in the request is invalid."

    denied = iam_call(invoke_url(srv.url, api.id, "prod", "/admin"), user["AccessKeyId"], user["SecretAccessKey"])
    assert denied.status_code == 403
    assert denied.json()["message"] == (
        f"User: {user['Arn']} is not authorized to perform: execute-api:Invoke on resource: "
        f"{arn}/prod/GET/admin with an explicit deny"
    )
    # The admin user has no identity policy: an implicit deny.
    implicit = iam_call(pets, admin["AccessKeyId"], admin["SecretAccessKey"])
    assert implicit.status_code == 403
    assert implicit.json()["message"].endswith(f"{arn}/prod/GET/pets")


def test_resource_policies_by_source_ip_and_with_iam(locked):
    from dataplane_support import RestApi, invoke_url, poll

    srv, admin = locked
    apigw = client(srv.url, admin["AccessKeyId"], admin["SecretAccessKey"])

    def api_with(policy: dict, iam_paths=()) -> RestApi:
        api = RestApi(apigw, "policy-api")
        apigw.update_rest_api(restApiId=api.id, patchOperations=[
            {"op": "replace", "path": "/policy", "value": json.dumps(policy)}])
        for path in ("/open", "/blocked", "/iam"):
            key = api.mock(path)
            if path == "/iam":
                apigw.update_method(**key, patchOperations=[
                    {"op": "replace", "path": "/authorizationType", "value": "AWS_IAM"}])
        api.deploy("prod")
        return api

    allow_all = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}
    api = api_with({"Version": "2012-10-17", "Statement": [
        allow_all,
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*/GET/blocked",
         "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}},
    ]})
    arn = f"arn:aws:execute-api:{REGION}:000000000000:{api.id}"
    # The deployment is served once the data plane has compiled it.
    poll("GET", invoke_url(srv.url, api.id, "prod", "/open"), 200)
    blocked = requests.get(invoke_url(srv.url, api.id, "prod", "/blocked"), timeout=10)
    assert blocked.status_code == 403
    assert blocked.json()["message"] == (
        f"User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        f"{arn}/prod/GET/blocked with an explicit deny"
    )
    # An IAM caller without identity policies is allowed by the resource policy (same account).
    iam = iam_call(invoke_url(srv.url, api.id, "prod", "/iam"), admin["AccessKeyId"], admin["SecretAccessKey"])
    assert iam.status_code == 200, iam.text

    # Only another network is allowed: an implicit deny from here.
    elsewhere = api_with({"Version": "2012-10-17", "Statement": [
        {**allow_all, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]})
    denied = poll("GET", invoke_url(srv.url, elsewhere.id, "prod", "/open"),
                  lambda r: r.status_code == 403 and "is not authorized" in r.text)
    assert denied.json()["message"].endswith(f"{elsewhere.id}/prod/GET/open"), denied.text


def test_http_api_iam_routes_verify_signatures_and_identity_policies(locked):
    """An HTTP API route with `AWS_IAM`: the caller signs with SigV4 (service
    `execute-api`); its identity policy must allow `execute-api:Invoke` on the route ARN; the
    function sees the caller in `requestContext.authorizer.iam`."""
    from dataplane_support import poll
    from http_api_support import FUNCTION_SOURCE, ROLE, function_arn, make_zip, path_url

    srv, admin = locked
    v2 = client(srv.url, admin["AccessKeyId"], admin["SecretAccessKey"], "apigatewayv2")
    client(srv.url, admin["AccessKeyId"], admin["SecretAccessKey"], "lambda").create_function(
        FunctionName="iam-echo", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": FUNCTION_SOURCE})}, Timeout=10)
    api_id = v2.create_api(Name="iam-http", ProtocolType="HTTP")["ApiId"]
    iid = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                IntegrationUri=function_arn("iam-echo"))["IntegrationId"]
    for key in ("GET /pets", "GET /admin"):
        v2.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{iid}", AuthorizationType="AWS_IAM")
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    arn = f"arn:aws:execute-api:{REGION}:000000000000:{api_id}"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"{arn}/$default/GET/pets"}]}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(policy, file)
        file.flush()
        user = json.loads(cli(srv.data_dir, "create", "--user", "caller", "--policy", file.name).stdout)["AccessKey"]
    pets = path_url(srv.url, api_id, "/pets")
    unsigned = poll("GET", pets, lambda r: r.status_code == 403)
    assert unsigned.json() == {"message": "Forbidden"}

    allowed = eventually(lambda: _ok(iam_call(pets, user["AccessKeyId"], user["SecretAccessKey"])))
    iam = allowed.json()["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == user["AccessKeyId"]
    assert iam["userArn"] == user["Arn"]
    assert iam["accountId"] == "000000000000"

    wrong = iam_call(pets, user["AccessKeyId"], "wrong-secret")
    assert wrong.status_code == 403
    assert wrong.json()["message"].startswith("The request signature we calculated does not match")

    denied = iam_call(path_url(srv.url, api_id, "/admin"), user["AccessKeyId"], user["SecretAccessKey"])
    assert denied.status_code == 403
    assert denied.json()["message"] == (
        f"User: {user['Arn']} is not authorized to perform: execute-api:Invoke on resource: "
        f"{arn}/$default/GET/admin"
    )


def _ok(response: requests.Response) -> requests.Response:
    assert response.status_code == 200, response.text
    return response
