"""Hardening on the converged e2e host: bad inventories are refused before any
change, and the stack recovers from faults (molecule scenario `e2e`)."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import (  # noqa: E402
    REGISTRY, api, children, deployment, run_playbook, running_child, submit_smoke_job, wait_final)

POOL = {"name": "podman_pool", "type": "docker", "concurrency_limit": 4, "worker_limit": 4, "health_port": 8082}
PARENT = {"name": "parent_pool", "type": "process", "concurrency_limit": 4, "worker_limit": 4, "health_port": 8083}

# (case, extra vars as an inventory would set them, what the message must say)
BAD_INVENTORIES = [
    ("relative socket path", {"pwb_podman_socket": "run/podman/podman.sock"},
     "_podman_socket: must be the absolute path of the host's podman socket"),
    ("pool name with spaces", {"pwb_pools": [dict(POOL, name="podman pool"), PARENT]},
     "pool names may hold letters, digits, '_', '.', '-' only (wrong: ['podman pool'])"),
    ("negative concurrency", {"pwb_pools": [dict(POOL, concurrency_limit=-2), PARENT]},
     "prefect_registration_pools: a pool's concurrency_limit must be >= 1, or null for no limit"),
    ("non-integer worker limit", {"pwb_pools": [dict(POOL, worker_limit="four"), PARENT]},
     "worker_limit"),
    ("unknown hpc_type", {"mlex_worker_code_hpc_type": "lcls"},
     "mlex_worker_code_hpc_type"),
    ("missing API URL", {"pwb_prefect_api_url": ""},
     "prefect_registration_api_url: must be an http(s) URL ending in /api"),
    ("malformed API URL", {"pwb_prefect_api_url": "prefect.example.org:4200/api"},
     "prefect_registration_api_url: must be an http(s) URL ending in /api, e.g. http://127.0.0.1:4200/api (got 'prefect.example.org:4200/api')"),
    ("Prefect version without a lock", {"prefect_runtime_version": "3.9.9"},
     "needs a lock file roles/prefect_runtime/files/locks/prefect-3.9.9.txt (supported: 3.4.2, 3.6.10, 3.9.1)"),
    ("rootless mode without a user", {"podman_docker_compat": "env"},
     "podman_docker_compat=env needs podman_rootless_user"),
    ("two workers on one health port", {"pwb_pools": [POOL, dict(PARENT, health_port=8082)]},
     "prefect_worker_services_pools: two workers on one host cannot share a health_port"),
    ("malformed image reference", {"prefect_registration_podman_image": "Prefect With Podman:latest"},
     "prefect_registration_podman_image: must be an image reference"),
    ("volume spec without a colon", {"pwb_container_volumes": ["/srv/mlex/tiled_storage"]},
     "/srv/mlex/tiled_storage: not HOST:CONTAINER[:OPTIONS] with an absolute container path"),
    ("the host's root as a job volume", {"pwb_container_volumes": ["/:/host"]},
     "mlex_worker_code_container_volumes: every job container gets these, so they must be HOST:CONTAINER[:OPTIONS]"
     " (e.g. /srv/data:/data:ro) and no system directory or socket of the host: /:/host: / is a system directory"),
    # Read on the host by playbooks/host-checks.yml, still before any change.
    ("job volume not mounted on the host", {"pwb_container_volumes": ["/srv/mlex/not_mounted:/tiled_storage"]},
     "mlex_worker_code_container_volumes (pwb_container_volumes): /srv/mlex/not_mounted does not exist on pwb-e2e-"),
    ("docker pool missing", {"pwb_pools": [PARENT]},
     "prefect_registration_podman_pool: 'podman_pool' must be a pool of type docker"),
    ("rootful mode nobody decided on", {"pwb_podman_rootful_accepted": False},
     "pwb_podman_rootful_accepted: pwb_podman_rootless is false, so jobs get root's podman socket"),
    # Read on the host too: nogroup is nobody's (and _apt's) primary group.
    ("a socket group others are in", {"pwb_podman_socket_group": "nogroup"},
     "podman_socket_group: nogroup opens root's podman socket on pwb-e2e-"),
    ("rootless mode without the worker uid", {"pwb_podman_rootless": True},
     "pwb_worker_uid: rootless mode (pwb_podman_rootless) needs the worker user's fixed uid"),
    ("registry refuses the password", {"pwb_registries": [dict(REGISTRY, password="hunter2")]},
     "job_images_registries (pwb_registries): 127.0.0.1:5000 refused the credentials of pwb-test (HTTP 401)"),
    ("a server beyond loopback without an auth string", {"pwb_prefect_api_auth_string": ""},
     "prefect_server_host: '0.0.0.0' listens beyond loopback, so the API needs an auth string"),
    ("plain-text secret where policy requires vault",
     {"pwb_secrets_from_vault": True, "pwb_prefect_api_auth_string": "admin:hunter2"},
     "pwb_prefect_api_auth_string: plain text, but pwb_secrets_from_vault requires secrets from vault"),
]

SNAPSHOT = (
    "find /etc/prefect-worker /etc/mlex-worker /etc/prefect-server /opt/mlex_prefect_worker /etc/systemd/system"
    " /etc/containers /etc/tmpfiles.d /root/.config -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum;"
    " systemctl list-units --all --plain --no-legend podman.socket prefect-server.service 'prefect-worker@*'"
    " prefect-flow-run-prune.timer | awk '{print $1, $3, $4}';"
    " podman images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort"
)


# Fields the Prefect server rewrites on its own, whatever the bundle does: the
# Foreman marks a pool NOT_READY (and its deployments) when no worker heartbeat
# arrived in time, e.g. while the server was stopped, and the next heartbeat sets it
# READY; each transition stamps `updated`. Everything else is the bundle's.
SERVER_BOOKKEEPING = {"updated", "status", "last_polled"}


def managed(obj):
    return {k: v for k, v in obj.items() if k not in SERVER_BOOKKEEPING}


def snapshot(host):
    pools = {p["name"]: managed(p) for p in api(host, "POST", "/work_pools/filter", {})}
    deployments = {d["name"]: managed(d) for d in api(host, "POST", "/deployments/filter", {})}
    return host.check_output(SNAPSHOT), pools, deployments


@pytest.mark.parametrize("case,extra,message", BAD_INVENTORIES, ids=[c[0] for c in BAD_INVENTORIES])
def test_bad_inventory_is_refused_and_the_host_left_unchanged(host, case, extra, message):
    before = snapshot(host)
    code, out, _ = run_playbook("site.yml", "-e", json.dumps(extra))
    assert code != 0, out[-2000:]
    assert message in out, out[-3000:]
    assert "hunter2" not in out
    # Refused by the preflight or the host checks, before any role play started.
    assert "PLAY [Prefect server for the embedded default]" not in out, out[-3000:]
    assert snapshot(host) == before


def test_the_smoke_run_does_not_create_a_missing_volume_path(host):
    """smoke.yml runs on its own too (no host checks): it refuses a volume whose host
    path is missing instead of making the shared-storage path on the local disk."""
    code, out, _ = run_playbook("smoke.yml", "-e", json.dumps({"pwb_container_volumes": ["/srv/mlex/not_mounted:/tiled_storage"]}))
    assert code != 0 and "smoke_job_volume: /srv/mlex/not_mounted is not a directory on pwb-e2e-" in out, out[-3000:]
    assert not host.file("/srv/mlex/not_mounted").exists


# Bounds, not targets (the figures are printed): under a neighbouring scenario's load
# a Prefect start takes several times as long as on an idle machine.
def wait_health(host, port, timeout=240):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if host.run(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 2 http://127.0.0.1:{port}/health").stdout == "200":
            return time.monotonic() - start
        time.sleep(0.5)
    raise AssertionError(f"health on {port} did not return within {timeout} s")


def test_cancelled_run_leaves_no_algorithm_container_behind(host):
    """Cancelling a docker-path run stops its flow-run container; its algorithm container
    (a sibling on the host's engine, labelled by the docker shim with the run's id) is
    stopped by prefect-job-reaper.timer. A job running beside it is not touched."""
    label = "podman-worker-bundle.flow-run-id"
    doomed, neighbour = submit_smoke_job(host, sleep_s=600), submit_smoke_job(host, sleep_s=30)
    child = running_child(host, doomed["id"])
    algorithm = f"podman ps -q --filter label={label}={child['id']}"
    deadline = time.monotonic() + 120
    while not host.check_output(algorithm):
        assert time.monotonic() < deadline, f"no algorithm container labelled {label}={child['id']}"
        time.sleep(1)
    api(host, "POST", f"/flow_runs/{child['id']}/set_state", {"state": {"type": "CANCELLING"}})
    start = time.monotonic()
    assert wait_final(host, child["id"], timeout=120)["state_type"] == "CANCELLED"
    cancelled = time.monotonic() - start
    while host.check_output(algorithm.replace("ps -q", "ps -aq")):
        assert time.monotonic() - start < 180, "the cancelled run's algorithm container is still there after 180 s"
        time.sleep(1)
    gone = time.monotonic() - start
    run = wait_final(host, neighbour["id"], timeout=240)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert [c["state_type"] for c in children(host, run["id"])] == ["COMPLETED"]
    wait_final(host, doomed["id"], timeout=120)
    log = host.check_output("journalctl -u prefect-job-reaper.service --no-pager -o cat")
    assert f"its flow run {child['id']} is CANCELLED: stopping and removing it" in log, log[-2000:]
    print(f"cancel: run CANCELLED {cancelled:.1f} s after CANCELLING, its algorithm container gone after {gone:.1f} s")


def test_hung_worker_is_restarted_by_the_watch(host):
    """A worker that hangs (SIGSTOP: the process lives, so systemd's Restart= never acts)
    is restarted by prefect-worker-watch.timer; the healthy worker is left alone. Before
    the kill test: the watch leaves workers younger than its grace (90 s) alone."""
    unit, other = "prefect-worker@podman_pool.service", "prefect-worker@parent_pool.service"

    def show(u, prop):
        return host.check_output(f"systemctl show -p {prop} --value {u}")

    before, other_before, pid = show(unit, "InvocationID"), show(other, "InvocationID"), show(unit, "MainPID")
    up = float(host.check_output("cut -d' ' -f1 /proc/uptime")) - int(show(unit, "ActiveEnterTimestampMonotonic")) / 1e6
    host.run_test(f"kill -STOP {pid}")
    start = time.monotonic()
    try:
        while show(unit, "InvocationID") == before:
            assert time.monotonic() - start < 300, f"{unit} stopped (SIGSTOP) and not restarted within 300 s"
            time.sleep(1)
        seconds = time.monotonic() - start
    finally:
        host.run(f"kill -CONT {pid}")
    wait_health(host, 8082)
    assert show(other, "InvocationID") == other_before
    log = host.check_output("journalctl -u prefect-worker-watch.service --no-pager -o cat")
    assert f"{unit}: health endpoint 127.0.0.1:8082 did not answer 3 times: restarting it" in log, log[-2000:]
    print(f"hung worker: restarted {seconds:.1f} s after SIGSTOP (it had been up {up:.0f} s; "
          f"watch every 30 s, 3 checks 5 s apart, grace 90 s)")


@pytest.mark.parametrize("pool,port", [("podman_pool", 8082), ("parent_pool", 8083)])
def test_killed_worker_is_restarted_and_healthy_again(host, pool, port):
    unit = f"prefect-worker@{pool}.service"
    pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
    host.run_test(f"kill -9 {pid}")
    seconds = wait_health(host, port)
    new_pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
    assert new_pid not in ("0", pid)
    print(f"{unit}: killed, healthy again after {seconds:.1f} s")


def test_job_runs_after_podman_socket_restart(host):
    host.run_test("systemctl restart podman.socket")
    run = wait_final(host, submit_smoke_job(host)["id"], timeout=180)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert [c["state_type"] for c in children(host, run["id"])] == ["COMPLETED"]


def test_api_down_during_registration_fails_clearly_and_changes_nothing(host):
    before = snapshot(host)
    host.run_test("systemctl stop prefect-server.service")
    try:
        code, out, seconds = run_playbook(
            "site.yml", "--tags", "registration", "-e", "prefect_registration_api_retries=2")
    finally:
        host.run_test("systemctl start prefect-server.service")
        wait_api(host)
    assert code != 0, out[-2000:]
    assert "Read the work pools" in out and "Connection refused" in out, out[-3000:]
    assert "Register missing or changed deployments" not in out
    print(f"API down: registration gave up after {seconds:.0f} s")
    # Workers may have restarted while the API was away: compare once they are back.
    for port in (8082, 8083):
        wait_health(host, port)
    assert snapshot(host) == before


def wait_api(host, timeout=240):
    deadline = time.monotonic() + timeout
    while host.run("curl -sf --max-time 2 http://127.0.0.1:4200/api/health").stdout != "true":
        assert time.monotonic() < deadline, "the API did not come back"
        time.sleep(1)


def test_host_restart_brings_everything_back(host):
    """Reboot the test host (restart its container) with a job in flight: sockets,
    server and workers come back enabled; the job's runs, whose flow process (process
    path) and flow-run container (docker path) died with the host, are set CRASHED by
    prefect-job-reaper (no one else would: they would stay RUNNING and keep their
    pools' slots for good), and a new job runs. Last in the file: it restarts everything."""
    name = host.backend.name  # the container, as testinfra reaches it
    parent = submit_smoke_job(host, sleep_s=600)
    child = running_child(host, parent["id"])
    start = time.monotonic()
    subprocess.run(["podman", "restart", "--time", "60", name], check=True, capture_output=True)
    wait_api(host)
    for port in (8082, 8083):
        wait_health(host, port)
    seconds = time.monotonic() - start
    assert host.service("podman.socket").is_running
    run = wait_final(host, submit_smoke_job(host)["id"], timeout=180)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert [c["state_type"] for c in children(host, run["id"])] == ["COMPLETED"]
    crashed = {}
    for lost in (parent, child):
        final = wait_final(host, lost["id"], timeout=max(10, 300 - (time.monotonic() - start)))
        assert final["state_type"] == "CRASHED", (lost["id"], final["state"])
        assert "Lost: " in final["state"]["message"], final["state"]
        crashed[lost["id"]] = time.monotonic() - start
    log = host.check_output("journalctl -u prefect-job-reaper.service --no-pager -o cat")
    assert f"flow run {parent['id']} is lost (its process " in log, log[-2000:]
    assert f"flow run {child['id']} is lost (its flow-run container " in log, log[-2000:]
    print(f"host restart: API and both workers healthy {seconds:.1f} s after podman restart; the job in flight"
          f" seen CRASHED: parent (process path) {crashed[parent['id']]:.1f} s, child (docker path)"
          f" {crashed[child['id']]:.1f} s after the restart (reaper every 30 s from boot, lost on two looks 30 s apart)")


def test_another_teams_pool_of_the_same_name_stops_registration_before_any_change(host):
    """A shared API: a pool the bundle did not make is neither paused, drained,
    replaced nor updated because the inventory names it."""
    name = "team_b_pool"
    api(host, "POST", "/work_pools/", {"name": name, "type": "process", "concurrency_limit": 9,
                                       "description": "team B's pool"})
    parent = deployment(host, "Parent flow", "launch_parent_flow")
    try:
        before = snapshot(host)
        pools = [{"name": "podman_pool", "type": "docker", "concurrency_limit": 4, "worker_limit": 4, "health_port": 8082},
                 {"name": "parent_pool", "type": "process", "concurrency_limit": 4, "worker_limit": 4, "health_port": 8083},
                 # Another type: without the guard, the drain would pause it and the module replace it.
                 {"name": name, "type": "docker", "concurrency_limit": 1, "worker_limit": 1, "health_port": 8084}]
        code, out, _ = run_playbook("site.yml", "--tags", "registration", "-e", json.dumps({"pwb_pools": pools}))
        assert code != 0, out[-2000:]
        assert f"Work pool(s) {name} exist on" in out and "another team's?" in out, out[-3000:]
        assert snapshot(host) == before
        theirs = api(host, "GET", f"/work_pools/{name}")
        assert (theirs["type"], theirs["concurrency_limit"], theirs["is_paused"]) == ("process", 9, False)

        # A deployment of an inventory name that runs on team B's pool: `prefect deploy`
        # would take it over. (Ours, moved there: flow and name are unique in an API.)
        api(host, "PATCH", f"/deployments/{parent['id']}", {"work_pool_name": name})
        before = snapshot(host)
        code, out, _ = run_playbook("site.yml", "--tags", "registration")
        assert code != 0, out[-2000:]
        assert f"Deployment(s) Parent flow/launch_parent_flow (pool {name}) exist on" in out, out[-3000:]
        assert snapshot(host) == before
    finally:
        api(host, "PATCH", f"/deployments/{parent['id']}",
            {"work_pool_name": parent["work_pool_name"], "work_queue_name": parent["work_queue_name"]})
        assert deployment(host, "Parent flow", "launch_parent_flow")["work_queue_name"] == parent["work_queue_name"]
        api(host, "DELETE", f"/work_pools/{name}")
