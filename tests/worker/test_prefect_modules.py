"""The prefect_* modules of plugins/modules (one client: plugins/module_utils/prefect_api.py)
against real Prefect servers: the session's test harness, and one started with CSRF
protection on, as a facility may run it."""
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import httpx
import pytest

from conftest import run_module


@pytest.fixture
def api(prefect_harness):
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def make_deployment(api, pool, flow="pwb test flow"):
    """A deployment on pool (made when missing) with nothing to run it (its runs stay SCHEDULED)."""
    name = f"dep {uuid.uuid4().hex[:8]}"
    httpx.post(f"{api}/work_pools/", json={"name": pool, "type": "process"})
    flow_id = httpx.post(f"{api}/flows/", json={"name": flow}).json()["id"]
    resp = httpx.post(f"{api}/deployments/", json={"name": name, "flow_id": flow_id, "work_pool_name": pool,
                                                       "parameter_openapi_schema": {"type": "object", "properties": {}}})
    assert resp.status_code in (200, 201), resp.text
    return flow, name, resp.json()["id"]


def test_api_info_reads_the_server_version(api, tmp_path):
    import prefect

    r, _ = run_module(tmp_path, "prefect_api_info", {"api_url": api})
    assert r["version"] == prefect.__version__ and not r["changed"]


