"""Data plane: COGNITO_USER_POOLS authorizers of REST APIs, against a user pool's issuer and
keys served over HTTP (a self-hosted pool is mapped to them in tollgate.toml).

AWS behaviour relied on (API Gateway developer guide, "Control access to REST APIs using Amazon
Cognito user pools as an authorizer"): the identity header carries an ID or access token of the
pool; a missing, expired, foreign or badly signed token answers 401 `{"message":"Unauthorized"}`;
with method `authorizationScopes` only an access token holding one of them is accepted; the
claims reach `$context.authorizer.claims.*` and the proxy event's `requestContext.authorizer.claims`.
"""

import json
import os
import shutil
import tempfile

import pytest

from dataplane_support import RestApi, call, json_of, poll
from test_http_api_auth import issuer  # noqa: F401  (fixture)

POOL = "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Tollgate"


@pytest.fixture
def data_dir():
    path = tempfile.mkdtemp(prefix="tollgate-cognito-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def cognito_server(spawn_server, issuer, data_dir, pools=None):
    pools = pools or {POOL: issuer.url}
    with open(os.path.join(data_dir, "tollgate.toml"), "w") as f:
        for arn, url in pools.items():
            f.write(f'[cognito-user-pools."{arn}"]\nissuer = "{url}"\njwks-url = "{url}/keys.json"\n')
    return spawn_server(data_dir=data_dir)


def secured(apigw, scopes=None, provider=POOL):
    api = RestApi(apigw, "cognito")
    authorizer = apigw.create_authorizer(restApiId=api.id, name="pool", type="COGNITO_USER_POOLS",
                                         providerARNs=[provider],
                                         identitySource="method.request.header.Authorization")
    body = json.dumps({"sub": "$context.authorizer.claims.sub",
                       "email": "$context.authorizer.claims.email"})
    key = api.mock("/me", body=body)
    ops = [{"op": "replace", "path": "/authorizationType", "value": "COGNITO_USER_POOLS"},
           {"op": "replace", "path": "/authorizerId", "value": authorizer["id"]}]
    for scope in scopes or []:
        ops.append({"op": "add", "path": "/authorizationScopes", "value": scope})
    apigw.update_method(**key, patchOperations=ops)
    api.mock("/ready")
    api.deploy("dev")
    return api


def test_id_and_access_tokens(spawn_server, issuer, data_dir):
    srv = cognito_server(spawn_server, issuer, data_dir)
    api = secured(srv.client())
    url = api.url(srv.url, "dev", "/me")
    poll("GET", api.url(srv.url, "dev", "/ready"), 200)
    id_token = issuer.token(token_use="id", email="ann@example.com", sub="ann")
    resp = call("GET", url, headers={"Authorization": id_token})
    assert resp.status_code == 200, resp.text
    assert json_of(resp) == {"sub": "ann", "email": "ann@example.com"}
    access = issuer.token(token_use="access", aud=None, client_id="app", sub="bob")
    assert json_of(call("GET", url, headers={"Authorization": access}))["sub"] == "bob"

    unauthorized = {"message": "Unauthorized"}
    for headers in ({}, {"Authorization": "not.a.jwt"},
                    {"Authorization": issuer.token(token_use="id", exp=1)},
                    {"Authorization": issuer.token(token_use="id", iss="https://elsewhere")},
                    {"Authorization": issuer.token(token_use=None)}):
        resp = call("GET", url, headers=headers)
        assert resp.status_code == 401 and json_of(resp) == unauthorized, (headers, resp.text)


def test_method_scopes_need_an_access_token_with_one_of_them(spawn_server, issuer, data_dir):
    srv = cognito_server(spawn_server, issuer, data_dir)
    api = secured(srv.client(), scopes=["pets/read"])
    url = api.url(srv.url, "dev", "/me")
    poll("GET", api.url(srv.url, "dev", "/ready"), 200)
    good = issuer.token(token_use="access", scope="pets/read other")
    assert call("GET", url, headers={"Authorization": good}).status_code == 200
    wrong_scope = issuer.token(token_use="access", scope="pets/write")
    assert call("GET", url, headers={"Authorization": wrong_scope}).status_code == 401
    id_token = issuer.token(token_use="id", scope=None)
    assert call("GET", url, headers={"Authorization": id_token}).status_code == 401


def test_an_unmapped_user_pool_is_a_configuration_error(spawn_server, issuer, data_dir):
    srv = cognito_server(spawn_server, issuer, data_dir)
    api = secured(srv.client(), provider="arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Other")
    poll("GET", api.url(srv.url, "dev", "/ready"), 200)
    resp = call("GET", api.url(srv.url, "dev", "/me"), headers={"Authorization": issuer.token(token_use="id")})
    assert resp.status_code == 500
    assert resp.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
