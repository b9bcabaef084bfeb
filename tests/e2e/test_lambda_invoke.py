"""Invoke: synchronous, asynchronous (Event) and DryRun; errors, logs, throttling, hot reload
and the AWS CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time

import pytest
from botocore.exceptions import ClientError

from helpers import REGION, cli_env, find_aws_cli
from lambda_support import (  # noqa: F401  (fixtures)
    ROLE,
    create_function,
    echo_fn,
    echo_source,
    error_code,
    invoke_json,
    lam,
    status_of,
    wait_for,
)


def test_request_response_round_trip(lam, echo_fn):
    event = {"name": "world", "nested": {"list": [1, 2, 3]}, "unicode": "héllo"}
    resp, body = invoke_json(lam, "echo", event)
    assert resp["StatusCode"] == 200
    assert "FunctionError" not in resp
    assert resp["ExecutedVersion"] == "$LATEST"
    assert body["event"] == event
    assert body["greeting"] == "hello"
    assert "LogResult" not in resp


def test_empty_payload_is_an_empty_event(lam, echo_fn):
    resp = lam.invoke(FunctionName="echo")
    assert json.loads(resp["Payload"].read())["event"] == {}


def test_function_error_is_unhandled(lam, echo_fn):
    resp, body = invoke_json(lam, "echo", {"fail": "boom"})
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorMessage"] == "boom"
    assert body["errorType"] == "ValueError"


def test_log_type_tail_returns_the_log(lam, echo_fn):
    resp, _ = invoke_json(lam, "echo", {"x": 1}, LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "START RequestId:" in log
    assert "END RequestId:" in log
    assert "REPORT RequestId:" in log
    assert 'handling {"x": 1}' in log


def test_event_invocation_runs_in_the_background(lam, echo_fn, tmp_path):
    target = tmp_path / "side-effect.txt"
    resp = lam.invoke(
        FunctionName="echo",
        InvocationType="Event",
        Payload=json.dumps({"write_to": str(target), "line": "async"}).encode(),
    )
    assert resp["StatusCode"] == 202
    assert resp["Payload"].read() == b""
    wait_for(lambda: target.exists() and target.read_text().strip())
    assert target.read_text().splitlines() == ['"async"']


def test_failed_event_is_retried_twice(lam, echo_fn, tmp_path):
    target = tmp_path / "attempts.txt"
    resp = lam.invoke(
        FunctionName="echo",
        InvocationType="Event",
        Payload=json.dumps({"write_to": str(target), "fail": "again"}).encode(),
    )
    assert resp["StatusCode"] == 202
    # Lambda retries a failing asynchronous invocation twice: three attempts in all.
    wait_for(lambda: target.exists() and len(target.read_text().splitlines()) >= 3, timeout=20)
    # ... and no more.
    time.sleep(3.5)
    assert len(target.read_text().splitlines()) == 3


def test_dry_run_is_204(lam, echo_fn):
    resp = lam.invoke(FunctionName="echo", InvocationType="DryRun")
    assert resp["StatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="nope", InvocationType="DryRun")
    assert error_code(e) == "ResourceNotFoundException"


def test_invalid_json_payload_is_rejected(lam, echo_fn):
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="echo", Payload=b"{not json")
    assert error_code(e) == "InvalidRequestContentException"
    assert status_of(e) == 400


def test_payload_over_6mb_is_413(lam, echo_fn):
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="echo", Payload=json.dumps({"x": "a" * (6 * 1024 * 1024)}).encode())
    assert error_code(e) == "RequestTooLargeException"
    assert status_of(e) == 413


def test_reserved_concurrency_zero_throttles(lam, echo_fn):
    resp = lam.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=0)
    assert resp["ReservedConcurrentExecutions"] == 0
    assert lam.get_function_concurrency(FunctionName="echo")["ReservedConcurrentExecutions"] == 0
    assert lam.get_function(FunctionName="echo")["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="echo", Payload=b"{}")
    assert error_code(e) == "TooManyRequestsException"
    assert status_of(e) == 429
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert e.value.response["Error"]["Message"] == "Rate Exceeded."

    lam.delete_function_concurrency(FunctionName="echo")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="echo")
    resp, _ = invoke_json(lam, "echo", {})
    assert resp["StatusCode"] == 200


def test_reserved_concurrency_cannot_exhaust_the_account(lam, echo_fn):
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=950)
    assert error_code(e) == "InvalidParameterValueException"


def test_hot_reload_runs_code_from_a_directory(lam, tmp_path):
    (tmp_path / "app.py").write_text(echo_source("from-dir"))
    created = lam.create_function(
        FunctionName="hot",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"S3Bucket": "hot-reload", "S3Key": str(tmp_path)},
    )
    assert created["State"] == "Active"
    _, body = invoke_json(lam, "hot", {"a": 1})
    assert body["tag"] == "from-dir"
    assert body["event"] == {"a": 1}

    # Pointing the function at another directory takes effect at once.
    other = tmp_path / "other"
    other.mkdir()
    (other / "app.py").write_text(echo_source("other-dir"))
    lam.update_function_code(FunctionName="hot", S3Bucket="hot-reload", S3Key=str(other))
    assert invoke_json(lam, "hot", {})[1]["tag"] == "other-dir"


def test_hot_reload_needs_an_existing_directory(lam):
    with pytest.raises(ClientError) as e:
        lam.create_function(
            FunctionName="hot",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"S3Bucket": "hot-reload", "S3Key": "/does/not/exist"},
        )
    assert error_code(e) == "InvalidParameterValueException"


def test_aws_cli_invoke(endpoint, lam, echo_fn):
    aws = find_aws_cli()
    if aws is None:
        pytest.skip("aws CLI not installed")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        proc = subprocess.run(
            [
                aws, "--endpoint-url", endpoint, "--region", REGION, "lambda", "invoke",
                "--function-name", "echo",
                "--cli-binary-format", "raw-in-base64-out",
                "--payload", '{"from": "cli"}',
                "--log-type", "Tail",
                out,
            ],
            env=cli_env(), capture_output=True, text=True, timeout=120,
        )
        if proc.returncode != 0 and "cli-binary-format" in proc.stderr:
            # AWS CLI v1 has no --cli-binary-format and sends --payload as given.
            proc = subprocess.run(
                [
                    aws, "--endpoint-url", endpoint, "--region", REGION, "lambda", "invoke",
                    "--function-name", "echo", "--payload", '{"from": "cli"}',
                    "--log-type", "Tail", out,
                ],
                env=cli_env(), capture_output=True, text=True, timeout=120,
            )
        assert proc.returncode == 0, proc.stderr
        meta = json.loads(proc.stdout)
        assert meta["StatusCode"] == 200
        assert meta["ExecutedVersion"] == "$LATEST"
        assert "START RequestId" in base64.b64decode(meta["LogResult"]).decode()
        with open(out) as f:
            assert json.load(f)["event"] == {"from": "cli"}
