"""library/prefect_work_pool.py retries what a Prefect server answers when it is busy
(503: its database is locked, seen in e2e under load), and nothing else. A real
server cannot be made busy on demand, so a local HTTP server plays the busy spells;
tests/worker runs the module against a real Prefect server."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

POOL = {"name": "p", "type": "process", "concurrency_limit": None, "is_paused": False, "base_job_template": {}}


@pytest.fixture
def api():
    answers, seen = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            status = answers.pop(0) if answers else 200
            body = json.dumps(POOL if status == 200 else {"detail": f"status {status}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api", answers, seen
    server.shutdown()


def run_module(ansible, url, retries):
    args = json.dumps({"api_url": url, "name": "p", "type": "process", "retries": retries})
    return ansible(["ansible", "localhost", "-c", "local", "-m", "prefect_work_pool", "-a", args])


def test_a_busy_server_is_asked_again(ansible, api):
    url, answers, seen = api
    answers.extend([503, 502])
    res = run_module(ansible, url, 2)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "changed: false" in res.stdout and len(seen) == 3


def test_without_retries_the_busy_answer_is_the_error(ansible, api):
    url, answers, seen = api
    answers.append(503)
    res = run_module(ansible, url, 0)
    assert res.returncode != 0 and "Prefect API answered 503" in res.stdout
    assert len(seen) == 1


def test_a_refusal_is_not_retried(ansible, api):
    url, answers, seen = api
    answers.append(403)
    res = run_module(ansible, url, 3)
    assert res.returncode != 0 and "Prefect API answered 403" in res.stdout and "status 403" in res.stdout
    assert len(seen) == 1
