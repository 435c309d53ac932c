"""Verify the whole bundle on one host (molecule scenario `e2e`, demo inventory)."""
import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import (  # noqa: E402
    api, children, deployment, recap_changed, run_playbook, smoke_output, submit_smoke_job, wait_final)

WORKERS = {"podman_pool": ("docker", 8082), "parent_pool": ("process", 8083)}


def test_pools_have_their_types_and_limits(host):
    for name, (kind, _) in WORKERS.items():
        pool = api(host, "GET", f"/work_pools/{name}")
        assert (pool["type"], pool["concurrency_limit"], pool["is_paused"]) == (kind, 4, False)


def test_docker_pool_template_carries_the_infrastructure_locked(host):
    """The guide's prefect-podman.yaml job_variables, on the pool: any deployment gets
    them, and only the inventory's overridable variables stay in the schema."""
    template = api(host, "GET", "/work_pools/podman_pool")["base_job_template"]
    job = template["job_configuration"]
    assert job["image"] == "localhost/prefect-with-podman:latest"
    assert job["image_pull_policy"] == "Never"
    assert job["auto_remove"] is False and job["stream_output"] == "{{ stream_output }}"
    # Code and work directory at their host paths; temp files in the work directory.
    assert job["volumes"][:3] == ["/run/podman/podman.sock:/var/run/docker.sock",
                                  "/opt/mlex_prefect_worker:/opt/mlex_prefect_worker:ro",
                                  "/var/lib/mlex-worker:/var/lib/mlex-worker"]
    # And where the guide's own prefect-podman.yaml expects it.
    assert "/opt/mlex_prefect_worker:/mlex_prefect_worker:ro" in job["volumes"]
    assert job["env"] == {"PYTHONPATH": "/opt/mlex_prefect_worker", "PREFECT_WORK_DIR": "/var/lib/mlex-worker",
                          "TMPDIR": "/var/lib/mlex-worker/tmp"}
    assert sorted(template["variables"]["properties"]) == ["labels", "mem_limit", "memswap_limit", "name", "stream_output"]
    assert template["variables"]["properties"]["stream_output"]["default"] is True
    # Prefect's own defaults for what the bundle does not set, locked as well.
    assert job["privileged"] is False and "command" not in job
    process = api(host, "GET", "/work_pools/parent_pool")["base_job_template"]
    assert sorted(process["variables"]["properties"]) == ["env", "labels", "name", "stream_output"]


