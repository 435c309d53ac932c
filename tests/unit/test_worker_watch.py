"""The worker watch's verdict (roles/prefect_worker_services/files/watch-workers): which
unhealthy worker it restarts. e2e stops (SIGSTOP) a real worker and sees it restarted;
here local HTTP servers play the health answers no real worker gives on demand: a 503
while the Prefect API answers (restart) or does not (leave it: it cannot poll)."""
import importlib.machinery
import importlib.util
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from conftest import ROOT

_path = ROOT / "roles/prefect_worker_services/files/watch-workers"
sys.path.insert(0, str(_path.parent))  # its prefect_env_api, as installed beside it
_loader = importlib.machinery.SourceFileLoader("watch_workers", str(_path))
watch = importlib.util.module_from_spec(importlib.util.spec_from_loader("watch_workers", _loader))
_loader.exec_module(watch)


def serve(status):
    """An HTTP server on 127.0.0.1 answering every GET with status; returns its port."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def servers():
    started = []

    def start(status):
        started.append(serve(status))
        return started[-1].server_address[1]
    yield start
    for server in started:
        server.shutdown()


def verdict(port):
    return watch.verdict(port, attempts=2, timeout=1, pause=0)


def test_healthy_worker_is_left_alone(servers):
    assert verdict(servers(200)) == (False, "healthy")


def test_silent_worker_is_restarted(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    port = closed_port()
    assert verdict(port) == (True, f"health endpoint 127.0.0.1:{port} did not answer 2 times")


def test_unhealthy_worker_is_restarted_when_the_api_answers(servers, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{servers(200)}/api")
    restart, seen = verdict(servers(503))
    assert restart and "[503, 503] while the Prefect API answers" in seen


def test_unhealthy_worker_is_left_alone_while_the_api_is_down(servers, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{closed_port()}/api")
    restart, seen = verdict(servers(503))
    assert not restart and "the Prefect API does not answer either" in seen
