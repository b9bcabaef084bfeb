"""Lambda functions: create, read, list, update, delete, and the errors Lambda gives."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import tempfile
import zipfile

import pytest
import requests
from botocore.exceptions import ClientError

from lambda_support import (  # noqa: F401  (fixtures)
    ACCOUNT,
    ROLE,
    create_function,
    echo_fn,
    echo_zip,
    error_code,
    invoke_json,
    lam,
    lambda_client,
    status_of,
)

LAST_MODIFIED_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def test_create_function_returns_its_configuration(lam):
    code = echo_zip()
    resp = create_function(lam, "created", Code={"ZipFile": code}, Description="d")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert resp["FunctionName"] == "created"
    assert resp["FunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:created"
    assert resp["Runtime"] == "python3.12"
    assert resp["Role"] == ROLE
    assert resp["Handler"] == "app.handler"
    assert resp["Description"] == "d"
    assert resp["Timeout"] == 3
    assert resp["MemorySize"] == 128
    assert resp["Version"] == "$LATEST"
    assert resp["CodeSize"] == len(code)
    assert resp["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert LAST_MODIFIED_RE.match(resp["LastModified"]), resp["LastModified"]
    assert resp["Environment"] == {"Variables": {"GREETING": "hello"}}
    assert resp["State"] == "Active"
    assert resp["LastUpdateStatus"] == "Successful"
    assert resp["PackageType"] == "Zip"
    assert resp["Architectures"] == ["x86_64"]
    assert resp["RevisionId"]


def test_get_function_and_configuration(lam, echo_fn):
    got = lam.get_function(FunctionName="echo")
    assert got["Configuration"]["FunctionName"] == "echo"
    assert got["Configuration"]["CodeSha256"] == echo_fn["CodeSha256"]
    assert got["Code"]["RepositoryType"] == "S3"
    # The location serves the zip that was uploaded.
    downloaded = requests.get(got["Code"]["Location"], timeout=10)
    assert downloaded.status_code == 200
    with zipfile.ZipFile(io.BytesIO(downloaded.content)) as zf:
        assert "app.py" in zf.namelist()

    config = lam.get_function_configuration(FunctionName="echo")
    assert config["FunctionArn"] == echo_fn["FunctionArn"]
    # Every form of the name works: ARN and partial ARN.
    by_arn = lam.get_function_configuration(FunctionName=echo_fn["FunctionArn"])
    assert by_arn["FunctionName"] == "echo"
    partial = lam.get_function_configuration(FunctionName=f"{ACCOUNT}:function:echo")
    assert partial["FunctionName"] == "echo"


def test_list_functions_pages_with_markers(lam):
    for i in range(5):
        create_function(lam, f"fn-{i}")
    names = []
    marker = None
    pages = 0
    while True:
        kwargs = {"MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = lam.list_functions(**kwargs)
        pages += 1
        names += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert pages == 3
    assert names == [f"fn-{i}" for i in range(5)]
    # The paginator walks the same pages.
    paginated = [
        f["FunctionName"]
        for p in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
        for f in p["Functions"]
    ]
    assert paginated == names


def test_update_configuration_takes_effect(lam, echo_fn):
    updated = lam.update_function_configuration(
        FunctionName="echo",
        Environment={"Variables": {"GREETING": "bonjour"}},
        Timeout=30,
        MemorySize=256,
        Description="new",
    )
    assert updated["Timeout"] == 30
    assert updated["MemorySize"] == 256
    assert updated["Description"] == "new"
    assert updated["RevisionId"] != echo_fn["RevisionId"]
    _, body = invoke_json(lam, "echo", {})
    assert body["greeting"] == "bonjour"
    config = lam.get_function_configuration(FunctionName="echo")
    assert config["Environment"]["Variables"] == {"GREETING": "bonjour"}


def test_update_handler_takes_effect(lam):
    create_function(
        lam,
        "two-handlers",
        Code={
            "ZipFile": _zip(
                {"a.py": "def handler(e, c):\n    return 'a'\n", "b.py": "def handler(e, c):\n    return 'b'\n"}
            )
        },
        Handler="a.handler",
    )
    assert invoke_json(lam, "two-handlers", {})[1] == "a"
    lam.update_function_configuration(FunctionName="two-handlers", Handler="b.handler")
    assert invoke_json(lam, "two-handlers", {})[1] == "b"


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def test_update_code_takes_effect(lam, echo_fn):
    assert invoke_json(lam, "echo", {})[1]["tag"] == "v1"
    code = echo_zip("v2")
    updated = lam.update_function_code(FunctionName="echo", ZipFile=code)
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert updated["CodeSha256"] != echo_fn["CodeSha256"]
    assert invoke_json(lam, "echo", {})[1]["tag"] == "v2"


def test_stale_revision_id_is_a_precondition_failure(lam, echo_fn):
    lam.update_function_configuration(FunctionName="echo", Timeout=5)
    with pytest.raises(ClientError) as e:
        lam.update_function_configuration(
            FunctionName="echo", Timeout=6, RevisionId=echo_fn["RevisionId"]
        )
    assert error_code(e) == "PreconditionFailedException"
    assert status_of(e) == 412


def test_delete_function(lam, echo_fn):
    resp = lam.delete_function(FunctionName="echo")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] in (200, 204)
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="echo")
    assert error_code(e) == "ResourceNotFoundException"
    assert lam.list_functions()["Functions"] == []
    # The name is free again.
    create_function(lam, "echo")


def test_unknown_function_is_404(lam):
    with pytest.raises(ClientError) as e:
        lam.get_function(FunctionName="missing")
    assert error_code(e) == "ResourceNotFoundException"
    assert status_of(e) == 404
    assert e.value.response["Error"]["Message"] == (
        f"Function not found: arn:aws:lambda:us-east-1:{ACCOUNT}:function:missing"
    )
    for call in (
        lambda: lam.invoke(FunctionName="missing"),
        lambda: lam.delete_function(FunctionName="missing"),
        lambda: lam.update_function_configuration(FunctionName="missing", Timeout=5),
    ):
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            call()


def test_duplicate_function_is_409(lam, echo_fn):
    with pytest.raises(ClientError) as e:
        create_function(lam, "echo")
    assert error_code(e) == "ResourceConflictException"
    assert status_of(e) == 409
    assert e.value.response["Error"]["Message"] == "Function already exist: echo"


@pytest.mark.parametrize(
    "overrides, code",
    [
        ({"Runtime": "python9.9"}, "InvalidParameterValueException"),
        ({"Timeout": 901}, "ValidationException"),
        ({"MemorySize": 20000}, "ValidationException"),
        ({"FunctionName": "bad name!"}, "ValidationException"),
        ({"Role": "not-a-role"}, "ValidationException"),
        ({"Code": {"ZipFile": b"this is not a zip"}}, "InvalidParameterValueException"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException"),
    ],
)
def test_invalid_parameters_are_400(lam, overrides, code):
    overrides = dict(overrides)
    name = overrides.pop("FunctionName", "invalid")
    with pytest.raises(ClientError) as e:
        create_function(lam, name, **overrides)
    assert error_code(e) == code
    assert status_of(e) == 400
    assert lam.list_functions()["Functions"] == []


def test_missing_handler_is_invalid(lam):
    with pytest.raises(ClientError) as e:
        lam.create_function(
            FunctionName="nohandler", Role=ROLE, Runtime="python3.12", Code={"ZipFile": echo_zip()}
        )
    assert error_code(e) == "InvalidParameterValueException"


def test_function_persists_across_restart(spawn_server):
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-lambda-")
    try:
        first = spawn_server(data_dir)
        client = lambda_client(first.url)
        create_function(client, "kept")
        client.publish_version(FunctionName="kept")
        first.stop()
        second = spawn_server(data_dir)
        client = lambda_client(second.url)
        _, body = invoke_json(client, "kept", {"k": 1})
        assert body["event"] == {"k": 1}
        _, body = invoke_json(client, "kept", {}, Qualifier="1")
        assert body["version"] == "1"
        second.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