def test_an_unreachable_api_is_a_message_not_a_traceback(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    _, out = run_module(tmp_path, "prefect_work_pool_info",
                        {"api_url": f"http://127.0.0.1:{port}/api", "names": ["x"], "retries": 1},
                        expect_ok=False)
    assert "cannot reach the Prefect API" in out and "Connection refused" in out, out
    assert "Traceback" not in out
    # A refused connection was asked again once, 2 s later.
    assert time.monotonic() - start >= 2


def test_pools_and_deployments_are_read_by_name_with_odd_characters(api, tmp_path):
    pool = f"pool odd?#+{uuid.uuid4().hex[:6]}"
    run_module(tmp_path, "prefect_work_pool", {"api_url": api, "name": pool, "type": "process"})
    r, _ = run_module(tmp_path, "prefect_work_pool_info", {"api_url": api, "names": [pool, "no-such-pool"]})
    assert [p["name"] for p in r["pools"]] == [pool] and r["missing"] == ["no-such-pool"]
    assert r["unmanaged"] == []
    # Made without an owner: not the bundle's on a shared API.
    r, _ = run_module(tmp_path, "prefect_work_pool_info", {"api_url": api, "names": [pool],
                                                           "managed_by": "podman-worker-bundle"})
    assert r["unmanaged"] == [pool]
    flow, name, dep_id = make_deployment(api, pool, flow="flow with space?#+")
    r, _ = run_module(tmp_path, "prefect_deployment_info", {
        "api_url": api, "deployments": [{"flow": flow, "name": name, "file": "kept.yaml"},
                                        {"flow": flow, "name": "none"}]})
    found, missing = r["deployments"]
    assert found["deployment"]["id"] == dep_id and found["file"] == "kept.yaml"
    assert missing["deployment"] is None
    # By pool (make status): every deployment of the pool, with its flow's name.
    other_flow, other_name, _ = make_deployment(api, pool, flow="another flow")
    make_deployment(api, f"pool-{uuid.uuid4().hex[:8]}")  # another pool's: not listed
    r, _ = run_module(tmp_path, "prefect_deployment_info", {"api_url": api, "work_pools": [pool]})
    assert [(d["flow"], d["name"]) for d in r["deployments"]] == [(other_flow, other_name), (flow, name)]


def test_deployment_absent_with_check_mode_and_diff(api, tmp_path):
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    flow, name, dep_id = make_deployment(api, pool)
    args = {"api_url": api, "flow": flow, "name": name, "state": "absent"}
    r, out = run_module(tmp_path, "prefect_deployment", args, "--check", "--diff")
    assert r["changed"] and httpx.get(f"{api}/deployments/{dep_id}").status_code == 200
    assert dep_id in out
    r, _ = run_module(tmp_path, "prefect_deployment", args)
    assert r["changed"] and httpx.get(f"{api}/deployments/{dep_id}").status_code == 404
    r, _ = run_module(tmp_path, "prefect_deployment", args)
    assert not r["changed"]


def test_flow_runs_wait_times_out_and_cancel_says_why(api, tmp_path):
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    flow, name, _ = make_deployment(api, pool)
    # Nothing serves the pool: the run stays SCHEDULED and the wait for it to end gives up.
    r, _ = run_module(tmp_path, "prefect_flow_run",
                      {"api_url": api, "flow": flow, "deployment": name, "run_name": "waits", "wait": 3})
    run_id = r["flow_run"]["id"]
    assert not r["final"] and r["elapsed"] is None and r["flow_run"]["state_type"] == "SCHEDULED"
    other_pool = f"pool-{uuid.uuid4().hex[:8]}"
    other_flow, other_name, _ = make_deployment(api, other_pool)
    other, _ = run_module(tmp_path, "prefect_flow_run", {"api_url": api, "flow": other_flow, "deployment": other_name})

    args = {"api_url": api, "work_pools": [pool], "states": ["SCHEDULED"], "wait": 4, "poll": 1}
    start = time.monotonic()
    r, _ = run_module(tmp_path, "prefect_flow_runs", args)
    assert r["timed_out"] and [f["id"] for f in r["flow_runs"]] == [run_id] and time.monotonic() - start >= 4
    cancel = dict(args, wait=0, cancel_message="pool replaced: submit it again")
    r, _ = run_module(tmp_path, "prefect_flow_runs", cancel, "--check")
    assert r["changed"] and httpx.get(f"{api}/flow_runs/{run_id}").json()["state_type"] == "SCHEDULED"
    r, _ = run_module(tmp_path, "prefect_flow_runs", cancel)
    assert r["changed"]
    state = httpx.get(f"{api}/flow_runs/{run_id}").json()["state"]
    assert state["type"] == "CANCELLED" and state["message"] == "pool replaced: submit it again"
    # The other pool's run is not touched, and nothing is left to cancel.
    assert httpx.get(f"{api}/flow_runs/{other['flow_run']['id']}").json()["state_type"] == "SCHEDULED"
    r, _ = run_module(tmp_path, "prefect_flow_runs", cancel)
    assert not r["changed"] and r["flow_runs"] == []


def test_flow_runs_of_one_deployment_are_cancelled_and_no_others_of_its_pool(api, tmp_path):
    """deployment_ids (a retired deployment's runs that never started): only that
    deployment's runs match, not another deployment's on the same pool."""
    pool = f"pool-{uuid.uuid4().hex[:8]}"
    flow, name, dep_id = make_deployment(api, pool)
    other_flow, other_name, _ = make_deployment(api, pool)
    runs = [run_module(tmp_path, "prefect_flow_run", {"api_url": api, "flow": f, "deployment": n})[0]["flow_run"]["id"]
            for f, n in ((flow, name), (other_flow, other_name))]
    args = {"api_url": api, "deployment_ids": [dep_id], "states": ["SCHEDULED"], "cancel_message": "retired"}
    r, _ = run_module(tmp_path, "prefect_flow_runs", args)
    assert r["changed"] and [f["id"] for f in r["flow_runs"]] == runs[:1]
    assert httpx.get(f"{api}/flow_runs/{runs[0]}").json()["state_type"] == "CANCELLED"
    assert httpx.get(f"{api}/flow_runs/{runs[1]}").json()["state_type"] == "SCHEDULED"


def test_flow_runs_refuse_an_empty_filter(api, tmp_path):
    _, out = run_module(tmp_path, "prefect_flow_runs", {"api_url": api, "cancel_message": "x"}, expect_ok=False)
    assert "an empty filter matches every run" in out


@pytest.fixture(scope="module")
def csrf_api(tmp_path_factory):
    """A Prefect server of its own with CSRF protection on (its own home and database)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path_factory.mktemp("csrf-home")
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "true",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    else:
        server.kill()
        log.seek(0)
        pytest.fail("the CSRF-protected Prefect server did not start: " + log.read().decode()[-2000:])
    yield api
    server.terminate()
    server.wait(timeout=30)


def test_changes_carry_a_csrf_token_when_the_server_wants_one(csrf_api, tmp_path):
    # Without a token the server refuses a change: protection is on.
    refused = httpx.post(f"{csrf_api}/work_pools/", json={"name": "no-token", "type": "process"})
    assert refused.status_code == 403, refused.text
    args = {"api_url": csrf_api, "name": "csrf-pool", "type": "process", "concurrency_limit": 2}
    r, _ = run_module(tmp_path, "prefect_work_pool", args)
    assert r["changed"] and r["pool"]["concurrency_limit"] == 2
    r, _ = run_module(tmp_path, "prefect_work_pool", dict(args, state="absent"))
    assert r["changed"] and httpx.get(f"{csrf_api}/work_pools/csrf-pool").status_code == 404
