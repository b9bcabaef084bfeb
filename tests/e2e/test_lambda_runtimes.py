"""Functions built with the official runtime clients, run by Tollgate unchanged.

- Rust: tests/fixtures/rust-fn, built here with AWS's `lambda_runtime` crate and deployed as the
  `bootstrap` of a `provided.al2023` function.
- Node: a CommonJS handler through the bootstrap Tollgate ships.
"""

import io
import os
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from lambda_support import ROLE, lam  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "rust-fn"


@pytest.fixture(scope="module")
def rust_bootstrap() -> bytes:
    target = REPO / "target" / "fixtures"
    subprocess.run(
        ["cargo", "build", "--quiet", "--manifest-path", str(FIXTURE / "Cargo.toml"), "--target-dir", str(target)],
        check=True,
    )
    return (target / "debug" / "tollgate-fixture-rust-fn").read_bytes()


def zip_with(name: str, data: bytes, executable: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(name)
        if executable:
            info.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(info, data)
    return buf.getvalue()


def test_rust_lambda_runtime_function(lam, rust_bootstrap):  # noqa: F811
    lam.create_function(FunctionName="rusty", Runtime="provided.al2023", Role=ROLE, Handler="bootstrap",
                        Code={"ZipFile": zip_with("bootstrap", rust_bootstrap, executable=True)}, Timeout=10)
    first = lam.invoke(FunctionName="rusty", Payload=b'{"hello": "rust"}')
    body = __import__("json").loads(first["Payload"].read())
    assert body["echo"] == {"hello": "rust"}
    assert body["function"] == "rusty"
    assert body["invocation"] == 1
    second = __import__("json").loads(lam.invoke(FunctionName="rusty", Payload=b"{}")["Payload"].read())
    assert second["invocation"] == 2, "the warm instance was reused"
    failed = lam.invoke(FunctionName="rusty", Payload=b'{"fail": true}')
    assert failed["FunctionError"] == "Unhandled"
    assert "asked to fail" in failed["Payload"].read().decode()


def test_node_function(lam):  # noqa: F811
    source = b"exports.handler = async (event, context) => ({ node: process.version, got: event, fn: context.functionName });"
    lam.create_function(FunctionName="nodey", Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": zip_with("index.js", source)})
    out = __import__("json").loads(lam.invoke(FunctionName="nodey", Payload=b'{"a": 1}')["Payload"].read())
    assert out["got"] == {"a": 1}
    assert out["fn"] == "nodey"
    assert out["node"].startswith("v")


def test_functions_run_with_a_relative_data_dir(tmp_path):
    """The README's quickstart runs `tollgate serve` with the default `./.tollgate`."""
    import signal
    import time

    import boto3
    import requests

    from helpers import free_port, tollgate_bin

    port = free_port()
    proc = subprocess.Popen([str(tollgate_bin()), "serve", "--listen", f"127.0.0.1:{port}"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(url + "/account", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        client = boto3.client("lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                              aws_secret_access_key="test")
        source = b"def handler(event, context):\n    return {'ok': True}\n"
        client.create_function(FunctionName="rel", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                               Code={"ZipFile": zip_with("app.py", source)})
        out = client.invoke(FunctionName="rel", Payload=b"{}")
        assert "FunctionError" not in out, out["Payload"].read()
        assert (tmp_path / ".tollgate" / "tollgate.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
