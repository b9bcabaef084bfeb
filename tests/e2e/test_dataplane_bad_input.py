"""Data plane: bad input from clients and from backends, and TLS to backends.

What is checked is that the gateway answers cleanly (a 4xx/5xx in API Gateway's shape, never
a hang or a dropped server) and keeps serving others afterwards:
- a request with both Content-Length and Transfer-Encoding (a smuggling attempt) is refused;
- invalid percent-encoding in the path does not break routing;
- a backend that answers garbage, or closes in the middle of its body, gives 500;
- an HTTPS backend with a self-signed certificate fails verification (500) unless the
  integration sets `tlsConfig.insecureSkipVerification`.
"""

import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest

from dataplane_support import RestApi, backend, call, poll  # noqa: F401 - fixture


def raw_request(endpoint: str, payload: bytes) -> bytes:
    url = urlparse(endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
    return b"".join(chunks)


class _RawBackend:
    """A TCP server that answers every connection with fixed bytes, then closes."""

    def __init__(self, answer: bytes):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.answer)

    def close(self):
        self.sock.close()


@pytest.fixture
def deployed_mock(apigw, endpoint):
    api = RestApi(apigw)
    api.mock("/ok")
    api.deploy("test")
    poll("GET", api.url(endpoint, "test", "/ok"), until=200)
    return api


def test_conflicting_length_and_chunking_is_refused(endpoint, deployed_mock):
    path = f"/restapis/{deployed_mock.id}/test/_user_request_/ok"
    answer = raw_request(
        endpoint,
        (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n").encode(),
    )
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 4"), answer[:200]
    # The gateway still serves others.
    assert call("GET", deployed_mock.url(endpoint, "test", "/ok")).status_code == 200


def test_invalid_percent_encoding_is_answered(endpoint, deployed_mock):
    resp = call("GET", deployed_mock.url(endpoint, "test", "/ok%zz%"))
    assert resp.status_code == 403
    assert resp.json() == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    "answer",
    [
        b"this is not HTTP at all\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it",
    ],
    ids=["garbage", "closed-mid-body"],
)
def test_broken_backends_give_500(apigw, endpoint, answer):
    broken = _RawBackend(answer)
    try:
        api = RestApi(apigw)
        api.http_proxy("/b", f"http://127.0.0.1:{broken.port}/b", timeout_ms=3000)
        api.mock("/ok")
        api.deploy("test")
        poll("GET", api.url(endpoint, "test", "/ok"), until=200)
        resp = call("GET", api.url(endpoint, "test", "/b"))
        assert resp.status_code == 500
        assert resp.json() == {"message": "Internal server error"}
        assert call("GET", api.url(endpoint, "test", "/ok")).status_code == 200
    finally:
        broken.close()


@pytest.fixture(scope="module")
def tls_backend(tmp_path_factory):
    """An HTTPS echo server with a self-signed certificate."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"secure": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_tls_backend_is_verified_unless_told_otherwise(apigw, endpoint, tls_backend):
    api = RestApi(apigw)
    api.http_proxy("/strict", f"https://127.0.0.1:{tls_backend}/x", timeout_ms=3000)
    lax = api.http_proxy("/lax", f"https://127.0.0.1:{tls_backend}/x", timeout_ms=3000)
    apigw.update_integration(
        **lax,
        patchOperations=[{"op": "replace", "path": "/tlsConfig/insecureSkipVerification", "value": "true"}],
    )
    api.deploy("test")
    resp = poll("GET", api.url(endpoint, "test", "/lax"), until=200)
    assert resp.json() == {"secure": True}
    assert call("GET", api.url(endpoint, "test", "/strict")).status_code == 500


def test_oversized_headers_are_refused(endpoint, deployed_mock):
    resp = call("GET", deployed_mock.url(endpoint, "test", "/ok"), headers={"x-big": "a" * 100_000})
    assert resp.status_code == 431
    assert call("GET", deployed_mock.url(endpoint, "test", "/ok")).status_code == 200


def test_overlong_request_target_is_refused(endpoint, deployed_mock):
    resp = call("GET", deployed_mock.url(endpoint, "test", "/ok") + "?q=" + "a" * 9000)
    assert resp.status_code == 414
    assert call("GET", deployed_mock.url(endpoint, "test", "/ok")).status_code == 200


def test_a_client_that_stalls_in_its_headers_is_cut_off(endpoint):
    url = urlparse(endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=20) as sock:
        sock.sendall(b"GET /account HTTP/1.1\r\nHost: x\r\n")  # and never finishes
        started = time.monotonic()
        data = sock.recv(65536)
        waited = time.monotonic() - started
    assert waited < 15, "the server closed or answered the stalled client within its header timeout"
    assert data == b"" or data.startswith(b"HTTP/1.1 408")
