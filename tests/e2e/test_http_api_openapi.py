"""OpenAPI definitions of HTTP APIs through boto3 `apigatewayv2`: ImportApi, ReimportApi and
ExportApi, with the imported routes served by the data plane (HTTP_PROXY to a local backend,
AWS_PROXY to a local function, JWT authorization), round trips through export, refused
definitions that change nothing, failOnWarnings, and `tollgate import --http-api` / `tollgate
export`."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from botocore.exceptions import ClientError

from dataplane_support import backend, poll  # noqa: F401
from helpers import tollgate_bin
from http_api_support import echo_function, host_url, v2  # noqa: F401


def pets_definition(backend_url: str, function_arn: str) -> dict:
    """A small pet store: two HTTP_PROXY routes, a Lambda route, a JWT-protected route with a
    scope, a Lambda authorizer, CORS and the $default route."""
    http = {"type": "http_proxy", "httpMethod": "ANY", "uri": backend_url + "/backend/pets",
            "payloadFormatVersion": "1.0", "timeoutInMillis": 10000}
    return {
        "openapi": "3.0.1",
        "info": {"title": "imported-pets", "description": "Pets, imported", "version": "1.0.0"},
        "x-amazon-apigateway-importexport-version": "1.0",
        "x-amazon-apigateway-cors": {"allowOrigins": ["https://pets.example.com"], "maxAge": 600,
                                     "allowMethods": ["GET", "POST"]},
        "tags": [{"name": "team", "x-amazon-apigateway-tag-value": "pets"}, {"name": "public"}],
        "paths": {
            "/pets": {
                "get": {"operationId": "listPets", "x-amazon-apigateway-integration": http},
                "post": {
                    "security": [{"jwt-auth": ["pets:write"]}],
                    "x-amazon-apigateway-integration": http,
                },
            },
            "/pets/{petId}": {
                "get": {
                    "parameters": [{"name": "petId", "in": "path", "required": True,
                                    "schema": {"type": "string"}}],
                    "x-amazon-apigateway-integration": {
                        "type": "http_proxy", "httpMethod": "GET",
                        "uri": backend_url + "/backend/pets/{petId}",
                        "payloadFormatVersion": "1.0",
                        "requestParameters": {"append:header.x-imported": "yes"},
                    },
                },
            },
            "/fn": {
                "x-amazon-apigateway-any-method": {
                    "x-amazon-apigateway-integration": {
                        "$ref": "#/components/x-amazon-apigateway-integrations/echo"},
                },
            },
            "/guarded": {
                "get": {
                    "security": [{"lambda-auth": []}],
                    "x-amazon-apigateway-integration": {
                        "$ref": "#/components/x-amazon-apigateway-integrations/echo"},
                },
            },
            "$default": {
                "x-amazon-apigateway-any-method": {
                    "isDefaultRoute": True,
                    "x-amazon-apigateway-integration": {
                        "type": "http_proxy", "httpMethod": "ANY", "uri": backend_url + "/fallback",
                        "payloadFormatVersion": "1.0"},
                },
            },
        },
        "components": {
            "x-amazon-apigateway-integrations": {
                "echo": {"type": "aws_proxy", "httpMethod": "POST", "uri": function_arn,
                         "payloadFormatVersion": "2.0"},
            },
            "securitySchemes": {
                "jwt-auth": {
                    "type": "oauth2", "flows": {},
                    "x-amazon-apigateway-authorizer": {
                        "type": "jwt", "identitySource": "$request.header.Authorization",
                        "jwtConfiguration": {"issuer": "https://issuer.example.com",
                                             "audience": ["pets"]},
                    },
                },
                "lambda-auth": {
                    "type": "apiKey", "name": "x-token", "in": "header",
                    "x-amazon-apigateway-authorizer": {
                        "type": "request", "identitySource": "$request.header.x-token",
                        "authorizerUri": function_arn, "authorizerPayloadFormatVersion": "2.0",
                        "enableSimpleResponses": True, "authorizerResultTtlInSeconds": 0,
                    },
                },
            },
        },
    }


def shape(v2, api_id: str) -> list:
    """The API's routes with what they point at, without ids: equal for the same definition."""
    integrations = {i["IntegrationId"]: i for i in v2.get_integrations(ApiId=api_id)["Items"]}
    authorizers = {a["AuthorizerId"]: a for a in v2.get_authorizers(ApiId=api_id)["Items"]}
    out = []
    for r in v2.get_routes(ApiId=api_id)["Items"]:
        target = integrations.get(r.get("Target", "").removeprefix("integrations/"), {})
        auth = authorizers.get(r.get("AuthorizerId"), {})
        out.append((
            r["RouteKey"], r["AuthorizationType"], tuple(r.get("AuthorizationScopes", [])),
            r.get("OperationName"),
            json.dumps({k: v for k, v in target.items() if k != "IntegrationId"}, sort_keys=True),
            json.dumps({k: v for k, v in auth.items() if k != "AuthorizerId"}, sort_keys=True),
        ))
    return sorted(out)


