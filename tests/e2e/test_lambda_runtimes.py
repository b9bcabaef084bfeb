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
