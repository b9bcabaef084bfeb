"""Authorization and throttling of HTTP API routes, end to end: JWT authorizers against an
issuer whose discovery document and JWKS are served over HTTP, Lambda REQUEST authorizers
(simple responses, IAM policies, payload 1.0 and 2.0, caching and its reset), and route and
stage throttling."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import rsa

from dataplane_support import backend, call, poll  # noqa: F401
from http_api_support import ROLE, echo_function, function_arn, host_url, lambda_client, make_zip, v2  # noqa: F401


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


class Issuer:
    """An OpenID issuer on 127.0.0.1: discovery document, JWKS, and token signing."""

    def __init__(self):
        self.keys = {"k1": rsa.newkeys(2048)}
        self.requests: list[str] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                issuer.requests.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/keys.json"}
                elif self.path == "/keys.json":
                    body = {"keys": [
                        {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                         "n": b64url(int_bytes(pub.n)), "e": b64url(int_bytes(pub.e))}
                        for kid, (pub, _) in issuer.keys.items()]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, kid: str = "k1", private=None, **claims) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": "my-app", "sub": "user-1", "iat": now - 5,
                "exp": now + 300, "scope": "read write", **claims}
        body = {k: v for k, v in body.items() if v is not None}
        header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
        message = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(body).encode())}"
        key = private or self.keys.get(kid, self.keys["k1"])[1]
        return message + "." + b64url(rsa.sign(message.encode(), key, "SHA-256"))


@pytest.fixture(scope="module")
def issuer():
    server = Issuer()
    yield server
    server.server.shutdown()


def jwt_api(v2, issuer, echo_function, scopes=None):
    api_id = v2.create_api(Name="jwt", ProtocolType="HTTP")["ApiId"]
    authorizer = v2.create_authorizer(
        ApiId=api_id, Name="jwt", AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Issuer": issuer.url, "Audience": ["my-app"]})["AuthorizerId"]
    iid = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=echo_function,
                                PayloadFormatVersion="2.0")["IntegrationId"]
    kwargs = {"AuthorizationScopes": scopes} if scopes else {}
    v2.create_route(ApiId=api_id, RouteKey="GET /secret", Target=f"integrations/{iid}",
                    AuthorizationType="JWT", AuthorizerId=authorizer, **kwargs)
    v2.create_route(ApiId=api_id, RouteKey="GET /open", Target=f"integrations/{iid}")
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id


def send(endpoint, api_id, path, token=None, until=None, headers=None):
    url, h = host_url(endpoint, api_id, path)
    if token is not None:
        h["Authorization"] = token
    h.update(headers or {})
    if until is None:
        return call("GET", url, headers=h, timeout=30)
    return poll("GET", url, until, headers=h, timeout=20, request_timeout=30)


def test_jwt_authorizer(v2, endpoint, issuer, echo_function):
    api_id = jwt_api(v2, issuer, echo_function)
    send(endpoint, api_id, "/open", until=200)
    missing = send(endpoint, api_id, "/secret")
    assert missing.status_code == 401 and missing.json() == {"message": "Unauthorized"}

    event = send(endpoint, api_id, "/secret", token=issuer.token(), until=200).json()
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["sub"] == "user-1" and jwt["claims"]["iss"] == issuer.url
    assert isinstance(jwt["claims"]["exp"], str)
    assert jwt["scopes"] == ["read", "write"]
    assert send(endpoint, api_id, "/secret", token="Bearer " + issuer.token()).status_code == 200
    # The discovery document and the JWKS were read once, then cached.
    assert issuer.requests.count("/keys.json") == 1
    assert "/.well-known/openid-configuration" in issuer.requests

    now = int(time.time())
    other_key = rsa.newkeys(1024)[1]
    for bad in (
        issuer.token(aud="someone-else"),
        issuer.token(exp=now - 10),
        issuer.token(nbf=now + 600),
        issuer.token(iss="https://evil.example"),
        issuer.token(private=other_key),
        issuer.token(kid="unknown"),
        "not.a.token",
    ):
        resp = send(endpoint, api_id, "/secret", token=bad)
        assert resp.status_code == 401, bad
        assert resp.json() == {"message": "Unauthorized"}
    # An unknown `kid` right after a fetch does not make the gateway fetch again.
    assert issuer.requests.count("/keys.json") == 1
    # Without `aud`, `client_id` must be one of the audiences.
    assert send(endpoint, api_id, "/secret", token=issuer.token(aud=None, client_id="my-app")).status_code == 200
    assert send(endpoint, api_id, "/secret", token=issuer.token(aud=None, client_id="x")).status_code == 401


def test_jwt_scopes(v2, endpoint, issuer, echo_function):
    api_id = jwt_api(v2, issuer, echo_function, scopes=["admin", "write"])
    ok = send(endpoint, api_id, "/secret", token=issuer.token(), until=200)
    assert ok.json()["requestContext"]["authorizer"]["jwt"]["scopes"] == ["read", "write"]
    denied = send(endpoint, api_id, "/secret", token=issuer.token(scope="read"))
    assert denied.status_code == 403 and denied.json() == {"message": "Forbidden"}
    assert send(endpoint, api_id, "/secret", token=issuer.token(scope=None, scp=["admin"])).status_code == 200


AUTHORIZER_SOURCE = '''
import json
import time

def handler(event, context):
    headers = event.get("headers") or {}
    token = headers.get("x-token", "")
    if token == "crash":
        raise RuntimeError("authorizer failed")
    stamp = time.time_ns()
    if event.get("version") == "1.0" or token.startswith("policy"):
        effect = "Allow" if token.endswith("allow") else "Deny"
        resource = event.get("routeArn") or event.get("methodArn")
        return {"principalId": "p-1", "context": {"who": token, "stamp": stamp,
                                                   "version": event.get("version"),
                                                   "arn": resource,
                                                   "identity": event.get("identitySource")},
                "policyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}}
    return {"isAuthorized": token.startswith("allow"),
            "context": {"who": token, "stamp": stamp, "route": event.get("routeKey"),
                        "identity": event.get("identitySource"), "type": event.get("type")}}
'''


@pytest.fixture
def authorizer_function(endpoint):
    lam = lambda_client(endpoint)
    lam.create_function(FunctionName="http-authorizer", Runtime="python3.12", Role=ROLE,
                        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": AUTHORIZER_SOURCE})})
    return function_arn("http-authorizer")


def lambda_api(v2, echo_function, authorizer_function, version="2.0", simple=True, ttl=0):
    api_id = v2.create_api(Name="lam", ProtocolType="HTTP")["ApiId"]
    authorizer = v2.create_authorizer(
        ApiId=api_id, Name="lam", AuthorizerType="REQUEST",
        IdentitySource=["$request.header.x-token"],
        AuthorizerUri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{authorizer_function}/invocations",
        AuthorizerPayloadFormatVersion=version, EnableSimpleResponses=simple,
        AuthorizerResultTtlInSeconds=ttl)["AuthorizerId"]
    iid = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=echo_function,
                                PayloadFormatVersion="2.0")["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /guarded", Target=f"integrations/{iid}",
                    AuthorizationType="CUSTOM", AuthorizerId=authorizer)
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id


def lambda_context(resp):
    return resp.json()["requestContext"]["authorizer"]["lambda"]


def test_lambda_authorizer_simple_responses(v2, endpoint, echo_function, authorizer_function):
    api_id = lambda_api(v2, echo_function, authorizer_function)
    ok = send(endpoint, api_id, "/guarded", headers={"x-token": "allow-me"}, until=200)
    ctx = lambda_context(ok)
    assert ctx["who"] == "allow-me" and ctx["route"] == "GET /guarded"
    assert ctx["identity"] == ["allow-me"] and ctx["type"] == "REQUEST"
    denied = send(endpoint, api_id, "/guarded", headers={"x-token": "nope"})
    assert denied.status_code == 403 and denied.json() == {"message": "Forbidden"}
    missing = send(endpoint, api_id, "/guarded")
    assert missing.status_code == 401 and missing.json() == {"message": "Unauthorized"}
    crashed = send(endpoint, api_id, "/guarded", headers={"x-token": "crash"})
    assert crashed.status_code == 500 and crashed.json() == {"message": "Internal Server Error"}
    # No TTL: every request asks the function again.
    first = lambda_context(send(endpoint, api_id, "/guarded", headers={"x-token": "allow-me"}))
    second = lambda_context(send(endpoint, api_id, "/guarded", headers={"x-token": "allow-me"}))
    assert first["stamp"] != second["stamp"]


def test_lambda_authorizer_caching_and_reset(v2, endpoint, echo_function, authorizer_function):
    api_id = lambda_api(v2, echo_function, authorizer_function, ttl=300)
    first = lambda_context(send(endpoint, api_id, "/guarded", headers={"x-token": "allow-a"}, until=200))
    again = lambda_context(send(endpoint, api_id, "/guarded", headers={"x-token": "allow-a"}))
    assert again["stamp"] == first["stamp"]
    other = lambda_context(send(endpoint, api_id, "/guarded", headers={"x-token": "allow-b"}))
    assert other["stamp"] != first["stamp"]
    # Refusals are cached too.
    assert send(endpoint, api_id, "/guarded", headers={"x-token": "deny"}).status_code == 403
    v2.reset_authorizers_cache(ApiId=api_id, StageName="$default")
    url, headers = host_url(endpoint, api_id, "/guarded")
    headers["x-token"] = "allow-a"
    fresh = poll("GET", url, lambda r: r.status_code == 200 and lambda_context(r)["stamp"] != first["stamp"],
                 headers=headers, timeout=10, request_timeout=30)
    assert lambda_context(fresh)["who"] == "allow-a"


def test_lambda_authorizer_policies_and_payload_1(v2, endpoint, echo_function, authorizer_function):
    api_id = lambda_api(v2, echo_function, authorizer_function, version="1.0", simple=False)
    ok = send(endpoint, api_id, "/guarded", headers={"x-token": "policy-allow"}, until=200)
    authorizer = ok.json()["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "p-1"
    ctx = authorizer["lambda"]
    assert ctx["version"] == "1.0" and ctx["identity"] == "policy-allow"
    assert ctx["arn"] == f"arn:aws:execute-api:us-east-1:000000000000:{api_id}/$default/GET/guarded"
    denied = send(endpoint, api_id, "/guarded", headers={"x-token": "policy-deny"})
    assert denied.status_code == 403 and denied.json() == {"message": "Forbidden"}


def test_throttling_by_stage_default_and_route(v2, endpoint, backend):
    api_id = v2.create_api(Name="throttle", ProtocolType="HTTP")["ApiId"]
    iid = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationUri=backend.url,
                                IntegrationMethod="ANY")["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /limited", Target=f"integrations/{iid}")
    v2.create_route(ApiId=api_id, RouteKey="GET /generous", Target=f"integrations/{iid}")
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True,
                    DefaultRouteSettings={"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0.1},
                    RouteSettings={"GET /generous": {"ThrottlingBurstLimit": 100,
                                                     "ThrottlingRateLimit": 100.0}})
    url, headers = host_url(endpoint, api_id, "/limited")
    poll("GET", url, lambda r: r.status_code in (200, 429), headers=headers)
    statuses = [call("GET", url, headers=headers).status_code for _ in range(5)]
    assert 429 in statuses and statuses.count(200) <= 2
    throttled = call("GET", url, headers=headers)
    assert throttled.status_code == 429 and throttled.json() == {"message": "Too Many Requests"}
    url, headers = host_url(endpoint, api_id, "/generous")
    assert all(call("GET", url, headers=headers).status_code == 200 for _ in range(10))