def import_api(v2, doc, **kwargs):
    return v2.import_api(Body=json.dumps(doc), **kwargs)


def get(endpoint, api_id, path, until=200, method="GET", **kwargs):
    url, headers = host_url(endpoint, api_id, path)
    headers.update(kwargs.pop("headers", {}))
    return poll(method, url, until, headers=headers, **kwargs)


def test_import_creates_the_api_and_the_data_plane_serves_it(v2, endpoint, backend, echo_function):
    doc = pets_definition(backend.url, echo_function)
    api = import_api(v2, doc)
    assert api["Name"] == "imported-pets"
    assert api["Description"] == "Pets, imported"
    assert api["Version"] == "1.0.0"
    assert api["ProtocolType"] == "HTTP"
    assert api["CorsConfiguration"]["AllowOrigins"] == ["https://pets.example.com"]
    assert api["CorsConfiguration"]["MaxAge"] == 600
    assert "Warnings" not in api
    assert api["Tags"] == {"team": "pets", "public": ""}
    api_id = api["ApiId"]
    assert v2.get_api(ApiId=api_id)["Name"] == "imported-pets"

    routes = {r["RouteKey"]: r for r in v2.get_routes(ApiId=api_id)["Items"]}
    assert sorted(routes) == ["$default", "ANY /fn", "GET /guarded", "GET /pets", "GET /pets/{petId}",
                              "POST /pets"]
    assert routes["GET /pets"]["OperationName"] == "listPets"
    assert routes["POST /pets"]["AuthorizationType"] == "JWT"
    assert routes["POST /pets"]["AuthorizationScopes"] == ["pets:write"]
    assert routes["GET /guarded"]["AuthorizationType"] == "CUSTOM"
    authorizers = {a["Name"]: a for a in v2.get_authorizers(ApiId=api_id)["Items"]}
    assert authorizers["jwt-auth"]["AuthorizerType"] == "JWT"
    assert authorizers["jwt-auth"]["JwtConfiguration"]["Issuer"] == "https://issuer.example.com"
    assert routes["POST /pets"]["AuthorizerId"] == authorizers["jwt-auth"]["AuthorizerId"]
    assert authorizers["lambda-auth"]["AuthorizerType"] == "REQUEST"
    assert authorizers["lambda-auth"]["EnableSimpleResponses"] is True
    assert authorizers["lambda-auth"]["IdentitySource"] == ["$request.header.x-token"]
    integrations = v2.get_integrations(ApiId=api_id)["Items"]
    # GET and POST /pets share one definition, /fn and /guarded one $ref: four integrations.
    assert len(integrations) == 4
    assert routes["GET /pets"]["Target"] == routes["POST /pets"]["Target"]
    lambda_integration = next(i for i in integrations if i["IntegrationType"] == "AWS_PROXY")
    assert lambda_integration["PayloadFormatVersion"] == "2.0"
    assert routes["ANY /fn"]["Target"] == f"integrations/{lambda_integration['IntegrationId']}"

    # An import makes no stage; an auto-deployed $default stage serves it.
    assert v2.get_stages(ApiId=api_id)["Items"] == []
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    assert get(endpoint, api_id, "/pets").json()["path"] == "/backend/pets"
    pet = get(endpoint, api_id, "/pets/42").json()
    assert pet["path"] == "/backend/pets/42"
    assert pet["headers"]["x-imported"] == "yes"
    assert get(endpoint, api_id, "/anything/else").json()["path"] == "/fallback"
    event = get(endpoint, api_id, "/fn?x=1", method="POST").json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "ANY /fn"
    assert event["rawQueryString"] == "x=1"
    # The JWT route wants a token.
    assert get(endpoint, api_id, "/pets", method="POST", until=401).status_code == 401


