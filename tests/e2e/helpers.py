"""Shared helpers for the Tollgate end-to-end suite.

Everything here is written against Amazon API Gateway's documented/observed
behaviour, not against Tollgate's implementation.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"

# A REST API id is 10 lowercase alphanumerics, e.g. "te6si5ach7".
API_ID_RE = re.compile(r"^[a-z0-9]{10}$")

# Real AWS (2018+) answers "Invalid API identifier specified 123456789012:abc"
# (recorded by LocalStack's AWS-validated snapshots, tests/aws/services/
# apigateway/test_apigateway_api.snapshot.json); older AWS answered
# "Invalid REST API identifier specified" (aws/aws-cli#2534). Accept both.
UNKNOWN_API_MESSAGE_RE = re.compile(r"Invalid (REST )?API identifier specified")


def tollgate_bin() -> Path:
    return Path(os.environ.get("TOLLGATE_BIN", str(REPO_ROOT / "target" / "debug" / "tollgate")))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """One `tollgate serve` process on its own port and data dir."""

    def __init__(
        self,
        data_dir: str,
        dev: bool = True,
        port: int | None = None,
        listen_host: str = "127.0.0.1",
        env: dict | None = None,
        tls: tuple[str, str] | None = None,
    ):
        """`tls`: (certificate, key) PEM files; the server then speaks HTTPS, and readiness
        is checked trusting that certificate."""
        self.data_dir = data_dir
        self.tls = tls
        self.dev = dev
        self.port = port
        self.listen_host = listen_host
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> "ServerProcess":
        binary = tollgate_bin()
        if not binary.exists():
            pytest.fail(
                f"tollgate binary not found at {binary}; build it (cargo build) "
                "or point TOLLGATE_BIN at it",
                pytrace=False,
            )
        # A fresh port on every start: a restarted server must not depend on the
        # old socket being released.
        self.port = free_port()
        cmd = [str(binary), "serve"]
        if self.dev:
            cmd.append("--dev")
        cmd += ["--listen", f"{self.listen_host}:{self.port}", "--data-dir", self.data_dir]
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        self._log = tempfile.TemporaryFile(mode="w+b")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=None if self.env is None else {**os.environ, **self.env},
        )
        self._wait_ready(timeout)
        return self

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        data = self._log.read().decode("utf-8", "replace")
        self._log.seek(0, os.SEEK_END)
        return data

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"tollgate exited with code {self.proc.returncode} before answering; "
                    f"output:\n{self.output()[-4000:]}",
                    pytrace=False,
                )
            try:
                requests.get(self.url + "/account", timeout=1, verify=self.tls[0] if self.tls else True)
                return
            except requests.RequestException:
                time.sleep(0.1)
        out = self.output()
        self.stop()
        pytest.fail(
            f"tollgate did not answer GET /account within {timeout}s; output:\n{out[-4000:]}",
            pytrace=False,
        )

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        return self.proc.returncode

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=5)

    def client(self):
        return make_client(self.url)


def make_client(endpoint: str):
    return boto3.client(
        "apigateway",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60),
    )


# ---------------------------------------------------------------------------
# AWS CLI
# ---------------------------------------------------------------------------


def find_aws_cli() -> str | None:
    candidate = Path(sys.executable).parent / "aws"
    if candidate.exists() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("aws")


def cli_env() -> dict:
    env = dict(os.environ)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_PAGER": "",
            # Keep any developer config/credentials out of the run.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def run_cli(endpoint: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    aws = find_aws_cli()
    if aws is None:
        pytest.skip("aws CLI not installed")
    cmd = [aws, "--endpoint-url", endpoint, "--region", REGION, "apigateway", *args, "--output", "json"]
    proc = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"aws CLI failed ({proc.returncode}): {' '.join(cmd)}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def cli_json(endpoint: str, *args: str):
    proc = run_cli(endpoint, *args)
    out = proc.stdout.strip()
    return json.loads(out) if out else None


# ---------------------------------------------------------------------------
# Assertions and builders
# ---------------------------------------------------------------------------


def status_of(resp: dict) -> int:
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def assert_error(excinfo, code: str, status: int, message: str | None = None, contains: str | None = None,
                 regex: re.Pattern | None = None) -> str:
    """Check a botocore ClientError caught by pytest.raises."""
    err = excinfo.value.response.get("Error", {})
    meta = excinfo.value.response.get("ResponseMetadata", {})
    got_code = err.get("Code")
    got_status = meta.get("HTTPStatusCode")
    msg = err.get("Message") or excinfo.value.response.get("message") or ""
    assert got_code == code, f"expected error code {code}, got {got_code} (status {got_status}, message {msg!r})"
    assert got_status == status, f"expected HTTP {status}, got {got_status} ({got_code}: {msg!r})"
    assert msg, f"{code} arrived without a message"
    if message is not None:
        assert msg == message, f"message {msg!r} != expected {message!r}"
    if contains is not None:
        assert contains in msg, f"message {msg!r} does not contain {contains!r}"
    if regex is not None:
        assert regex.search(msg), f"message {msg!r} does not match {regex.pattern!r}"
    return msg


def root_id(apigw, api_id: str) -> str:
    for item in apigw.get_resources(restApiId=api_id)["items"]:
        if item["path"] == "/":
            return item["id"]
    raise AssertionError("no root resource")


def put_mock_method(apigw, api_id: str, resource_id: str, http_method: str = "GET") -> None:
    """A method with a MOCK integration, a 200 method response and integration
    response: the minimum a deployment needs."""
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=http_method, authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=http_method,
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_method_response(restApiId=api_id, resourceId=resource_id, httpMethod=http_method, statusCode="200")
    apigw.put_integration_response(
        restApiId=api_id, resourceId=resource_id, httpMethod=http_method, statusCode="200", selectionPattern=""
    )


def deployable_api(apigw, name: str = "deployable"):
    """Create an API whose root has a MOCK GET. Returns (api_id, root_resource_id)."""
    api = apigw.create_rest_api(name=name)
    put_mock_method(apigw, api["id"], api["rootResourceId"], "GET")
    return api["id"], api["rootResourceId"]


def rest_api_arn(api_id: str) -> str:
    return f"arn:aws:apigateway:{REGION}::/restapis/{api_id}"


def stage_arn(api_id: str, stage: str) -> str:
    return f"arn:aws:apigateway:{REGION}::/restapis/{api_id}/stages/{stage}"
