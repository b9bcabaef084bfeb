"""Support for the data-plane end-to-end tests (test_dataplane_*.py).

- `backend`: a module-scoped HTTP backend (ThreadingHTTPServer on 127.0.0.1, ephemeral
  port, background thread) that echoes every request as JSON, with special routes
  `/status/{code}`, `/slow/{ms}` and `/big`.
- `RestApi`: builds REST APIs through boto3 (MOCK, HTTP_PROXY and HTTP methods) and
  deploys them.
- `invoke_url` / `host_style`: the three addresses of a deployed stage.
- `call`, `poll`, `wait_for`: raw HTTP with `requests`, and polling helpers. A stage
  serves within ~1 s after CreateDeployment / UpdateStage, so tests poll (3 s by
  default) for the expected answer instead of sleeping fixed times.

Everything here follows Amazon API Gateway's behaviour, not Tollgate's implementation.
"""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

# ---------------------------------------------------------------------------
# The HTTP backend
# ---------------------------------------------------------------------------

BIG_BODY = ("0123456789abcdef" * 65536).encode()  # exactly 1 MiB
assert len(BIG_BODY) == 1024 * 1024


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TollgateTestBackend/1.0"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
    # peer's delayed ACK stalls every keep-alive response by ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, BrokenPipeError, TimeoutError, OSError):
            # The gateway may give up on a slow answer and close the connection.
            self.close_connection = True

    # -- request parsing -----------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                if not line:
                    break
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers up to the empty line
                        trailer = self.rfile.readline()
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after the chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _header_dict(self) -> dict:
        out: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            out[key] = f"{out[key]}, {value}" if key in out else value
        return out

    # -- answering -------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              extra_headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        self.send_header("Content-Length", "0" if status in (204, 304) else str(len(body)))
        self.end_headers()
        if not no_body:
            self.wfile.write(body)
        self.wfile.flush()

    def _dispatch(self) -> None:
        body = self._read_body()
        raw_path = self.path
        if raw_path.startswith("http://") or raw_path.startswith("https://"):
            # absolute-form request target
            raw_path = "/" + raw_path.split("/", 3)[3] if raw_path.count("/") >= 3 else "/"
        path, _, query = raw_path.partition("?")
        info = {
            "method": self.command,
            "path": path,
            "query": query,
            "headers": self._header_dict(),
            "body": body.decode("utf-8", "replace"),
            "body_length": len(body),
        }
        self.server.received.append(info)

        m = re.fullmatch(r"/status/(\d{3})", path)
        if m:
            code = int(m.group(1))
            small = {k: info[k] for k in ("method", "path", "query", "body_length")}
            small["status"] = code
            self._send(code, json.dumps(small).encode(), extra_headers={"X-Backend": "yes"})
            return
        m = re.fullmatch(r"/slow/(\d+)", path)
        if m:
            time.sleep(int(m.group(1)) / 1000.0)
            self._send(200, json.dumps(info).encode())
            return
        if path == "/big":
            self._send(200, BIG_BODY, content_type="text/plain")
            return
        self._send(200, json.dumps(info).encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class _BackendServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.received: list[dict] = []

    def handle_error(self, request, client_address):  # keep test output clean
        pass


@dataclass
class Backend:
    server: _BackendServer
    port: int
    received: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def backend():
    """An echo backend on 127.0.0.1:<ephemeral>, shut down at the end of the module.

    Any path: answers 200 with JSON {method, path, query (raw), headers (lowercased,
    repeated ones joined by ', '), body (text), body_length}.
    /status/{code}: answers that status, header `X-Backend: yes`, JSON
    {status, method, path, query, body_length}.
    /slow/{ms}: sleeps, then echoes.
    /big: 1 MiB text/plain body (BIG_BODY).
    """
    server = _BackendServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield Backend(server=server, port=server.server_address[1], received=server.received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------
# Building and deploying REST APIs
# ---------------------------------------------------------------------------

_PARAM_RE = re.compile(r"\{([^}+]+)\+?\}")


def path_params_of(resource_path: str) -> list[str]:
    """`/a/{id}/{proxy+}` -> ['id', 'proxy']."""
    return _PARAM_RE.findall(resource_path)


class RestApi:
    """A REST API under construction.

    Resources are created on demand from their full path ("/pets/{id}"). Every method
    uses authorizationType NONE.
    """

    def __init__(self, apigw, name: str = "dataplane"):
        self.apigw = apigw
        created = apigw.create_rest_api(name=name)
        self.id: str = created["id"]
        self.root_id: str = created["rootResourceId"]
        self._resources: dict[str, str] = {"/": self.root_id}

    # -- resources and methods --------------------------------------------------------

    def resource(self, path: str) -> str:
        path = "/" + path.strip("/") if path.strip("/") else "/"
        if path in self._resources:
            return self._resources[path]
        parent_path, _, part = path.rpartition("/")
        parent_id = self.resource(parent_path or "/")
        res = self.apigw.create_resource(restApiId=self.id, parentId=parent_id, pathPart=part)
        self._resources[path] = res["id"]
        return res["id"]

    def _method(self, path: str, http_method: str, method_parameters: dict | None) -> dict:
        rid = self.resource(path)
        params = {f"method.request.path.{p}": True for p in path_params_of(path)}
        params.update(method_parameters or {})
        kwargs = {"requestParameters": params} if params else {}
        self.apigw.put_method(restApiId=self.id, resourceId=rid, httpMethod=http_method,
                              authorizationType="NONE", **kwargs)
        return {"restApiId": self.id, "resourceId": rid, "httpMethod": http_method}

    def mock(self, path: str, http_method: str = "GET", body: str = '{"ok": true}', *,
             request_template: str = '{"statusCode": 200}', response_parameters: dict | None = None,
             extra_responses: list[dict] | None = None) -> dict:
        """A MOCK method whose default (200) integration response has the static template
        `body`. `extra_responses`: [{"status": "500", "pattern": "5\\d{2}", "body": "...",
        "parameters": {...}}]."""
        key = self._method(path, http_method, None)
        self.apigw.put_integration(**key, type="MOCK",
                                   requestTemplates={"application/json": request_template})
        responses = [{"status": "200", "pattern": None, "body": body, "parameters": response_parameters}]
        responses += extra_responses or []
        for spec in responses:
            self._response(key, spec["status"], spec.get("pattern"), spec.get("parameters"),
                           {"application/json": spec["body"]} if spec.get("body") is not None else None)
        return key

    def http_proxy(self, path: str, uri: str, http_method: str = "ANY", *, integration_method: str = "ANY",
                   request_parameters: dict | None = None, timeout_ms: int | None = None) -> dict:
        """An HTTP_PROXY method. `{name}` placeholders of `uri` that are path parameters of
        the resource are mapped from `method.request.path.name` (what the console does)."""
        key = self._method(path, http_method, None)
        params = {}
        for p in path_params_of(path):
            if "{" + p + "}" in uri:
                params[f"integration.request.path.{p}"] = f"method.request.path.{p}"
        params.update(request_parameters or {})
        kwargs = {"requestParameters": params} if params else {}
        if timeout_ms is not None:
            kwargs["timeoutInMillis"] = timeout_ms
        self.apigw.put_integration(**key, type="HTTP_PROXY", integrationHttpMethod=integration_method,
                                   uri=uri, **kwargs)
        return key

    def http(self, path: str, uri: str, http_method: str = "GET", *, integration_method: str = "GET",
             method_parameters: dict | None = None, request_parameters: dict | None = None,
             responses: list[dict] | None = None, timeout_ms: int | None = None) -> dict:
        """An HTTP (non-proxy) method. `responses`: [{"status": "200", "pattern": None,
        "parameters": {...}, "body": <static template or None>}]; default: one default 200
        passthrough response."""
        key = self._method(path, http_method, method_parameters)
        kwargs = {"requestParameters": request_parameters} if request_parameters else {}
        if timeout_ms is not None:
            kwargs["timeoutInMillis"] = timeout_ms
        self.apigw.put_integration(**key, type="HTTP", integrationHttpMethod=integration_method, uri=uri,
                                   **kwargs)
        for spec in responses if responses is not None else [{"status": "200"}]:
            self._response(key, spec["status"], spec.get("pattern"), spec.get("parameters"),
                           {"application/json": spec["body"]} if spec.get("body") is not None else None)
        return key

    def _response(self, key: dict, status: str, pattern: str | None, parameters: dict | None,
                  templates: dict | None) -> None:
        mr = {"responseParameters": {k: False for k in parameters}} if parameters else {}
        self.apigw.put_method_response(**key, statusCode=status, **mr)
        ir: dict = {}
        if pattern is not None:
            ir["selectionPattern"] = pattern
        if parameters:
            ir["responseParameters"] = parameters
        if templates:
            ir["responseTemplates"] = templates
        self.apigw.put_integration_response(**key, statusCode=status, **ir)

    # -- deployments and stages -------------------------------------------------------

    def deploy(self, stage: str | None = "test", **kwargs) -> str:
        if stage is not None:
            kwargs["stageName"] = stage
        return self.apigw.create_deployment(restApiId=self.id, **kwargs)["id"]

    def update_stage(self, stage: str, *ops: dict) -> dict:
        return self.apigw.update_stage(restApiId=self.id, stageName=stage, patchOperations=list(ops))

    def set_mock_body(self, key: dict, body: str, status: str = "200") -> None:
        """Replace the static template of a MOCK method's integration response (the change
        is not served until the next deployment)."""
        self.apigw.update_integration_response(
            **key, statusCode=status,
            patchOperations=[{"op": "replace", "path": "/responseTemplates/application~1json", "value": body}],
        )

    def url(self, endpoint: str, stage: str, path: str = "/", style: str = "user_request") -> str:
        return invoke_url(endpoint, self.id, stage, path, style)


# ---------------------------------------------------------------------------
# Addresses of a deployed stage
# ---------------------------------------------------------------------------


def invoke_url(endpoint: str, api_id: str, stage: str, path: str = "/", style: str = "user_request") -> str:
    """Path-style invoke URL. style: 'user_request' (/restapis/{id}/{stage}/_user_request_/...)
    or 'execute_api' (/_aws/execute-api/{id}/{stage}/...)."""
    rel = path.lstrip("/")
    if style == "user_request":
        return f"{endpoint}/restapis/{api_id}/{stage}/_user_request_/{rel}"
    if style == "execute_api":
        return f"{endpoint}/_aws/execute-api/{api_id}/{stage}/{rel}"
    raise ValueError(style)


def host_style(endpoint: str, api_id: str, stage: str, path: str = "/",
               suffix: str = "localhost") -> tuple[str, dict]:
    """Host-style address: (url, headers) with `Host: {apiId}.execute-api.{suffix}`."""
    rel = path.lstrip("/")
    return f"{endpoint}/{stage}/{rel}", {"Host": f"{api_id}.execute-api.{suffix}"}


# ---------------------------------------------------------------------------
# HTTP calls and polling
# ---------------------------------------------------------------------------


def call(method: str, url: str, headers: dict | None = None, data=None, timeout: float = 10,
         session: requests.Session | None = None) -> requests.Response:
    """One raw HTTP request; never raises for an HTTP status, never follows redirects."""
    sender = session if session is not None else requests
    return sender.request(method, url, headers=headers, data=data, timeout=timeout, allow_redirects=False)


def describe(resp: requests.Response | None) -> str:
    if resp is None:
        return "<no response>"
    return f"HTTP {resp.status_code} headers={dict(resp.headers)} body={resp.text[:600]!r}"


def wait_for(predicate, timeout: float = 3.0, interval: float = 0.05, message: str = "condition"):
    """Call `predicate` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} not met within {timeout}s (last value: {last!r})")
        time.sleep(interval)


def poll(method: str, url: str, until, timeout: float = 3.0, interval: float = 0.05,
         headers: dict | None = None, data=None, request_timeout: float = 10,
         session: requests.Session | None = None) -> requests.Response:
    """Send the request until the response satisfies `until` (an int: that status; a str:
    that exact body; a callable: predicate on the response). Returns that response; fails
    with the last response after `timeout` seconds."""
    if isinstance(until, int):
        expected_status = until
        check = lambda r: r.status_code == expected_status  # noqa: E731
    elif isinstance(until, str):
        expected_body = until
        check = lambda r: r.text == expected_body  # noqa: E731
    else:
        check = until
    deadline = time.monotonic() + timeout
    last, last_exc = None, None
    while True:
        try:
            last = call(method, url, headers=headers, data=data, timeout=request_timeout, session=session)
            last_exc = None
            if check(last):
                return last
        except requests.RequestException as exc:  # server not ready / restarting
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f"exception {last_exc!r}" if last_exc is not None else describe(last)
            raise AssertionError(f"{method} {url} did not give the expected answer within {timeout}s; "
                                 f"last: {detail}")
        time.sleep(interval)


def holds(method: str, url: str, check, duration: float = 1.2, interval: float = 0.1,
          headers: dict | None = None) -> None:
    """Assert that the answer keeps satisfying `check` (int status, str body or predicate)
    for `duration` seconds: used for "not served until the next deployment"."""
    if isinstance(check, int):
        status = check
        check = lambda r: r.status_code == status  # noqa: E731
    elif isinstance(check, str):
        text = check
        check = lambda r: r.text == text  # noqa: E731
    deadline = time.monotonic() + duration
    while True:
        resp = call(method, url, headers=headers)
        assert check(resp), f"{method} {url}: unexpected answer {describe(resp)}"
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


def json_of(resp: requests.Response):
    try:
        return resp.json()
    except ValueError as exc:
        raise AssertionError(f"response body is not JSON: {describe(resp)}") from exc


def count_bodies(url: str, n: int, workers: int = 8, headers: dict | None = None) -> Counter:
    """Send `n` GETs over `workers` keep-alive sessions; count the bodies of 200 answers
    (other answers are counted as 'HTTP <status>' and errors as 'error <type>')."""
    local = threading.local()

    def one(_):
        sess = getattr(local, "session", None)
        if sess is None:
            sess = local.session = requests.Session()
        try:
            r = sess.get(url, headers=headers, timeout=10)
        except requests.RequestException as exc:
            return f"error {type(exc).__name__}"
        return r.text if r.status_code == 200 else f"HTTP {r.status_code}"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return Counter(pool.map(one, range(n)))


MISSING_TOKEN = {"message": "Missing Authentication Token"}
FORBIDDEN = {"message": "Forbidden"}
INTERNAL_ERROR = {"message": "Internal server error"}
TIMED_OUT = {"message": "Endpoint request timed out"}


def not_deployed_message(api_id: str) -> dict:
    return {"message": f"The API id '{api_id}' does not correspond to a deployed API Gateway API"}
