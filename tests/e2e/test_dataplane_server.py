"""Data plane and the server process: graceful stop drains requests in flight; the data-plane
only listener (`--gateway-listen`) serves stages and nothing of the management API."""

import signal
import subprocess
import threading
import time

import requests

from dataplane_support import RestApi, backend, invoke_url, poll  # noqa: F401 - fixture
from helpers import ServerProcess, free_port, tollgate_bin


def test_sigterm_drains_requests_in_flight(spawn_server, backend):  # noqa: F811
    server = spawn_server()
    api = RestApi(server.client())
    api.http_proxy("/slow", f"{backend.url}/slow/1500", timeout_ms=5000)
    api.deploy("test")
    url = invoke_url(server.url, api.id, "test", "/slow")
    poll("GET", invoke_url(server.url, api.id, "test", "/slow"), until=200, timeout=10)

    result = {}

    def slow_call():
        result["response"] = requests.get(url, timeout=10)

    caller = threading.Thread(target=slow_call)
    caller.start()
    time.sleep(0.4)  # the request is now waiting on the backend
    server.proc.send_signal(signal.SIGTERM)
    caller.join(timeout=10)
    assert result["response"].status_code == 200, "the request in flight finished"
    assert server.proc.wait(timeout=10) == 0


def test_gateway_only_listener(tmp_path):
    main_port, gateway_port = free_port(), free_port()
    proc = subprocess.Popen(
        [str(tollgate_bin()), "serve", "--listen", f"127.0.0.1:{main_port}",
         "--gateway-listen", f"127.0.0.1:{gateway_port}", "--data-dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        main = ServerProcess(str(tmp_path))
        main.port, main.proc = main_port, proc
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(f"http://127.0.0.1:{main_port}/account", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        api = RestApi(main.client())
        api.mock("/m", body='{"from": "gateway listener"}')
        api.deploy("test")
        gateway = f"http://127.0.0.1:{gateway_port}"
        resp = poll("GET", invoke_url(gateway, api.id, "test", "/m"), until=200)
        assert resp.json() == {"from": "gateway listener"}
        management = requests.get(f"{gateway}/restapis", timeout=5)
        assert management.status_code == 403
        assert management.json() == {"message": "Missing Authentication Token"}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
