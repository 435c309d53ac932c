"""The Prefect client of the modules (plugins/module_utils/prefect_api.py, here through
prefect_work_pool) retries what a Prefect server answers when it is busy (503: its
database is locked, seen in e2e under load), and nothing else; a change whose
connection times out is never sent twice. A real
server cannot be made busy on demand, so a local HTTP server plays the busy spells;
tests/worker runs the module against a real Prefect server."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

POOL = {"name": "p", "type": "process", "concurrency_limit": None, "is_paused": False, "base_job_template": {}}


@pytest.fixture
def api():
    answers, seen = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.command + " " + self.path)
            status = answers.pop(0) if answers else 200
            if status == "slow":  # answers after the client's 1 s timeout
                time.sleep(1.5)
                status = 404
            body = json.dumps(POOL if status == 200 else {"detail": f"status {status}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api", answers, seen
    server.shutdown()


def run_module(ansible, url, retries):
    args = json.dumps({"api_url": url, "name": "p", "type": "process", "retries": retries, "timeout": 1})
    return ansible(["ansible", "localhost", "-c", "local", "-m", "mlexchange.podman_worker.prefect_work_pool", "-a", args])


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


def test_a_read_that_times_out_is_asked_again(ansible, api):
    url, answers, seen = api
    answers.extend(["slow", 200])
    res = run_module(ansible, url, 2)
    assert res.returncode == 0, res.stdout + res.stderr
    assert seen == ["GET /api/work_pools/p", "GET /api/work_pools/p"]


def test_a_change_that_times_out_is_not_sent_twice(ansible, api):
    url, answers, seen = api
    # The pool is missing (404), the server has no CSRF tokens (404), the create
    # times out: it may have been applied.
    answers.extend([404, 404, "slow"])
    res = run_module(ansible, url, 3)
    assert res.returncode != 0 and "cannot reach the Prefect API" in res.stdout, res.stdout
    assert "Traceback" not in res.stdout
    # The CSRF probe (404: no CSRF on this server) and one create, never two.
    assert seen == ["GET /api/work_pools/p", "GET /api/csrf-token?client=" + seen[1].split("=", 1)[1],
                    "POST /api/work_pools/"]
