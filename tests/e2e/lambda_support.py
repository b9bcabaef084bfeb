"""Fixtures and helpers for the `lambda` end-to-end tests.

Test modules import what they use (`from lambda_support import lam, ...`); the fixtures then
work as if they were defined in the module. Written against AWS Lambda's documented and
observed behaviour.
"""

from __future__ import annotations

import io
import json
import time
import zipfile

import boto3
import pytest
from botocore.config import Config

from helpers import REGION

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ACCOUNT = "000000000000"

# A handler that echoes its event and an environment variable, and can be told to fail, to
# sleep, or to write a file (for asynchronous invocations, whose result nobody sees).
ECHO_APP = '''
import json
import os
import time

def handler(event, context):
    print("handling", json.dumps(event))
    if isinstance(event, dict):
        if event.get("write_to"):
            with open(event["write_to"], "a") as f:
                f.write(json.dumps(event.get("line", "ran")) + "\\n")
        if event.get("fail"):
            raise ValueError(event["fail"])
        if event.get("sleep"):
            time.sleep(event["sleep"])
    return {
        "event": event,
        "greeting": os.environ.get("GREETING"),
        "version": context.function_version,
        "tag": TAG,
    }
'''


def echo_source(tag: str = "v1") -> str:
    return f"TAG = {tag!r}\n" + ECHO_APP


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def echo_zip(tag: str = "v1") -> bytes:
    return make_zip({"app.py": echo_source(tag)})


def lambda_client(endpoint: str):
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60),
    )


@pytest.fixture
def lam(endpoint):
    return lambda_client(endpoint)


def create_function(lam, name: str = "echo", tag: str = "v1", **kwargs):
    params = {
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": echo_zip(tag)},
        "Environment": {"Variables": {"GREETING": "hello"}},
    }
    params.update(kwargs)
    return lam.create_function(**params)


@pytest.fixture
def echo_fn(lam):
    """A Python function `echo` (handler app.handler) that returns its event."""
    return create_function(lam)


def invoke_json(lam, name: str, event, **kwargs):
    """Invokes synchronously; returns (response, decoded payload)."""
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
    body = resp["Payload"].read()
    return resp, json.loads(body) if body else None


def error_code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def status_of(exc_info) -> int:
    return exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1):
    """Polls until `predicate()` is truthy; returns its value or fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")