def test_export_then_import_gives_the_same_api_and_reimport_replaces_it(v2, endpoint, backend,
                                                                        echo_function):
    first = import_api(v2, pets_definition(backend.url, echo_function))["ApiId"]
    exported = v2.export_api(ApiId=first, Specification="OAS30", OutputType="JSON")["body"].read()
    doc = json.loads(exported)
    assert doc["openapi"].startswith("3.0")
    assert doc["x-amazon-apigateway-importexport-version"] == "1.0"
    assert doc["x-amazon-apigateway-cors"]["allowOrigins"] == ["https://pets.example.com"]
    assert doc["paths"]["$default"]["x-amazon-apigateway-any-method"]["isDefaultRoute"] is True
    assert doc["paths"]["/pets"]["post"]["security"] == [{"jwt-auth": ["pets:write"]}]
    assert {t["name"]: t["x-amazon-apigateway-tag-value"] for t in doc["tags"]} == {"team": "pets", "public": ""}
    second = v2.import_api(Body=exported.decode())["ApiId"]
    assert shape(v2, second) == shape(v2, first)
    assert len(v2.get_integrations(ApiId=second)["Items"]) == 4

    as_yaml = v2.export_api(ApiId=first, Specification="OAS30", OutputType="YAML")["body"].read()
    # `yes` (a request parameter above) stays a string for YAML 1.1 readers too.
    assert yaml.safe_load(as_yaml) == doc
    third = v2.import_api(Body=as_yaml.decode())["ApiId"]
    assert shape(v2, third) == shape(v2, first)

    bare = json.loads(v2.export_api(ApiId=first, Specification="OAS30", OutputType="JSON",
                                    IncludeExtensions=False)["body"].read())
    assert "x-amazon-apigateway-integration" not in json.dumps(bare)
    assert set(bare["paths"]) == set(doc["paths"])

    # Reimport: the definition's routes replace the API's; the auto-deployed stage follows.
    v2.create_stage(ApiId=first, StageName="$default", AutoDeploy=True)
    assert get(endpoint, first, "/pets").json()["path"] == "/backend/pets"
    smaller = {
        "openapi": "3.0.1",
        "info": {"title": "renamed-pets", "version": "2"},
        "paths": {"/toys": {"get": {"x-amazon-apigateway-integration": {
            "type": "http_proxy", "httpMethod": "GET", "uri": backend.url + "/backend/toys",
            "payloadFormatVersion": "1.0"}}}},
    }
    api = v2.reimport_api(ApiId=first, Body=json.dumps(smaller))
    assert api["ApiId"] == first
    assert api["Name"] == "renamed-pets"
    assert "CorsConfiguration" not in api
    assert [r["RouteKey"] for r in v2.get_routes(ApiId=first)["Items"]] == ["GET /toys"]
    assert len(v2.get_integrations(ApiId=first)["Items"]) == 1
    assert v2.get_authorizers(ApiId=first)["Items"] == []
    assert get(endpoint, first, "/toys").json()["path"] == "/backend/toys"
    get(endpoint, first, "/pets", until=404)

    # Export of a stage is its deployment.
    staged = json.loads(v2.export_api(ApiId=first, Specification="OAS30", OutputType="JSON",
                                      StageName="$default", ExportVersion="1.0")["body"].read())
    assert list(staged["paths"]) == ["/toys"]


def error_of(excinfo) -> tuple[str, int, str]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


