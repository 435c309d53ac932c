"""playbooks/status.yml's report lines (plugins/filter/status_report.py) from results
shaped as its tasks register them; e2e runs the playbook on a converged host."""
import json

from conftest import load_plugin

report = load_plugin("plugins/filter/status_report.py")

POOLS = [{"name": "podman_pool", "health_port": 8082}, {"name": "parent_pool", "health_port": 8083}]


def host_lines(image_rc=0, socket_status=200, health=(200, -1)):
    image = json.dumps([{"Digest": "sha256:abc", "Created": "2026-11-26T10:00:00Z",
                         "Labels": {"org.mlexchange.pwb.prefect-version": "3.4.2"}}])
    units = {"results": [{"item": POOLS[0], "stdout_lines": ["ActiveState=active", "SubState=running", "NRestarts=2"]},
                         {"item": POOLS[1], "stdout_lines": ["ActiveState=failed", "SubState=failed", "NRestarts=5"]}]}
    probes = {"results": [{"item": p, "status": s} for p, s in zip(POOLS, health)]}
    return report.host_status({"stdout": "podman version 4.3.1"}, {"status": socket_status, "msg": "refused"},
                              {"rc": image_rc, "stdout": image if image_rc == 0 else ""}, units, probes,
                              "/run/podman/podman.sock", "localhost/prefect-with-podman:latest")


def test_a_healthy_host():
    lines = host_lines()
    assert lines[:3] == [
        "podman: podman version 4.3.1",
        "socket /run/podman/podman.sock: answers",
        "image localhost/prefect-with-podman:latest: digest sha256:abc, Prefect 3.4.2, built 2026-11-26T10:00:00Z"]
    assert lines[3] == "worker podman_pool: active/running, restarts 2, health ok (127.0.0.1:8082)"
    assert lines[4] == "worker parent_pool: failed/failed, restarts 5, health no answer (127.0.0.1:8083)"


def test_what_is_missing_is_said():
    lines = host_lines(image_rc=1, socket_status=-1)
    assert lines[1] == "socket /run/podman/podman.sock: no answer (refused)"
    assert lines[2] == "image localhost/prefect-with-podman:latest: missing"


def test_the_api_report():
    api = {"version": "3.4.2"}
    pools = {"pools": [{"name": "podman_pool", "type": "docker", "concurrency_limit": 4, "is_paused": False},
                       {"name": "parent_pool", "type": "process", "concurrency_limit": None, "is_paused": True}],
             "missing": ["gone_pool"]}
    deployments = {"deployments": [{"flow": "Docker flow", "name": "launch_podman",
                                    "deployment": {"work_pool_name": "podman_pool", "version": "abc123"}}]}
    runs = {"flow_runs": [{"state_type": "RUNNING"}, {"state_type": "SCHEDULED"}, {"state_type": "RUNNING"}]}
    assert report.api_status("http://api", api, pools, deployments, runs) == [
        "Prefect API http://api: server 3.4.2",
        "pool podman_pool: type docker, limit 4, taking runs",
        "pool parent_pool: type process, limit none, PAUSED",
        "pool gone_pool: missing",
        "deployment Docker flow/launch_podman: pool podman_pool, version abc123",
        "runs not yet final: RUNNING 2, SCHEDULED 1",
    ]
    assert report.api_status("http://api", api, {"pools": [], "missing": []}, {"deployments": []},
                             {"flow_runs": []})[-1] == "runs not yet final: none"
