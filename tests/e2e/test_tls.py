"""TLS on the listeners (`--tls-cert`/`--tls-key`): the management API, the REST data plane
over HTTPS with HTTP/2 offered by ALPN, and WebSocket APIs over wss://, each driven by a real
client that trusts a self-signed certificate made here with openssl."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import boto3
import pytest
import requests
from botocore.config import Config

from helpers import REGION, ServerProcess

pytestmark = pytest.mark.no_reset


@pytest.fixture(scope="module")
def tls_server():
    work = tempfile.mkdtemp(prefix="tollgate-e2e-tls-")
    cert, key = f"{work}/cert.pem", f"{work}/key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,DNS:*.execute-api.localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    srv = ServerProcess(f"{work}/data", tls=(cert, key))
    try:
        srv.start()
        yield srv, cert
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


def get_once_deployed(url: str, cert: str) -> requests.Response:
    """GET `url` until it answers 200 (a deployment reaches the data plane through the change
    feed, moments after it is made), for at most 3 s; the last answer."""
    deadline = time.monotonic() + 3
    while True:
        response = requests.get(url, verify=cert, timeout=10)
        if response.status_code == 200 or time.monotonic() >= deadline:
            return response
        time.sleep(0.05)


def client(srv, cert: str, service: str):
    return boto3.client(service, endpoint_url=srv.url, region_name=REGION, verify=cert,
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


def test_https_management_and_rest_data_plane(tls_server):
    srv, cert = tls_server
    assert srv.url.startswith("https://")
    apigw = client(srv, cert, "apigateway")
    api = apigw.create_rest_api(name="tls")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200")
    apigw.put_integration_response(restApiId=api, resourceId=root, httpMethod="GET", statusCode="200",
                                   responseTemplates={"application/json": '{"secure": "$context.protocol"}'})
    apigw.create_deployment(restApiId=api, stageName="dev")
    url = f"{srv.url}/restapis/{api}/dev/_user_request_/"
    response = get_once_deployed(url, cert)
    assert response.status_code == 200, response.text
    assert response.json() == {"secure": "HTTP/1.1"}

    # A client that does not trust the certificate is refused at the handshake.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=10)
    # Cleartext on the TLS port gets no HTTP answer.
    with pytest.raises(requests.RequestException):
        requests.get(url.replace("https://", "http://"), timeout=5)


def test_alpn_offers_http2(tls_server):
    srv, cert = tls_server
    context = ssl.create_default_context(cafile=cert)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"


def test_websocket_api_over_wss(tls_server, monkeypatch):
    from websocket_support import deploy, mock_integration, open_ws, recv_json, route, websocket_api

    srv, cert = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    v2 = client(srv, cert, "apigatewayv2")
    api_id = websocket_api(v2, "tls-chat")
    assert v2.get_api(ApiId=api_id)["ApiEndpoint"].startswith("wss://")
    echo = mock_integration(v2, api_id, '{"route": "$context.routeKey", "connected": "$context.connectionId"}')
    route(v2, api_id, "$default", echo, two_way=True)
    deploy(v2, api_id)
    context = ssl.create_default_context(cafile=cert)
    url = f"wss://127.0.0.1:{srv.port}/_aws/execute-api/{api_id}/dev"
    with open_ws(url, ssl=context) as ws:
        ws.send(json.dumps({"text": "over tls"}))
        answer = recv_json(ws)
        assert answer["route"] == "$default" and answer["connected"]


def test_http_proxy_backends_see_https_as_the_forwarded_protocol(tls_server):
    import threading

    from dataplane_support import _BackendServer

    srv, cert = tls_server
    echo = _BackendServer()
    thread = threading.Thread(target=echo.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        apigw = client(srv, cert, "apigateway")
        api = apigw.create_rest_api(name="tls-proxy")["id"]
        root = apigw.get_resources(restApiId=api)["items"][0]["id"]
        apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="HTTP_PROXY",
                              integrationHttpMethod="GET",
                              uri=f"http://127.0.0.1:{echo.server_address[1]}/echo")
        apigw.create_deployment(restApiId=api, stageName="dev")
        url = f"{srv.url}/restapis/{api}/dev/_user_request_/"
        response = get_once_deployed(url, cert)
        assert response.status_code == 200, response.text
        headers = response.json()["headers"]
        # As on AWS, which only serves HTTPS: the backend learns how the client came in.
        assert headers["x-forwarded-proto"] == "https"
        assert headers["x-forwarded-for"] == "127.0.0.1"
    finally:
        echo.shutdown()
        echo.server_close()
        thread.join(timeout=5)