@pytest.mark.parametrize("doc, where", [
    ("{not json", "Invalid JSON"),
    ({"openapi": "3.0.1", "info": {"version": "1"}, "paths": {}}, "/info/title"),
    ({"openapi": "3.0.1", "info": {"title": "t", "version": "1"},
      "paths": {"/a": {"get": {"security": [{"missing": []}]}}}}, "/paths/~1a/get/security"),
    ({"openapi": "3.0.1", "info": {"title": "t", "version": "1"},
      "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {
          "type": "aws_proxy", "uri": "arn:aws:lambda:us-east-1:000000000000:function:f"}}}}},
     "/paths/~1a/get/x-amazon-apigateway-integration"),
    ({"openapi": "3.0.1", "info": {"title": "t", "version": "1"},
      "paths": {"/a/{b": {"get": {}}}}, "/paths/~1a~1{b/get"),
    ({"openapi": "3.0.1", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {}}},
      "components": {"securitySchemes": {"j": {"type": "oauth2", "x-amazon-apigateway-authorizer": {
          "type": "jwt", "identitySource": "$request.header.Authorization"}}}}},
     "/components/securitySchemes/j/x-amazon-apigateway-authorizer"),
])
def test_invalid_definitions_are_refused_and_create_nothing(v2, doc, where):
    before = v2.get_apis()["Items"]
    body = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(ClientError) as excinfo:
        v2.import_api(Body=body)
    code, status, message = error_of(excinfo)
    assert (code, status) == ("BadRequestException", 400)
    assert where in message
    assert v2.get_apis()["Items"] == before


def test_a_refused_reimport_changes_nothing(v2, backend, echo_function):
    api_id = import_api(v2, pets_definition(backend.url, echo_function))["ApiId"]
    before = shape(v2, api_id)
    bad = pets_definition(backend.url, echo_function)
    bad["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"] = {"type": "mock"}
    with pytest.raises(ClientError) as excinfo:
        v2.reimport_api(ApiId=api_id, Body=json.dumps(bad))
    assert error_of(excinfo)[0] == "BadRequestException"
    assert shape(v2, api_id) == before
    with pytest.raises(ClientError) as excinfo:
        v2.reimport_api(ApiId="nosuchapi", Body=json.dumps(pets_definition(backend.url, echo_function)))
    assert error_of(excinfo)[:2] == ("NotFoundException", 404)


def test_warnings_are_reported_and_fail_on_warnings_refuses(v2):
    doc = {
        "openapi": "3.0.1", "info": {"title": "warned", "version": "1"},
        "x-amazon-apigateway-binary-media-types": ["image/png"],
        "components": {"securitySchemes": {"key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
        "paths": {"/a": {"get": {"security": [{"key": []}]}}},
    }
    api = import_api(v2, doc)
    assert len(api["Warnings"]) == 2, api["Warnings"]
    assert any("binary-media-types" in w for w in api["Warnings"])
    assert [r["AuthorizationType"] for r in v2.get_routes(ApiId=api["ApiId"])["Items"]] == ["NONE"]
    count = len(v2.get_apis()["Items"])
    with pytest.raises(ClientError) as excinfo:
        import_api(v2, doc, FailOnWarnings=True)
    code, _, message = error_of(excinfo)
    assert code == "BadRequestException"
    assert "binary-media-types" in message
    assert len(v2.get_apis()["Items"]) == count
    with pytest.raises(ClientError):
        v2.reimport_api(ApiId=api["ApiId"], Body=json.dumps(doc), FailOnWarnings=True)


def test_base_paths(v2):
    doc = {"openapi": "3.0.1", "info": {"title": "based", "version": "1"},
           "servers": [{"url": "https://api.example.com/{basePath}",
                        "variables": {"basePath": {"default": "v1/shop"}}}],
           "paths": {"/items": {"get": {}}}}

    def keys(**kwargs):
        api_id = import_api(v2, doc, **kwargs)["ApiId"]
        return [r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]]

    assert keys() == ["GET /items"]
    assert keys(Basepath="prepend") == ["GET /v1/shop/items"]
    assert keys(Basepath="split") == ["GET /shop/items"]
    with pytest.raises(ClientError) as excinfo:
        keys(Basepath="sideways")
    assert error_of(excinfo)[0] == "BadRequestException"


def test_export_errors(v2):
    api_id = import_api(v2, {"openapi": "3.0.1", "info": {"title": "e", "version": "1"},
                             "paths": {"/a": {"get": {}}}})["ApiId"]
    for kwargs, code in [
        ({"StageName": "nope"}, "NotFoundException"),
        ({"ExportVersion": "2.0"}, "BadRequestException"),
        ({"OutputType": "XML"}, "BadRequestException"),
    ]:
        with pytest.raises(ClientError) as excinfo:
            v2.export_api(ApiId=api_id, Specification="OAS30", **{"OutputType": "JSON", **kwargs})
        assert error_of(excinfo)[0] == code, kwargs
    with pytest.raises(ClientError) as excinfo:
        v2.export_api(ApiId="nosuchapi", Specification="OAS30", OutputType="JSON")
    assert error_of(excinfo)[0] == "NotFoundException"


def run_tollgate(endpoint: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tollgate_bin()), *args, "--endpoint", endpoint],
                          capture_output=True, text=True, timeout=120)