def test_podman_deployment_names_only_its_own_fields(host):
    dep = deployment(host, "Docker flow", "launch_podman")
    assert dep["work_pool_name"] == "podman_pool"
    assert dep["entrypoint"] == "flows/docker/docker_flows.py:launch_docker"
    assert dep["job_variables"] == {}
    assert dep["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == "/opt/mlex_prefect_worker"


def test_parent_deployment_runs_on_the_host(host):
    dep = deployment(host, "Parent flow", "launch_parent_flow")
    assert dep["work_pool_name"] == "parent_pool"
    assert dep["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == "/opt/mlex_prefect_worker"
    # No process-based podman deployment next to the container-based one.
    names = [d["name"] for d in api(host, "POST", "/deployments/filter", {})]
    assert sorted(names) == ["launch_parent_flow", "launch_podman"]


def test_worker_units_run_as_service_user_with_health(host):
    for name, (kind, port) in WORKERS.items():
        unit = f"prefect-worker@{name}.service"
        svc = host.service(unit)
        assert svc.is_enabled and svc.is_running, unit
        assert host.check_output(f"systemctl show -p Restart --value {unit}") == "on-failure"
        assert host.check_output(f"systemctl show -p User --value {unit}") == "prefect-worker"
        assert host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 http://127.0.0.1:{port}/health") == "200"
        # Health servers stay on loopback.
        assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening
        env = host.check_output(f"systemctl show -p Environment --value {unit}")
        pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
        proc_env = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ")
        assert ("DOCKER_HOST=unix:///run/podman/podman.sock" in proc_env) == (kind == "docker"), env


def test_worker_env_file_is_private(host):
    env = host.file("/etc/prefect-worker/worker.env")
    assert env.user == "root" and env.mode == 0o600
    assert "PREFECT_API_URL=http://127.0.0.1:4200/api" in env.content_string


def test_the_demo_server_beyond_loopback_requires_its_generated_auth_string(host):
    """The demo's server listens on all the host's interfaces, so its API answers only
    with the password the first converge made on the controller (0600, beside the
    inventory). Server and workers hold it in their 0600 env files; health stays open."""
    assert host.socket("tcp://0.0.0.0:4200").is_listening
    password_file = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent / ".prefect-api-password"
    assert password_file.stat().st_mode & 0o777 == 0o600
    password = password_file.read_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{24}", password), "not the generated password"
    for path, name in (("/etc/prefect-server/prefect-server.env", "PREFECT_SERVER_API_AUTH_STRING"),
                       ("/etc/prefect-worker/worker.env", "PREFECT_API_AUTH_STRING")):
        env = host.file(path)
        assert (env.user, env.mode) == ("root", 0o600), path
        assert f"{name}=pwb-demo:{password}\n" in env.content_string, path
    probe = "curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST http://127.0.0.1:4200/api/work_pools/filter"
    assert host.check_output(probe) == "401"
    assert host.check_output(f"{probe} -u pwb-demo:wrong-password") == "401"
    assert host.check_output("curl -s --max-time 10 http://127.0.0.1:4200/api/health") == "true"
    # The helpers' requests carry it (api() answered every test above).
    assert api(host, "GET", "/work_pools/podman_pool")["name"] == "podman_pool"


def test_env_file_values_reach_the_service_as_written_in_the_inventory(host):
    """systemd drops an unquoted backslash and strips trailing blanks: a password
    with them would reach the workers changed (401 in a restart loop)."""
    odd = {"prefect_worker_services_api_auth_string": 'admin:pa\\ss "q" $HOME `id` end ',
           "prefect_worker_services_api_url": "http://127.0.0.1:4200/api",
           "prefect_worker_services_env": {"PWB_PLAIN": "/opt/x", "PWB_ODD": "a\\b  c#d 'e'"}}
    code, out, _ = run_playbook("molecule/e2e/env_file.yml", "-e", json.dumps(odd))
    assert code == 0, out[-2000:]
    try:
        read = host.check_output("systemd-run --quiet --wait --pipe -p EnvironmentFile=/root/pwb-env-test.env /usr/bin/env")
    finally:
        host.run("rm -f /root/pwb-env-test.env")
    env = dict(line.split("=", 1) for line in read.splitlines() if "=" in line)
    assert env["PREFECT_API_AUTH_STRING"] == odd["prefect_worker_services_api_auth_string"]
    assert env["PWB_ODD"] == odd["prefect_worker_services_env"]["PWB_ODD"] and env["PWB_PLAIN"] == "/opt/x"
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert env["PREFECT_API_SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"


def unit_groups(host, unit):
    """The supplementary gids of a unit's main process."""
    pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
    status = host.file(f"/proc/{pid}/status").content_string
    return {int(g) for line in status.splitlines() if line.startswith("Groups:") for g in line.split()[1:]}


def test_only_the_engine_pools_workers_open_the_socket(host):
    """The socket's group is root on the host: no account is in it. The units of pools
    with engine true get it (SupplementaryGroups=); parent_pool's does not, so the
    parent flows it runs on the host as prefect-worker cannot reach root's podman."""
    sock = host.file("/run/podman/podman.sock")
    assert (sock.group, sock.mode) == ("podman-socket", 0o660)
    # Its directory too (the packaged tmpfiles.d makes it 0700 root at boot).
    run_dir = host.file("/run/podman")
    assert (run_dir.user, run_dir.group, run_dir.mode) == ("root", "podman-socket", 0o750)
    gid = host.group("podman-socket").gid
    members = host.check_output("getent group podman-socket | cut -d: -f4").split(",")
    primary = host.check_output(f"getent passwd | awk -F: '$4 == {gid} {{print $1}}'").split()
    assert [m for m in members if m] + primary == []
    assert "podman-socket" not in host.user("prefect-worker").groups
    assert gid in unit_groups(host, "prefect-worker@podman_pool.service")
    assert gid not in unit_groups(host, "prefect-worker@parent_pool.service")
    ping = "curl -s --max-time 5 --unix-socket /run/podman/podman.sock http://d/_ping"
    assert host.run(f"runuser -u prefect-worker -- {ping}").stdout != "OK"
    assert host.check_output(f"runuser -u prefect-worker -G podman-socket -- {ping}") == "OK"
    assert host.run(f"runuser -u nobody -s /bin/sh -c {shlex.quote(ping)}").stdout != "OK"


def test_a_worker_user_left_in_the_socket_group_is_taken_out(host):
    """A host converged by an earlier version has the worker user in the group: the
    host checks let it pass, role podman takes it out and keeps its other groups."""
    host.run_test("usermod -aG podman-socket,staff prefect-worker")
    try:
        code, out, _ = run_playbook("site.yml", "--tags", "podman")
        assert code == 0, out[-3000:]
        groups = host.user("prefect-worker").groups
        assert "podman-socket" not in groups and "staff" in groups
        assert host.check_output("getent group podman-socket | cut -d: -f4") == ""
    finally:
        host.run("gpasswd -d prefect-worker staff; gpasswd -d prefect-worker podman-socket")


def test_config_yml_from_inventory(host):
    config = yaml.safe_load(host.file("/etc/mlex-worker/config.yml").content_string)
    assert config["hpc_type"] == "nsls-ii"
    assert config["deployments"]["podman"] == {"name": "Docker flow/launch_podman", "param_key": "docker_params"}
    assert config["container"]["volumes"] == ["/srv/mlex/tiled_storage:/tiled_storage"]


def test_parent_flow_job_runs_on_host_podman(host):
    """The guide's Step 4, with the smoke algorithm: parent -> child on podman_pool
    -> algorithm container started on the host's podman -> output on the host."""
    since = host.check_output("date -u +%Y-%m-%dT%H:%M:%SZ")
    run = wait_final(host, submit_smoke_job(host)["id"], timeout=180)
    assert run["state_type"] == "COMPLETED", run["state"]
    [child] = children(host, run["id"])
    assert child["state_type"] == "COMPLETED"
    assert child["deployment_id"] == deployment(host, "Docker flow", "launch_podman")["id"]
    assert smoke_output(host, child["id"])["uid_save"] == child["id"]
    # The algorithm container ran on the HOST's podman (the shim reached the socket).
    # (podman 4.3's events ignore an image filter: match in Python.)
    started = host.check_output(
        f"podman events --stream=false --since {since} --filter event=start --format '{{{{.Image}}}}'").split()
    assert "localhost/pwb-smoke-algorithm:latest" in started, started
    # The flow-run container is kept (auto_remove false) and exited 0.
    code = host.check_output(
        f"podman ps -a --filter label=io.prefect.flow-run-id={child['id']} --format '{{{{.ExitCode}}}}'")
    assert code == "0"
    # Its job files landed in the host work directory.
    assert host.file(f"/var/lib/mlex-worker/jobs/{child['id']}/params.yaml").exists


def test_prune_timer_removes_only_old_flow_run_containers(host):
    assert host.service("prefect-flow-run-prune.timer").is_enabled
    before = host.check_output("podman ps -a -q --filter label=io.prefect.flow-run-id | wc -l")
    host.run_test("systemctl start prefect-flow-run-prune.service")
    after = host.check_output("podman ps -a -q --filter label=io.prefect.flow-run-id | wc -l")
    # All were created within the last hour: the 1h filter keeps them.
    assert int(before) >= 1 and after == before


def test_prune_counts_from_a_containers_exit_not_its_creation(host):
    """A job that ran longer than the prune age keeps its container after it exits (the
    worker reads its exit code), until it has been exited that long; running flow-run
    containers are never removed. (podman's prune --filter until= counts from creation.)"""
    prune = "/usr/local/libexec/podman-worker-bundle/prune-job-containers"
    run = "podman run -d --label io.prefect.flow-run-id={} localhost/prefect-with-podman:latest sleep {}"
    long_job = host.check_output(run.format("pwb-prune-long", 6))
    running = host.check_output(run.format("pwb-prune-running", 300))
    try:
        host.check_output(f"podman wait {long_job}")
        exited = host.check_output(f"podman ps -a --filter id={long_job} --format '{{{{.ExitedAt}}}}'")
        # An age whose cut-off falls 3 s before its exit, 3 s after its creation, however
        # long the calls so far took on a loaded machine (a fixed age raced them).
        host.run_test(f"{prune} $(( $(date +%s) - {exited} + 3 )) io.prefect.flow-run-id")
        assert host.run(f"podman container exists {long_job}").rc == 0
        time.sleep(4)
        out = host.check_output(f"{prune} 3 io.prefect.flow-run-id")  # exited > 3 s ago
        assert host.run(f"podman container exists {long_job}").rc == 1, out
        assert host.run(f"podman container exists {running}").rc == 0
    finally:
        host.run(f"podman rm --force --time 0 {long_job} {running}")


def test_status_reports_host_and_api_and_changes_nothing(host):
    """make status: what an operator sees, read from the host and the API. A paused
    pool with a queued run shows both; --check proves it only reads."""
    pool = "parent_pool"
    api(host, "PATCH", f"/work_pools/{pool}", {"is_paused": True})
    queued = submit_smoke_job(host)
    try:
        code, out, seconds = run_playbook("status.yml", "--check")
    finally:
        api(host, "POST", f"/flow_runs/{queued['id']}/set_state",
            {"state": {"type": "CANCELLED", "message": "status test"}, "force": True})
        api(host, "PATCH", f"/work_pools/{pool}", {"is_paused": False})
    assert code == 0, out[-3000:]
    assert recap_changed(out) == 0
    digest = json.loads(host.check_output("podman image inspect localhost/prefect-with-podman:latest"))[0]["Digest"]
    version = deployment(host, "Docker flow", "launch_podman")["version"]
    for line in (
        "podman: podman version",
        "socket /run/podman/podman.sock: answers",
        f"image localhost/prefect-with-podman:latest: digest {digest}, Prefect 3.4.2",
        "worker podman_pool: active/running, restarts ",
        "health ok (127.0.0.1:8082)",
        "Prefect API http://127.0.0.1:4200/api: server 3.4.2",
        "pool podman_pool: type docker, limit 4, taking runs",
        f"pool {pool}: type process, limit 4, PAUSED",
        f"deployment Docker flow/launch_podman: pool podman_pool, version {version}",
        "runs not yet final: SCHEDULED 1",
    ):
        assert line in out, f"{line!r} not in the report:\n{out[-4000:]}"
    print(f"status.yml --check: {seconds:.1f} s")
