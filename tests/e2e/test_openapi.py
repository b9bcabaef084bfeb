"""OpenAPI in and out: ImportRestApi, PutRestApi, GetExport, documentation, `tollgate import`
and `tollgate export`, over the corpus in tests/fixtures/openapi (see its README)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import botocore.exceptions
import pytest
import requests
import yaml

from dataplane_support import backend, poll  # noqa: F401 - fixture
from helpers import assert_error, tollgate_bin

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "openapi"
VERBS = {"get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method"}
DEFINITIONS = [
    "aws-petstore.json",
    "swagger-petstore.json",
    "swagger-petstore-expanded.yaml",
    "uspto.yaml",
    "link-example.yaml",
    "readme-legacy.json",
    "star-trek.json",
    "xkcd.json",
    "docker-engine.json",
    "slack-web.json",
    "mastodon.json",
    "orthanc.json",
]


def load(name: str) -> dict:
    text = (CORPUS / name).read_text()
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


def expected_paths(doc: dict) -> dict[str, set[str]]:
    """Every resource path the definition makes (ancestors included), with its methods."""
    out: dict[str, set[str]] = {"/": set()}
    for path, item in doc["paths"].items():
        full = path.rstrip("/") or "/"
        parts = [p for p in full.split("/") if p]
        for i in range(len(parts) + 1):
            out.setdefault("/" + "/".join(parts[:i]), set())
        verbs = {"ANY" if k == "x-amazon-apigateway-any-method" else k.upper() for k in item if k in VERBS}
        out[full] |= verbs
    return out


def all_resources(apigw, api_id: str) -> list[dict]:
    return [r for page in apigw.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"],
                                                                    PaginationConfig={"PageSize": 500})
            for r in page["items"]]


def all_models(apigw, api_id: str) -> list[dict]:
    return [m for page in apigw.get_paginator("get_models").paginate(restApiId=api_id, PaginationConfig={"PageSize": 500})
            for m in page["items"]]


def shape(apigw, api_id: str, strict: bool = True) -> dict:
    """What an API is, without its ids: comparable across APIs."""
    methods = {}
    for r in all_resources(apigw, api_id):
        for verb, m in r.get("resourceMethods", {}).items():
            entry = {
                "authorizationType": m["authorizationType"],
                "apiKeyRequired": m["apiKeyRequired"],
                "requestParameters": m.get("requestParameters", {}),
                "operationName": m.get("operationName"),
                "responses": sorted(m.get("methodResponses", {})),
            }
            if strict:
                entry["requestModels"] = m.get("requestModels", {})
                entry["responseModels"] = {k: v.get("responseModels", {})
                                           for k, v in m.get("methodResponses", {}).items()}
            integration = m.get("methodIntegration")
            if integration:
                entry["integration"] = {k: v for k, v in integration.items() if k != "cacheNamespace"}
            methods[(r["path"], verb)] = entry
    models = {m["name"]: json.loads(m.get("schema", "{}").replace(api_id, "API")) for m in all_models(apigw, api_id)}
    return {"methods": methods, "models": models if strict else sorted(models)}


def with_mock_integrations(doc: dict) -> dict:
    """The definition with a MOCK integration on every operation that has none, so it deploys."""
    doc = copy.deepcopy(doc)
    for item in doc["paths"].values():
        for key, op in item.items():
            if key in VERBS and isinstance(op, dict) and "x-amazon-apigateway-integration" not in op:
                op["x-amazon-apigateway-integration"] = {
                    "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'}}
    return doc


def export(apigw, api_id: str, stage: str, kind: str, yaml_out: bool, extensions: str = "apigateway") -> bytes:
    resp = apigw.get_export(restApiId=api_id, stageName=stage, exportType=kind,
                            parameters={"extensions": extensions},
                            accepts="application/yaml" if yaml_out else "application/json")
    assert resp["contentType"] == ("application/yaml" if yaml_out else "application/json")
    return resp["body"].read()


@pytest.mark.parametrize("name", DEFINITIONS)
def test_corpus_imports_exports_and_reimports_to_the_same_api(apigw, name):
    doc = load(name)
    imported = apigw.import_rest_api(body=(CORPUS / name).read_bytes())
    api_id = imported["id"]
    assert imported["name"] == doc["info"]["title"]
    got = {r["path"]: set(r.get("resourceMethods", {})) for r in all_resources(apigw, api_id)}
    assert got == expected_paths(doc)
    named = doc.get("definitions") or doc.get("components", {}).get("schemas", {})
    model_names = {m["name"] for m in all_models(apigw, api_id)}
    assert {re.sub("[^A-Za-z0-9]", "", n) for n in named} <= model_names

    # Overwrite with integrations on every method, deploy, export four ways, import each again.
    mocked = json.dumps(with_mock_integrations(doc)).encode()
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=mocked)
    apigw.create_deployment(restApiId=api_id, stageName="test")
    original = shape(apigw, api_id)
    for kind in ("oas30", "swagger"):
        for yaml_out in (False, True):
            body = export(apigw, api_id, "test", kind, yaml_out)
            parsed = yaml.safe_load(body) if yaml_out else json.loads(body)
            assert ("openapi" if kind == "oas30" else "swagger") in parsed
            again = apigw.import_rest_api(body=body)["id"]
            strict = kind == "oas30"
            assert shape(apigw, again, strict) == (original if strict else shape(apigw, api_id, False)), (kind, yaml_out)


def test_petstore_is_served_through_the_data_plane(apigw, endpoint):
    api_id = apigw.import_rest_api(body=(CORPUS / "aws-petstore.json").read_bytes())["id"]
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    home = poll("GET", f"{endpoint}/restapis/{api_id}/prod/_user_request_/", 200)
    assert home.status_code == 200
    assert "Welcome to your Pet Store API" in home.text
    assert home.headers["content-type"].startswith("text/html")
    options = requests.options(f"{endpoint}/restapis/{api_id}/prod/_user_request_/pets", timeout=10)
    assert options.headers["access-control-allow-methods"] == "POST,GET,OPTIONS"
    pets = [r for r in all_resources(apigw, api_id) if r["path"] == "/pets"][0]
    get = pets["resourceMethods"]["GET"]
    assert get["methodIntegration"]["uri"] == "http://petstore-demo-endpoint.execute-api.com/petstore/pets"
    assert get["requestParameters"] == {"method.request.querystring.page": False,
                                        "method.request.querystring.type": False}
    assert get["methodResponses"]["200"]["responseModels"] == {"application/json": "Pets"}
    pets_model = apigw.get_model(restApiId=api_id, modelName="Pets")
    assert f"https://apigateway.amazonaws.com/restapis/{api_id}/models/Pet" in pets_model["schema"]
    parts = apigw.get_documentation_parts(restApiId=api_id, limit=500)["items"]
    assert len(parts) == 14


def test_http_integration_of_an_imported_api_reaches_the_backend(apigw, endpoint, backend):  # noqa: F811
    doc = {
        "openapi": "3.0.1",
        "info": {"title": "echo", "version": "1"},
        "paths": {"/items/{id}": {"get": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": backend.url + "/echo/{id}",
                "requestParameters": {"integration.request.path.id": "method.request.path.id"}}}}},
    }
    api_id = apigw.import_rest_api(body=json.dumps(doc).encode())["id"]
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    resp = poll("GET", f"{endpoint}/restapis/{api_id}/dev/_user_request_/items/42", 200)
    assert resp.status_code == 200
    assert resp.json()["path"] == "/echo/42"


def test_put_rest_api_merges_or_overwrites(apigw):
    first = {"swagger": "2.0", "info": {"title": "m", "version": "1"},
             "paths": {"/a": {"get": {"responses": {"200": {"description": "ok"}}}}},
             "definitions": {"A": {"type": "object"}}}
    second = {"swagger": "2.0", "info": {"title": "m2", "version": "2"},
              "paths": {"/b": {"post": {"responses": {"201": {"description": "ok"}}}}},
              "definitions": {"B": {"type": "string"}}}
    api_id = apigw.import_rest_api(body=json.dumps(first).encode())["id"]
    merged = apigw.put_rest_api(restApiId=api_id, mode="merge", body=json.dumps(second).encode())
    assert merged["name"] == "m2"
    assert {r["path"] for r in all_resources(apigw, api_id)} == {"/", "/a", "/b"}
    assert {m["name"] for m in all_models(apigw, api_id)} == {"A", "B"}
    root = [r for r in all_resources(apigw, api_id) if r["path"] == "/"][0]["id"]
    apigw.put_rest_api(restApiId=api_id, mode="overwrite", body=json.dumps(second).encode())
    resources = all_resources(apigw, api_id)
    assert {r["path"] for r in resources} == {"/", "/b"}
    assert [r["id"] for r in resources if r["path"] == "/"] == [root]
    assert {m["name"] for m in all_models(apigw, api_id)} == {"B"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.put_rest_api(restApiId="nope123456", mode="overwrite", body=json.dumps(second).encode())
    assert_error(e, "NotFoundException", 404)


def test_fail_on_warnings_refuses_and_warnings_are_reported(apigw):
    doc = {"openapi": "3.0.0", "info": {"title": "warned", "version": "1"},
           "components": {"securitySchemes": {"oauth": {"type": "oauth2", "flows": {}}}},
           "paths": {"/a": {"get": {"security": [{"oauth": []}], "responses": {"default": {"description": "x"}}}}}}
    body = json.dumps(doc).encode()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.import_rest_api(body=body, failOnWarnings=True)
    assert_error(e, "BadRequestException", 400, contains="Warnings found during import")
    assert apigw.get_rest_apis()["items"] == []
    imported = apigw.import_rest_api(body=body)
    assert any("oauth2" in w for w in imported["warnings"])
    assert any("'default'" in w for w in imported["warnings"])


@pytest.mark.parametrize("body,contains", [
    ((CORPUS / "invalid-gitea.json").read_bytes(), "/paths/~1repos~1{owner}~1{repo}~1git~1commits~1{sha}.{diffType}"),
    (b"openapi: 3.0.0\ninfo: [unclosed\n", "Invalid YAML"),
    (b'{"openapi": "3.0.0", "info": {"version": "1"}, "paths": {}}', "/info/title"),
    (b'{"swagger": "2.0", "info": {"title": "t"}, "paths": {"/a": {"get": {"responses": {},'
     b' "x-amazon-apigateway-integration": {"type": "http"}}}}}', "/paths/~1a/get/x-amazon-apigateway-integration"),
    (b'{"openapi": "3.0.0", "info": {"title": "t"}, "paths": {"/a/{x}": {}, "/a/{y}": {}}}', "only one is allowed"),
])
def test_invalid_definitions_are_refused_whole(apigw, body, contains):
    existing = apigw.import_rest_api(body=(CORPUS / "xkcd.json").read_bytes())["id"]
    before = shape(apigw, existing)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.import_rest_api(body=body)
    assert_error(e, "BadRequestException", 400, contains=contains)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.put_rest_api(restApiId=existing, mode="overwrite", body=body)
    assert_error(e, "BadRequestException", 400, contains=contains)
    assert [a["id"] for a in apigw.get_rest_apis()["items"]] == [existing]
    assert shape(apigw, existing) == before


def test_basepath_parameter(apigw):
    doc = {"swagger": "2.0", "info": {"title": "b", "version": "1"}, "basePath": "/v1/shop",
           "paths": {"/items": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    body = json.dumps(doc).encode()
    paths = {}
    for mode in ("ignore", "prepend", "split"):
        api_id = apigw.import_rest_api(body=body, parameters={"basepath": mode})["id"]
        paths[mode] = {r["path"] for r in all_resources(apigw, api_id) if r.get("resourceMethods")}
    assert paths == {"ignore": {"/items"}, "prepend": {"/v1/shop/items"}, "split": {"/shop/items"}}


def test_extensions_choose_what_the_export_holds(apigw):
    doc = load("aws-petstore.json")
    doc["x-amazon-apigateway-binary-media-types"] = ["image/png"]
    doc["x-amazon-apigateway-request-validators"] = {"all": {"validateRequestBody": True,
                                                             "validateRequestParameters": True}}
    doc["x-amazon-apigateway-request-validator"] = "all"
    doc["x-amazon-apigateway-gateway-responses"] = {"DEFAULT_4XX": {"statusCode": "400"}}
    api_id = apigw.import_rest_api(body=json.dumps(doc).encode())["id"]
    assert apigw.get_rest_api(restApiId=api_id)["binaryMediaTypes"] == ["image/png"]
    assert apigw.get_gateway_response(restApiId=api_id, responseType="DEFAULT_4XX")["statusCode"] == "400"
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    plain = json.loads(export(apigw, api_id, "prod", "oas30", False, extensions=""))
    assert "x-amazon-apigateway-integration" not in plain["paths"]["/pets"]["get"]
    assert "x-amazon-apigateway-request-validators" not in plain
    integrations = json.loads(export(apigw, api_id, "prod", "oas30", False, extensions="integrations"))
    assert integrations["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"]["type"] == "http"
    assert "x-amazon-apigateway-request-validators" not in integrations
    full = json.loads(export(apigw, api_id, "prod", "oas30", False))
    assert full["x-amazon-apigateway-binary-media-types"] == ["image/png"]
    assert full["paths"]["/pets"]["get"]["x-amazon-apigateway-request-validator"] == "all"
    assert full["x-amazon-apigateway-gateway-responses"]["DEFAULT_4XX"]["statusCode"] == "400"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.get_export(restApiId=api_id, stageName="nope", exportType="oas30")
    assert_error(e, "NotFoundException", 404)


def test_authorizers_and_api_keys_from_security_schemes(apigw):
    uri = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
           "arn:aws:lambda:us-east-1:000000000000:function:auth/invocations")
    doc = {"openapi": "3.0.1", "info": {"title": "secured", "version": "1"},
           "components": {"securitySchemes": {
               "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
               "tok": {"type": "apiKey", "name": "Authorization", "in": "header",
                       "x-amazon-apigateway-authtype": "custom",
                       "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": uri,
                                                          "authorizerResultTtlInSeconds": 60}}}},
           "paths": {"/a": {"get": {"security": [{"tok": []}, {"api_key": []}],
                                    "responses": {"200": {"description": "ok"}},
                                    "x-amazon-apigateway-integration": {"type": "mock"}}}}}
    api_id = apigw.import_rest_api(body=json.dumps(doc).encode())["id"]
    authorizers = apigw.get_authorizers(restApiId=api_id)["items"]
    assert [(a["name"], a["type"], a["identitySource"]) for a in authorizers] == [
        ("tok", "TOKEN", "method.request.header.Authorization")]
    method = [r for r in all_resources(apigw, api_id) if r["path"] == "/a"][0]["resourceMethods"]["GET"]
    assert method["authorizationType"] == "CUSTOM"
    assert method["authorizerId"] == authorizers[0]["id"]
    assert method["apiKeyRequired"] is True
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    exported = export(apigw, api_id, "dev", "oas30", False, extensions="integrations,authorizers")
    again = apigw.import_rest_api(body=exported)["id"]
    assert [a["name"] for a in apigw.get_authorizers(restApiId=again)["items"]] == ["tok"]
    assert shape(apigw, again, strict=False)["methods"] == shape(apigw, api_id, strict=False)["methods"]


def test_documentation_parts_versions_and_export(apigw):
    api_id = apigw.import_rest_api(body=(CORPUS / "aws-petstore.json").read_bytes())["id"]
    part = apigw.create_documentation_part(restApiId=api_id, location={"type": "RESOURCE", "path": "/pets"},
                                           properties='{"description": "the pets"}')
    assert part["location"] == {"type": "RESOURCE", "path": "/pets"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.create_documentation_part(restApiId=api_id, location={"type": "RESOURCE", "path": "/pets"},
                                        properties="{}")
    assert_error(e, "ConflictException", 409)
    updated = apigw.update_documentation_part(
        restApiId=api_id, documentationPartId=part["id"],
        patchOperations=[{"op": "replace", "path": "/properties", "value": '{"description": "all pets"}'}])
    assert json.loads(updated["properties"]) == {"description": "all pets"}
    listed = apigw.get_documentation_parts(restApiId=api_id, type="QUERY_PARAMETER")["items"]
    assert {p["location"]["name"] for p in listed} == {"page", "type"}
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    version = apigw.create_documentation_version(restApiId=api_id, documentationVersion="v1",
                                                 stageName="prod", description="first")
    assert version["version"] == "v1"
    assert apigw.get_stage(restApiId=api_id, stageName="prod")["documentationVersion"] == "v1"
    assert [v["version"] for v in apigw.get_documentation_versions(restApiId=api_id)["items"]] == ["v1"]
    exported = json.loads(export(apigw, api_id, "prod", "swagger", False))
    documentation = exported["x-amazon-apigateway-documentation"]
    assert documentation["version"] == "v1"
    assert len(documentation["documentationParts"]) == 15
    # Parts changed after the version do not change what the version exports.
    apigw.delete_documentation_part(restApiId=api_id, documentationPartId=part["id"])
    exported = json.loads(export(apigw, api_id, "prod", "swagger", False))
    assert len(exported["x-amazon-apigateway-documentation"]["documentationParts"]) == 15
    # ImportDocumentationParts: overwrite replaces all parts with the definition's.
    result = apigw.import_documentation_parts(restApiId=api_id, mode="overwrite",
                                              body=json.dumps(exported).encode())
    assert len(result["ids"]) == 15
    assert len(apigw.get_documentation_parts(restApiId=api_id, limit=500)["items"]) == 15
    apigw.update_documentation_version(restApiId=api_id, documentationVersion="v1",
                                       patchOperations=[{"op": "replace", "path": "/description", "value": "x"}])
    apigw.delete_documentation_version(restApiId=api_id, documentationVersion="v1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.get_documentation_version(restApiId=api_id, documentationVersion="v1")
    assert_error(e, "NotFoundException", 404)


def run_tollgate(endpoint: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tollgate_bin()), *args, "--endpoint", endpoint],
                          capture_output=True, text=True, timeout=120)


def test_cli_import_deploys_and_prints_invoke_urls_then_exports(apigw, endpoint):
    first = run_tollgate(endpoint, "import", str(CORPUS / "aws-petstore.json"), "--stage", "prod")
    assert first.returncode == 0, first.stderr
    api_id = apigw.get_rest_apis()["items"][0]["id"]
    port = endpoint.rsplit(":", 1)[1]
    assert f"http://{api_id}.execute-api.localhost:{port}/prod/" in first.stdout
    path_url = f"{endpoint}/restapis/{api_id}/prod/_user_request_/"
    assert path_url in first.stdout
    assert "Welcome to your Pet Store API" in poll("GET", path_url, 200).text
    # The same name again updates that API instead of making another.
    again = run_tollgate(endpoint, "import", str(CORPUS / "aws-petstore.json"), "--stage", "prod")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"updated API {api_id}")
    assert len(apigw.get_rest_apis()["items"]) == 1
    exported = run_tollgate(endpoint, "export", api_id, "prod", "--format", "swagger", "--yaml")
    assert exported.returncode == 0, exported.stderr
    assert yaml.safe_load(exported.stdout)["swagger"] == "2.0"
    # A large file shows its steps on stderr; one that cannot deploy says why.
    big = run_tollgate(endpoint, "import", str(CORPUS / "orthanc.json"))
    assert "importing (ImportRestApi)" in big.stderr
    assert big.returncode != 0 and "No integration defined for method" in big.stderr
    bad = run_tollgate(endpoint, "import", str(CORPUS / "invalid-gitea.json"))
    assert bad.returncode != 0 and "BadRequestException" in bad.stderr


def test_summaries_and_descriptions_become_documentation_parts_and_export_back(apigw):
    definition = {
        "openapi": "3.0.1",
        "info": {"title": "described", "description": "A described API", "version": "1"},
        "paths": {
            "/books/{isbn}": {
                "get": {
                    "summary": "One book", "description": "Looks a book up by ISBN", "tags": ["books"],
                    "parameters": [
                        {"name": "isbn", "in": "path", "required": True, "description": "The ISBN",
                         "schema": {"type": "string"}},
                        {"name": "lang", "in": "query", "description": "Language of the blurb",
                         "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "The book",
                                          "headers": {"ETag": {"description": "Revision",
                                                               "schema": {"type": "string"}}}}},
                    "x-amazon-apigateway-integration": {
                        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                        "responses": {"default": {"statusCode": "200"}}},
                },
                "put": {
                    "requestBody": {"description": "The new book",
                                    "content": {"application/json": {"schema": {"type": "object"}}}},
                    "responses": {"204": {"description": "Stored"}},
                    "x-amazon-apigateway-integration": {
                        "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 204}'},
                        "responses": {"default": {"statusCode": "204"}}},
                },
            },
        },
    }
    api_id = apigw.import_rest_api(body=json.dumps(definition).encode())["id"]
    parts = apigw.get_documentation_parts(restApiId=api_id, limit=500)["items"]
    found = {(p["location"]["type"], p["location"].get("method"), p["location"].get("statusCode"),
              p["location"].get("name")): json.loads(p["properties"]) for p in parts}
    assert found == {
        ("API", None, None, None): {"info": {"description": "A described API"}},
        ("METHOD", "GET", None, None): {"summary": "One book", "description": "Looks a book up by ISBN",
                                        "tags": ["books"]},
        ("PATH_PARAMETER", "GET", None, "isbn"): {"description": "The ISBN"},
        ("QUERY_PARAMETER", "GET", None, "lang"): {"description": "Language of the blurb"},
        ("RESPONSE", "GET", "200", None): {"description": "The book"},
        ("RESPONSE_HEADER", "GET", "200", "ETag"): {"description": "Revision"},
        ("REQUEST_BODY", "PUT", None, None): {"description": "The new book"},
        ("RESPONSE", "PUT", "204", None): {"description": "Stored"},
    }
    assert all(p["location"].get("path") in (None, "/books/{isbn}") for p in parts)
    # `ignore=documentation` leaves them out.
    ignored = apigw.import_rest_api(body=json.dumps(definition).encode(), parameters={"ignore": "documentation"})
    assert apigw.get_documentation_parts(restApiId=ignored["id"])["items"] == []

    # Published with the stage, they come back in the export: in the operations and in the extension.
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    apigw.create_documentation_version(restApiId=api_id, documentationVersion="v1", stageName="prod")
    exported = json.loads(export(apigw, api_id, "prod", "oas30", False))
    op = exported["paths"]["/books/{isbn}"]["get"]
    assert (op["summary"], op["description"], op["tags"]) == ("One book", "Looks a book up by ISBN", ["books"])
    assert op["responses"]["200"]["description"] == "The book"
    assert {p["name"]: p.get("description") for p in op["parameters"]} == {
        "isbn": "The ISBN", "lang": "Language of the blurb"}
    assert len(exported["x-amazon-apigateway-documentation"]["documentationParts"]) == len(parts)
    # And a re-import of that export keeps the same parts (the extension is the documentation).
    again = apigw.import_rest_api(body=json.dumps(exported).encode())["id"]
    assert len(apigw.get_documentation_parts(restApiId=again, limit=500)["items"]) == len(parts)


def test_documentation_part_filters_and_unknown_ids(apigw):
    api_id = apigw.create_rest_api(name="doc-parts")["id"]
    for location in ({"type": "API"}, {"type": "RESOURCE", "path": "/pets"},
                     {"type": "QUERY_PARAMETER", "path": "/pets", "method": "GET", "name": "page"},
                     {"type": "QUERY_PARAMETER", "path": "/pets", "method": "GET", "name": "pageSize"}):
        apigw.create_documentation_part(restApiId=api_id, location=location, properties="{}")
    listed = apigw.get_documentation_parts(restApiId=api_id, path="/pets")["items"]
    assert sorted(p["location"]["type"] for p in listed) == ["QUERY_PARAMETER", "QUERY_PARAMETER", "RESOURCE"]
    listed = apigw.get_documentation_parts(restApiId=api_id, nameQuery="Size")["items"]
    assert [p["location"]["name"] for p in listed] == ["pageSize"]
    assert len(apigw.get_documentation_parts(restApiId=api_id, limit=2)["items"]) == 2
    for call in (lambda: apigw.get_documentation_part(restApiId=api_id, documentationPartId="nope"),
                 lambda: apigw.update_documentation_part(restApiId=api_id, documentationPartId="nope",
                                                         patchOperations=[]),
                 lambda: apigw.delete_documentation_part(restApiId=api_id, documentationPartId="nope")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert_error(e, "NotFoundException", 404, message="Invalid Documentation part identifier specified")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.get_documentation_parts(restApiId="nope")
    assert_error(e, "NotFoundException", 404, contains="Invalid API identifier specified")