def test_cli_imports_an_http_api_deploys_it_and_exports_it(v2, endpoint, backend, tmp_path):
    doc = {"openapi": "3.0.1", "info": {"title": "cli-http", "version": "1"},
           "x-amazon-apigateway-importexport-version": "1.0",
           "paths": {"/hello": {"get": {"x-amazon-apigateway-integration": {
               "type": "http_proxy", "httpMethod": "GET", "uri": backend.url + "/from-cli",
               "payloadFormatVersion": "1.0"}}}}}
    source = tmp_path / "http.yaml"
    source.write_text(yaml.safe_dump(doc))
    first = run_tollgate(endpoint, "import", str(source), "--http-api")
    assert first.returncode == 0, first.stderr
    [api] = v2.get_apis()["Items"]
    api_id = api["ApiId"]
    assert first.stdout.startswith(f"created API {api_id} (cli-http), deployed to stage $default")
    port = endpoint.rsplit(":", 1)[1]
    assert f"http://{api_id}.execute-api.localhost:{port}/\n" in first.stdout
    path_url = f"{endpoint}/_aws/execute-api/{api_id}/"
    assert path_url in first.stdout
    assert poll("GET", path_url + "hello", 200).json()["path"] == "/from-cli"
    [stage] = v2.get_stages(ApiId=api_id)["Items"]
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)

    # Same title: the API is reimported, and its auto-deployed stage serves the change.
    doc["paths"]["/bye"] = doc["paths"].pop("/hello")
    source.write_text(yaml.safe_dump(doc))
    again = run_tollgate(endpoint, "import", str(source), "--http-api")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"updated API {api_id}")
    assert len(v2.get_apis()["Items"]) == 1
    assert poll("GET", path_url + "bye", 200).json()["path"] == "/from-cli"

    # A named stage that does not auto-deploy is deployed by the import.
    v2.create_stage(ApiId=api_id, StageName="prod")
    staged = run_tollgate(endpoint, "import", str(source), "--http-api", "--stage", "prod")
    assert staged.returncode == 0, staged.stderr
    assert f"{path_url}prod/" in staged.stdout
    assert poll("GET", f"{path_url}prod/bye", 200).json()["path"] == "/from-cli"

    exported = run_tollgate(endpoint, "export", api_id, "--yaml")
    assert exported.returncode == 0, exported.stderr
    assert list(yaml.safe_load(exported.stdout)["paths"]) == ["/bye"]
    bare = run_tollgate(endpoint, "export", api_id, "prod", "--extensions", "none")
    assert bare.returncode == 0, bare.stderr
    assert "x-amazon-apigateway-integration" not in bare.stdout

    # Without --http-api the document goes to the REST importer, with a hint.
    rest = run_tollgate(endpoint, "import", str(source), "--new")
    assert "--http-api" in rest.stderr
