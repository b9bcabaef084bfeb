"""Data plane: Lambda authorizers (TOKEN and REQUEST) on REST APIs.

AWS behaviour relied on (API Gateway developer guide, "Use API Gateway Lambda authorizers"):
the TOKEN authorizer gets `{"type":"TOKEN","authorizationToken","methodArn"}`, the REQUEST
authorizer the request's headers, query, path and stage variables plus `methodArn`; a missing
identity or one failing `identityValidationExpression` answers 401 `{"message":"Unauthorized"}`
without calling the function, as does a function failing with "Unauthorized"; an explicit
Deny answers 403 with "User is not authorized to access this resource with an explicit deny";
other failures 500 `{"message": null}`. Results are cached by identity for
`authorizerResultTtlInSeconds`, and the cached policy is evaluated again for each method ARN.
`principalId` and `context` reach `$context.authorizer.*` and the proxy event.
"""

import json

import pytest

from dataplane_support import RestApi, call, json_of, poll
from test_dataplane_lambda import lam, zip_of  # noqa: F401  (fixture)

AUTHORIZER = r'''
import json

CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    if event["type"] == "TOKEN":
        token = event["authorizationToken"]
    else:
        token = event["headers"].get("x-token") or event["queryStringParameters"].get("token")
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "crash":
        raise RuntimeError("boom")
    if token == "garbage":
        return {"no": "policy"}
    arn = event["methodArn"]
    api_part = arn.split(":")[5]
    api_id, stage = api_part.split("/")[:2]
    region, account = arn.split(":")[3], arn.split(":")[4]
    if token.startswith("only-get"):
        resource = f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/GET/*"
    else:
        resource = "arn:aws:execute-api:*"
    effect = "Deny" if token == "deny" else "Allow"
    return {
        "principalId": "user-" + token,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]},
        "context": {"calls": CALLS, "kind": event["type"], "admin": True},
        "usageIdentifierKey": "k" * 30,
    }
'''

ECHO = r'''
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"])}
'''


def function_uri(lam, name: str, source: str) -> str:
    fn = lam.create_function(FunctionName=name, Runtime="python3.11", Role="arn:aws:iam::000000000000:role/x",
                             Handler="app.handler", Code={"ZipFile": zip_of(source)}, Timeout=10)
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"


