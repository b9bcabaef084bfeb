"""Helpers for the HTTP API (`apigatewayv2`) end-to-end tests: a boto3 client, addresses of
HTTP API stages (host style and path style, with and without a stage segment), and a Python
function that echoes its event or answers in the ways the tests need."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from helpers import REGION
from lambda_support import lambda_client, make_zip, ROLE, ACCOUNT  # noqa: F401

# A function that shows what HTTP APIs send it and answers as the path asks.
FUNCTION_SOURCE = '''
import json
import time

def handler(event, context):
    path = event.get("rawPath") or event.get("path") or ""
    if path.endswith("/infer"):
        return {"hello": "world"}
    if path.endswith("/string"):
        return "plain text"
    if path.endswith("/cookies"):
        return {"statusCode": 201, "cookies": ["a=1", "b=2; Secure"],
                "headers": {"x-fn": "yes", "content-type": "text/plain"}, "body": "made"}
    if path.endswith("/fail"):
        raise ValueError("boom")
    if path.endswith("/malformed"):
        return {"statusCode": "not a number"}
    if path.endswith("/sleep"):
        time.sleep(3)
        return {"slept": True}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
'''


def v2_client(endpoint: str):
    return boto3.client(
        "apigatewayv2",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60),
    )


@pytest.fixture
def v2(endpoint):
    return v2_client(endpoint)


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@pytest.fixture
def echo_function(endpoint):
    """The function above, as `http-echo`; returns its ARN."""
    lam = lambda_client(endpoint)
    lam.create_function(
        FunctionName="http-echo",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": FUNCTION_SOURCE})},
        Timeout=10,
    )
    return function_arn("http-echo")


def host_url(endpoint: str, api_id: str, path: str = "/") -> tuple[str, dict]:
    """Host style: `{endpoint}{path}` with `Host: {apiId}.execute-api.localhost`; `path`
    includes the stage segment for a named stage, and none for `$default`."""
    return endpoint + path, {"Host": f"{api_id}.execute-api.localhost"}


def path_url(endpoint: str, api_id: str, path: str = "/") -> str:
    """Path style: `/_aws/execute-api/{apiId}{path}`."""
    return f"{endpoint}/_aws/execute-api/{api_id}{path}"
