"""Versions, aliases and resource policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from lambda_support import (  # noqa: F401  (fixtures)
    ACCOUNT,
    create_function,
    echo_fn,
    echo_zip,
    error_code,
    invoke_json,
    lam,
    status_of,
)

ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo"


def test_publish_version_snapshots_latest(lam, echo_fn):
    v1 = lam.publish_version(FunctionName="echo", Description="first")
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert v1["Version"] == "1"
    assert v1["FunctionArn"] == f"{ARN}:1"
    assert v1["Description"] == "first"
    assert v1["CodeSha256"] == echo_fn["CodeSha256"]
    # Publishing an unchanged $LATEST again gives the same version.
    assert lam.publish_version(FunctionName="echo")["Version"] == "1"

    lam.update_function_code(FunctionName="echo", ZipFile=echo_zip("v2"))
    v2 = lam.publish_version(FunctionName="echo")
    assert v2["Version"] == "2"

    assert invoke_json(lam, "echo", {}, Qualifier="1")[1]["tag"] == "v1"
    resp, body = invoke_json(lam, "echo", {}, Qualifier="2")
    assert body["tag"] == "v2"
    assert resp["ExecutedVersion"] == "2"
    assert body["version"] == "2"
    # `name:version` works as well as Qualifier.
    assert invoke_json(lam, "echo:1", {})[1]["tag"] == "v1"

    versions = lam.list_versions_by_function(FunctionName="echo")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert versions[0]["FunctionArn"] == f"{ARN}:$LATEST"

    got = lam.get_function_configuration(FunctionName="echo", Qualifier="1")
    assert got["Version"] == "1"


def test_publish_with_wrong_sha_is_refused(lam, echo_fn):
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName="echo", CodeSha256="nope")
    assert error_code(e) == "InvalidParameterValueException"


def test_create_with_publish_makes_version_1(lam):
    created = create_function(lam, "pub", Publish=True)
    assert created["Version"] == "1"
    versions = lam.list_versions_by_function(FunctionName="pub")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]


def test_unknown_version_is_404(lam, echo_fn):
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="echo", Qualifier="7")
    assert error_code(e) == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == f"Function not found: {ARN}:7"


def test_aliases_resolve_to_their_version_on_invoke(lam, echo_fn):
    lam.publish_version(FunctionName="echo")
    lam.update_function_code(FunctionName="echo", ZipFile=echo_zip("v2"))
    lam.publish_version(FunctionName="echo")

    alias = lam.create_alias(FunctionName="echo", Name="live", FunctionVersion="1", Description="d")
    assert alias["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert alias["AliasArn"] == f"{ARN}:live"
    assert alias["FunctionVersion"] == "1"
    assert alias["Description"] == "d"

    resp, body = invoke_json(lam, "echo", {}, Qualifier="live")
    assert body["tag"] == "v1"
    assert resp["ExecutedVersion"] == "1"

    updated = lam.update_alias(FunctionName="echo", Name="live", FunctionVersion="2")
    assert updated["FunctionVersion"] == "2"
    assert updated["RevisionId"] != alias["RevisionId"]
    resp, body = invoke_json(lam, "echo", {}, Qualifier="live")
    assert body["tag"] == "v2"
    assert resp["ExecutedVersion"] == "2"

    assert lam.get_alias(FunctionName="echo", Name="live")["FunctionVersion"] == "2"
    lam.create_alias(FunctionName="echo", Name="old", FunctionVersion="1")
    names = [a["Name"] for a in lam.list_aliases(FunctionName="echo")["Aliases"]]
    assert names == ["live", "old"]
    only_v1 = lam.list_aliases(FunctionName="echo", FunctionVersion="1")["Aliases"]
    assert [a["Name"] for a in only_v1] == ["old"]

    # A version an alias uses cannot be deleted.
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName="echo", Qualifier="1")
    assert error_code(e) == "ResourceConflictException"

    lam.delete_alias(FunctionName="echo", Name="old")
    with pytest.raises(ClientError) as e:
        lam.get_alias(FunctionName="echo", Name="old")
    assert error_code(e) == "ResourceNotFoundException"
    lam.delete_function(FunctionName="echo", Qualifier="1")
    versions = lam.list_versions_by_function(FunctionName="echo")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "2"]


def test_alias_errors(lam, echo_fn):
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="echo", Name="a", FunctionVersion="5")
    assert error_code(e) == "ResourceNotFoundException"
    lam.create_alias(FunctionName="echo", Name="a", FunctionVersion="$LATEST")
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName="echo", Name="a", FunctionVersion="$LATEST")
    assert error_code(e) == "ResourceConflictException"
    assert status_of(e) == 409
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="echo", Qualifier="nosuchalias")
    assert error_code(e) == "ResourceNotFoundException"


def test_weighted_alias_routes_to_both_versions(lam, echo_fn):
    lam.publish_version(FunctionName="echo")
    lam.update_function_code(FunctionName="echo", ZipFile=echo_zip("v2"))
    lam.publish_version(FunctionName="echo")
    alias = lam.create_alias(
        FunctionName="echo",
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}
    seen = {invoke_json(lam, "echo", {}, Qualifier="canary")[0]["ExecutedVersion"] for _ in range(30)}
    assert seen == {"1", "2"}


def test_permissions_and_policy(lam, echo_fn):
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName="echo")
    assert error_code(e) == "ResourceNotFoundException"

    added = lam.add_permission(
        FunctionName="echo",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:{ACCOUNT}:abc123/*/GET/",
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = json.loads(added["Statement"])
    assert statement["Sid"] == "apigw"
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Resource"] == ARN
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"].startswith("arn:aws:execute-api:")

    lam.add_permission(
        FunctionName="echo", StatementId="acct", Action="lambda:*", Principal="123456789012"
    )
    with pytest.raises(ClientError) as e:
        lam.add_permission(
            FunctionName="echo", StatementId="acct", Action="lambda:*", Principal="123456789012"
        )
    assert error_code(e) == "ResourceConflictException"

    policy = json.loads(lam.get_policy(FunctionName="echo")["Policy"])
    assert policy["Version"] == "2012-10-17"
    assert [s["Sid"] for s in policy["Statement"]] == ["apigw", "acct"]

    lam.remove_permission(FunctionName="echo", StatementId="apigw")
    policy = json.loads(lam.get_policy(FunctionName="echo")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["acct"]
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName="echo", StatementId="apigw")
    assert error_code(e) == "ResourceNotFoundException"


def test_permission_on_an_alias(lam, echo_fn):
    lam.create_alias(FunctionName="echo", Name="live", FunctionVersion="$LATEST")
    added = lam.add_permission(
        FunctionName="echo",
        Qualifier="live",
        StatementId="s1",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )
    assert json.loads(added["Statement"])["Resource"] == f"{ARN}:live"
    policy = json.loads(lam.get_policy(FunctionName="echo", Qualifier="live")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s1"]
    with pytest.raises(ClientError):
        lam.get_policy(FunctionName="echo")
