"""Fixtures for the Tollgate end-to-end suite.

The session starts the real binary once:

    $TOLLGATE_BIN serve --dev --listen 127.0.0.1:PORT --data-dir TMPDIR

(TOLLGATE_BIN defaults to <repo>/target/debug/tollgate), waits for it to answer
GET /account, and wipes its state through the dev-only POST /_tollgate/reset
before every test so tests are independent.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import requests

from helpers import ServerProcess, cli_json, make_client, run_cli

# Never route the loopback traffic through a proxy from the environment.
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(filter(None, [os.environ.get(_var, ""), "127.0.0.1", "localhost"]))


@pytest.fixture(scope="session")
def server():
    data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-")
    srv = ServerProcess(data_dir, dev=True)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def endpoint(server) -> str:
    return server.url


@pytest.fixture(scope="session")
def apigw(endpoint):
    return make_client(endpoint)


@pytest.fixture(autouse=True)
def _reset_state(request):
    """Wipe all state before each test (dev-only endpoint)."""
    if "no_reset" in request.keywords:
        yield
        return
    endpoint = request.getfixturevalue("endpoint")
    resp = requests.post(endpoint + "/_tollgate/reset", timeout=10)
    assert resp.status_code < 300, f"POST /_tollgate/reset answered {resp.status_code}: {resp.text[:500]}"
    yield


@pytest.fixture
def aws_cli(endpoint):
    """Run `aws apigateway ...` against the server and return parsed JSON."""

    def _run(*args: str):
        return cli_json(endpoint, *args)

    _run.raw = lambda *args, check=False: run_cli(endpoint, *args, check=check)
    return _run


@pytest.fixture
def spawn_server():
    """Factory for extra servers with their own data dirs; all are stopped and
    their dirs removed at the end of the test."""
    servers: list[ServerProcess] = []
    dirs: list[str] = []

    def _spawn(
        data_dir: str | None = None, dev: bool = True, env: dict | None = None
    ) -> ServerProcess:
        if data_dir is None:
            data_dir = tempfile.mkdtemp(prefix="tollgate-e2e-extra-")
            dirs.append(data_dir)
        srv = ServerProcess(data_dir, dev=dev, env=env)
        servers.append(srv)
        return srv.start()

    yield _spawn
    for srv in servers:
        srv.stop()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def api(apigw):
    """A fresh REST API; returns the CreateRestApi response."""
    return apigw.create_rest_api(name="fixture-api", description="created by a fixture")


def pytest_configure(config):
    config.addinivalue_line("markers", "no_reset: do not POST /_tollgate/reset before this test")