class Secured:
    def __init__(self, apigw, lam, endpoint, *, kind="TOKEN", ttl=300, validation=None, key_source=None):
        self.apigw, self.endpoint = apigw, endpoint
        self.api = RestApi(apigw, "secured")
        if key_source:
            apigw.update_rest_api(restApiId=self.api.id, patchOperations=[
                {"op": "replace", "path": "/apiKeySource", "value": key_source}])
        self.auth_uri = function_uri(lam, "authorizer", AUTHORIZER)
        params = {"identitySource": "method.request.header.Authorization"} if kind == "TOKEN" else {
            "identitySource": "method.request.header.x-token"}
        if validation:
            params["identityValidationExpression"] = validation
        self.authorizer = apigw.create_authorizer(restApiId=self.api.id, name="a", type=kind,
                                                  authorizerUri=self.auth_uri,
                                                  authorizerResultTtlInSeconds=ttl, **params)
        body = json.dumps({"principal": "$context.authorizer.principalId",
                           "calls": "$context.authorizer.calls", "kind": "$context.authorizer.kind"})
        for verb in ("GET", "POST"):
            key = self.api.mock("/secret", verb, body=body)
            apigw.update_method(**key, patchOperations=[
                {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
                {"op": "replace", "path": "/authorizerId", "value": self.authorizer["id"]}])
        self.echo_uri = function_uri(lam, "echo", ECHO)
        rid = self.api.resource("/echo")
        apigw.put_method(restApiId=self.api.id, resourceId=rid, httpMethod="GET", authorizationType="CUSTOM",
                         authorizerId=self.authorizer["id"])
        apigw.put_integration(restApiId=self.api.id, resourceId=rid, httpMethod="GET", type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=self.echo_uri)
        self.api.mock("/ready")
        self.api.deploy("dev")
        poll("GET", self.url("/ready"), 200)

    def url(self, path: str, stage: str = "dev") -> str:
        return self.api.url(self.endpoint, stage, path)


def token(value: str) -> dict:
    return {"Authorization": value}


def test_token_authorizer_allows_denies_and_passes_its_context(apigw, lam, endpoint):
    s = Secured(apigw, lam, endpoint)
    resp = poll("GET", s.url("/secret"), 200, headers=token("alice"), timeout=20)
    assert json_of(resp) == {"principal": "user-alice", "calls": "1", "kind": "TOKEN"}

    resp = call("GET", s.url("/secret"), headers={})
    assert resp.status_code == 401 and json_of(resp) == {"message": "Unauthorized"}
    assert resp.headers["x-amzn-ErrorType"] == "UnauthorizedException"

    resp = call("GET", s.url("/secret"), headers=token("deny"))
    assert resp.status_code == 403
    assert json_of(resp) == {"message": "User is not authorized to access this resource with an explicit deny"}

    resp = call("GET", s.url("/secret"), headers=token("unauthorized"))
    assert resp.status_code == 401 and json_of(resp) == {"message": "Unauthorized"}

    for bad in ("crash", "garbage"):
        resp = call("GET", s.url("/secret"), headers=token(bad))
        assert resp.status_code == 500 and json_of(resp) == {"message": None}
        assert resp.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"

    resp = call("GET", s.url("/echo"), headers=token("bob"))
    ctx = json_of(resp)
    assert ctx["authorizer"]["principalId"] == "user-bob"
    assert ctx["authorizer"]["kind"] == "TOKEN"
    assert ctx["authorizer"]["admin"] is True


def test_results_are_cached_per_identity_and_evaluated_per_method(apigw, lam, endpoint):
    s = Secured(apigw, lam, endpoint)
    first = json_of(poll("GET", s.url("/secret"), 200, headers=token("only-get-1"), timeout=20))
    again = json_of(call("GET", s.url("/secret"), headers=token("only-get-1")))
    assert again["calls"] == first["calls"], "the second call is answered from the cache"
    # The cached policy allows GET only: POST with the same token is denied, from the cache.
    resp = call("POST", s.url("/secret"), headers=token("only-get-1"))
    assert resp.status_code == 403
    assert json_of(resp) == {"message": "User is not authorized to access this resource"}
    # Another identity calls the function again.
    other = json_of(call("GET", s.url("/secret"), headers=token("only-get-2")))
    assert int(other["calls"]) > int(first["calls"])
    # Flushing the stage's cache forgets the first result.
    apigw.flush_stage_authorizers_cache(restApiId=s.api.id, stageName="dev")
    flushed = json_of(poll("GET", s.url("/secret"), lambda r: r.status_code == 200 and
                           json_of(r)["calls"] != first["calls"], headers=token("only-get-1")))
    assert int(flushed["calls"]) > int(other["calls"])


def test_the_cache_does_not_leak_across_stages(apigw, lam, endpoint):
    s = Secured(apigw, lam, endpoint)
    s.api.deploy("prod")
    dev = json_of(poll("GET", s.url("/secret"), 200, headers=token("t"), timeout=20))
    prod = json_of(poll("GET", s.url("/secret", "prod"), 200, headers=token("t")))
    assert int(prod["calls"]) > int(dev["calls"])


def test_without_caching_every_request_calls_the_function(apigw, lam, endpoint):
    s = Secured(apigw, lam, endpoint, ttl=0)
    first = json_of(poll("GET", s.url("/secret"), 200, headers=token("x"), timeout=20))
    second = json_of(call("GET", s.url("/secret"), headers=token("x")))
    assert int(second["calls"]) == int(first["calls"]) + 1


def test_identity_validation_expression_refuses_before_the_function(apigw, lam, endpoint):
    s = Secured(apigw, lam, endpoint, validation="Bearer [a-z]+")
    assert poll("GET", s.url("/secret"), 200, headers=token("Bearer abc"), timeout=20)
    resp = call("GET", s.url("/secret"), headers=token("abc"))
    assert resp.status_code == 401 and json_of(resp) == {"message": "Unauthorized"}


def test_request_authorizer(apigw, lam, endpoint):
    s = Secured(apigw, lam, endpoint, kind="REQUEST")
    resp = poll("GET", s.url("/secret"), 200, headers={"x-token": "carol"}, timeout=20)
    assert json_of(resp)["principal"] == "user-carol"
    assert json_of(resp)["kind"] == "REQUEST"
    resp = call("GET", s.url("/secret"))
    assert resp.status_code == 401


def test_api_key_from_the_authorizer(apigw, lam, endpoint):
    s = Secured(apigw, lam, endpoint, key_source="AUTHORIZER")
    for verb in ("GET", "POST"):
        rid = s.api.resource("/secret")
        apigw.update_method(restApiId=s.api.id, resourceId=rid, httpMethod=verb, patchOperations=[
            {"op": "replace", "path": "/apiKeyRequired", "value": "true"}])
    s.api.deploy("dev")
    plan = apigw.create_usage_plan(name="p", apiStages=[{"apiId": s.api.id, "stage": "dev"}])
    key = apigw.create_api_key(name="from-authorizer", value="k" * 30, enabled=True)
    poll("GET", s.url("/secret"), 403, headers=token("dave"), timeout=20)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    poll("GET", s.url("/secret"), 200, headers=token("dave"))


def test_test_invoke_authorizer(apigw, lam, endpoint):
    s = Secured(apigw, lam, endpoint)
    out = apigw.test_invoke_authorizer(restApiId=s.api.id, authorizerId=s.authorizer["id"],
                                       headers={"Authorization": "erin"}, pathWithQueryString="/secret")
    assert out["clientStatus"] == 200
    assert out["principalId"] == "user-erin"
    assert json.loads(out["policy"])["Statement"][0]["Effect"] == "Allow"
    assert out["authorization"]["kind"] == ["TOKEN"]
    assert out["log"]
    denied = apigw.test_invoke_authorizer(restApiId=s.api.id, authorizerId=s.authorizer["id"],
                                          headers={"Authorization": "unauthorized"})
    assert denied["clientStatus"] == 401
    missing = apigw.test_invoke_authorizer(restApiId=s.api.id, authorizerId=s.authorizer["id"], headers={})
    assert missing["clientStatus"] == 401
