"""The AWS CLI works against Tollgate with --endpoint-url."""

import json

from helpers import API_ID_RE


def test_cli_create_and_list(aws_cli):
    created = aws_cli("create-rest-api", "--name", "cli-api", "--description", "made by the CLI")
    assert API_ID_RE.match(created["id"])
    assert created["name"] == "cli-api"
    listed = aws_cli("get-rest-apis")
    assert [(a["id"], a["name"]) for a in listed["items"]] == [(created["id"], "cli-api")]


def test_cli_resources_methods_and_deploy(aws_cli):
    api = aws_cli("create-rest-api", "--name", "cli-full")
    api_id, root = api["id"], api["rootResourceId"]
    res = aws_cli("create-resource", "--rest-api-id", api_id, "--parent-id", root, "--path-part", "pets")
    assert res["path"] == "/pets"
    method = aws_cli("put-method", "--rest-api-id", api_id, "--resource-id", res["id"], "--http-method", "GET",
                     "--authorization-type", "NONE", "--request-parameters",
                     "method.request.querystring.limit=false")
    assert method["requestParameters"] == {"method.request.querystring.limit": False}
    integ = aws_cli("put-integration", "--rest-api-id", api_id, "--resource-id", res["id"], "--http-method", "GET",
                    "--type", "MOCK", "--request-templates", json.dumps({"application/json": '{"statusCode": 200}'}))
    assert integ["type"] == "MOCK"
    dep = aws_cli("create-deployment", "--rest-api-id", api_id, "--stage-name", "dev")
    stage = aws_cli("get-stage", "--rest-api-id", api_id, "--stage-name", "dev")
    assert stage["deploymentId"] == dep["id"]
    resources = aws_cli("get-resources", "--rest-api-id", api_id)
    assert {r["path"] for r in resources["items"]} == {"/", "/pets"}


def test_cli_update_with_shorthand_patch(aws_cli):
    api = aws_cli("create-rest-api", "--name", "before")
    updated = aws_cli("update-rest-api", "--rest-api-id", api["id"], "--patch-operations",
                      "op=replace,path=/name,value=after")
    assert updated["name"] == "after"
    assert aws_cli("get-rest-api", "--rest-api-id", api["id"])["name"] == "after"


def test_cli_delete(aws_cli):
    api = aws_cli("create-rest-api", "--name", "doomed")
    aws_cli("delete-rest-api", "--rest-api-id", api["id"])
    assert aws_cli("get-rest-apis").get("items", []) == []


def test_cli_error(aws_cli):
    proc = aws_cli.raw("get-rest-api", "--rest-api-id", "abcde01234")
    assert proc.returncode != 0
    assert "NotFoundException" in proc.stderr, proc.stderr


def test_cli_get_account(aws_cli):
    account = aws_cli("get-account")
    assert account["throttleSettings"] == {"burstLimit": 5000, "rateLimit": 10000.0}
