"""Rootless end to end (molecule scenario `rootless`): the demo stack with
pwb_podman_rootless, so no job container is root on the host."""
import base64
import json
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import (  # noqa: E402
    SMOKE_OUT, api, children, deployment, published_and_shipped_templates, release_smoke_job, run_playbook, running_child,
    smoke_output, submit_smoke_job, wait_final)

HOST_VARS = yaml.safe_load((Path(__file__).resolve().parents[1] / "host_vars/pwb-rootless.yml").read_text())
PREFECT = HOST_VARS["pwb_prefect_version"]
UID = HOST_VARS["pwb_worker_uid"]
USER = "prefect-worker"
SOCKET = f"/run/user/{UID}/podman/podman.sock"
REMOTE = f"podman --remote --url unix://{SOCKET}"


def test_the_stack_runs_the_inventorys_prefect_version(host):
    """One variable (pwb_prefect_version) picks the server's, the workers' and the
    flow-run image's Prefect; each from the lock of that version."""
    assert json.loads(host.check_output(f"curl -sf --max-time 10 --cacert {TRUST_BUNDLE} {API_URL}/admin/version")) == PREFECT
    for unit in ("prefect-server.service", "prefect-worker@podman_pool.service"):
        exec_start = host.check_output(f"systemctl show -p ExecStart --value {unit}")
        assert f"/opt/prefect/venvs/{PREFECT}-" in exec_start, (unit, exec_start)
    label = host.check_output(f"{REMOTE} image inspect --format '{{{{index .Labels \"org.mlexchange.pwb.prefect-version\"}}}}' "
                              "localhost/prefect-with-podman:latest")
    assert label == PREFECT
    # The pools' base job templates registration ships for this version are its own.
    published, shipped = published_and_shipped_templates(host, "/opt/prefect/venv/bin/python", PREFECT)
    assert published == shipped


def test_worker_user_has_the_inventory_uid_and_its_own_socket(host):
    assert host.user(USER).uid == UID
    assert host.file(f"/var/lib/systemd/linger/{USER}").exists
    sock = host.file(SOCKET)
    assert sock.is_socket and sock.user == USER
    assert host.check_output(f"{REMOTE} info --format '{{{{.Host.Security.Rootless}}}}'") == "true"
    # The role's default driver; native overlay where the kernel allows it (its home is
    # a filesystem of its own here, molecule.yml), else fuse-overlayfs: never vfs.
    store = json.loads(host.check_output(f"{REMOTE} info --format '{{{{json .Store}}}}'"))
    assert store["graphDriverName"] == "overlay", store["graphDriverName"]
    print(f"rootless storage: {store['graphDriverName']}, {store['graphStatus']}")


def test_rootful_socket_is_off(host):
    assert not host.service("podman.socket").is_running
    assert not host.service("podman.socket").is_enabled
    # Nobody answers there (a stopped socket unit may leave its file behind).
    ping = host.run("curl -s --max-time 5 --unix-socket /run/podman/podman.sock http://d/_ping")
    assert ping.rc != 0 and ping.stdout != "OK"


def test_images_live_in_the_users_storage_only(host):
    for image in ("localhost/prefect-with-podman:latest", "localhost/pwb-smoke-algorithm:latest"):
        assert host.run(f"{REMOTE} image exists {image}").rc == 0, image
        assert host.run(f"podman image exists {image}").rc == 1, f"{image} in root's storage"


def test_workers_use_the_users_socket(host):
    for pool in ("podman_pool", "parent_pool"):
        unit = f"prefect-worker@{pool}.service"
        assert host.service(unit).is_running, unit
        assert f"user@{UID}.service" in host.check_output(f"systemctl show -p After --value {unit}")
        pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
        environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()
        engine = "DOCKER_HOST" if pool == "podman_pool" else "CONTAINER_HOST"
        assert f"{engine}=unix://{SOCKET}" in environ, environ
    # The docker pool's template (locked) maps the user's socket into flow-run containers.
    volumes = api(host, "GET", "/work_pools/podman_pool")["base_job_template"]["job_configuration"]["volumes"]
    assert f"{SOCKET}:/var/run/docker.sock" in volumes


def test_job_runs_as_the_worker_user_not_root(host):
    run = wait_final(host, submit_smoke_job(host)["id"], timeout=240)
    assert run["state_type"] == "COMPLETED", run["state"]
    [child] = children(host, run["id"])
    assert child["state_type"] == "COMPLETED", child["state"]
    assert smoke_output(host, child["id"])["uid_save"] == child["id"]
    # Root inside the algorithm container wrote its output as the worker user on the host,
    # and the flow-run container its job files.
    assert host.file(f"{SMOKE_OUT}/{child['id']}.json").uid == UID
    assert host.file(f"/var/lib/mlex-worker/jobs/{child['id']}/params.yaml").uid == UID
    # Both containers ran in the user's podman: the flow-run one is kept, exit code 0.
    code = host.check_output(
        f"{REMOTE} ps -a --filter label=io.prefect.flow-run-id={child['id']} --format '{{{{.ExitCode}}}}'")
    assert code == "0"


API_URL = "https://127.0.0.1:4443/api"
TRUST_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def test_the_stack_reaches_the_api_only_through_the_site_ca_endpoint(host):
    """host_vars point every client at an HTTPS endpoint whose certificate a test CA
    signed (nginx, prepare.yml). Prefect's clients verify with certifi's bundle unless
    told otherwise, and certifi does not know that CA: the job above completed only
    because the bundle's CA setting reached the workers, `prefect deploy` and the
    flow-run containers."""
    venv_python = "/opt/prefect/venv/bin/python"
    for pool in ("podman_pool", "parent_pool"):
        pid = host.check_output(f"systemctl show -p MainPID --value prefect-worker@{pool}.service")
        environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()
        assert f"PREFECT_API_URL={API_URL}" in environ, environ
        assert f"PREFECT_API_SSL_CERT_FILE={TRUST_BUNDLE}" in environ, environ
    # The control: Prefect's default (certifi) refuses the endpoint; the host's store,
    # with the site CA the role installed, accepts it.
    probe = ("import sys, certifi, httpx; "
             f"print(httpx.get('{API_URL}/health', verify=sys.argv[1] or certifi.where()).text)")
    refused = host.run(f"{venv_python} -c \"{probe}\" ''")
    assert refused.rc != 0 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr, refused.stderr
    assert host.check_output(f"{venv_python} -c \"{probe}\" {TRUST_BUNDLE}") == "true"
    # Both workers poll through it, and registration created deployments through it.
    log = host.check_output("cat /var/log/nginx/access.log")
    for pool in ("podman_pool", "parent_pool"):
        assert f"POST /api/work_pools/{pool}/get_scheduled_flow_runs HTTP" in log, pool
    assert "POST /api/deployments/ HTTP" in log
    # The flow-run container of the job above: the image trusts the site CA too.
    image = "localhost/prefect-with-podman:latest"
    host.run_test(f"{REMOTE} run --rm --network host {image} python -c "
                  f"\"import urllib.request; urllib.request.urlopen('{API_URL}/health')\"")
    # Before any change, site.yml's host checks read the server's version through the
    # endpoint with pwb_extra_ca_bundle as the controller has it (the host may not hold
    # it yet). The control: a public bundle without the site CA does not verify.
    code, out, _ = run_playbook("host-checks.yml", "-v")
    assert code == 0 and f'"version": "{PREFECT}"' in out, out[-3000:]
    code, out, _ = run_playbook("host-checks.yml", "-v", "-e", "pwb_extra_ca_bundle=/etc/ssl/certs/ca-certificates.crt")
    assert "CERTIFICATE_VERIFY_FAILED" in out and f'"version": "{PREFECT}"' not in out, out[-3000:]


def test_job_socket_does_not_give_root_on_the_host(host):
    """What a job container can do with its socket: start a privileged container with
    the host's / mounted. Rootless, that writes only where the worker user may."""
    image = "localhost/prefect-with-podman:latest"
    escape = host.run(f"{REMOTE} run --rm --privileged -v /:/host {image} touch /host/root/pwb-escape")
    assert escape.rc != 0 and "Permission denied" in escape.stderr, escape.stderr
    assert not host.file("/root/pwb-escape").exists
    # Control: the same mount writes where the worker user may write.
    host.run_test(f"{REMOTE} run --rm --privileged -v /:/host {image} touch /host/var/lib/mlex-worker/pwb-probe")
    assert host.file("/var/lib/mlex-worker/pwb-probe").uid == UID
    host.run_test("rm -f /var/lib/mlex-worker/pwb-probe")


def test_prune_timer_reaches_the_users_podman(host):
    before = host.check_output(f"{REMOTE} ps -a -q --filter label=io.prefect.flow-run-id | wc -l")
    host.run_test("systemctl start prefect-flow-run-prune.service")
    assert int(before) >= 1
    assert host.check_output(f"{REMOTE} ps -a -q --filter label=io.prefect.flow-run-id | wc -l") == before


def test_worker_restarts_only_after_its_flows_end(host):
    """New settings restart the workers, and stopping a process pool's worker kills the
    flows it runs (its child processes): the restart waits for them. With a 5 s
    prefect_worker_services_restart_timeout the play fails naming the flow, and the
    parent keeps running under the old worker; the next run (same settings, so only
    the marker asks for the restart) waits for the job to end, then restarts it."""
    marker = "/etc/prefect-worker/pools/parent_pool.restart"
    # Only parent_pool's settings change (its worker's --limit), so only it restarts.
    settings = {"pwb_pools": [
        {"name": "podman_pool", "type": "docker", "concurrency_limit": 4, "worker_limit": 4, "health_port": 8082},
        {"name": "parent_pool", "type": "process", "concurrency_limit": 4, "worker_limit": 3, "health_port": 8083}]}

    def main_pid(pool="parent_pool"):
        return host.check_output(f"systemctl show -p MainPID --value prefect-worker@{pool}.service")

    # Held until released (a play's length on a loaded machine is no guess to sleep by).
    release = f"restart-{time.time_ns()}"
    parent = submit_smoke_job(host, sleep_s=900, release=release)
    running_child(host, parent["id"])
    before, docker_worker = main_pid(), main_pid("podman_pool")
    code, out, _ = run_playbook("site.yml", "--tags", "workers", "-e",
                                json.dumps({**settings, "prefect_worker_services_restart_timeout": 5}))
    assert code != 0 and "prefect-worker@parent_pool still runs flows after 5 s" in out, out[-3000:]
    assert main_pid() == before and host.file(marker).exists
    assert api(host, "GET", f"/flow_runs/{parent['id']}")["state_type"] == "RUNNING"

    release_smoke_job(host, release, after_s=30)
    code, out, _ = run_playbook("site.yml", "--tags", "workers", "-e", json.dumps(settings))
    assert code == 0, out[-3000:]
    run = wait_final(host, parent["id"], timeout=180)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert main_pid() != before and not host.file(marker).exists
    environ = host.check_output(f"tr '\\0' '\\n' < /proc/{main_pid()}/environ").splitlines()
    assert "PWB_WORKER_LIMIT=3" in environ
    assert main_pid("podman_pool") == docker_worker
    # It restarted after the parent flow had ended.
    started = host.check_output(
        "systemctl show -p ExecMainStartTimestamp --value --timestamp=unix prefect-worker@parent_pool.service")
    ended = host.check_output(f"date -d {run['end_time']} +%s")
    assert int(started.lstrip("@")) >= int(ended), (started, run["end_time"])


@pytest.mark.parametrize("variable", ["pwb_prefect_api_auth_string", "pwb_prefect_api_key"])
def test_worker_secret_reaches_only_the_private_env_file(host, variable):
    """Give the workers a new API credential (the demo server ignores it). With --diff
    and -v the play never shows it; while `prefect deploy` runs (one deployment was
    removed, so registration deploys it again) no process's command line holds it; on
    the host only the 0600 worker.env and the registration's 0600 Prefect profile hold
    it: not the deployment files, the worker user's home, the work dir or the journal.
    Last: it restarts the workers."""
    token = f"rotated-{variable[-6:]}-{int(time.time())}"
    secret = f"pwb-worker:{token}" if variable.endswith("auth_string") else token
    parent = deployment(host, "Parent flow", "launch_parent_flow")
    api(host, "DELETE", f"/deployments/{parent['id']}")
    # The process table, sampled every 0.1 s until the play ends.
    host.run_test("rm -f /tmp/pwb-ps.log /tmp/pwb-ps.stop; (while [ ! -e /tmp/pwb-ps.stop ]; do"
                  " ps -eo args >> /tmp/pwb-ps.log; sleep 0.1; done) >/dev/null 2>&1 &")
    try:
        code, out, _ = run_playbook("site.yml", "--tags", "registration,workers", "--diff", "-v",
                                    "-e", json.dumps({variable: secret}))
    finally:
        host.run_test("touch /tmp/pwb-ps.stop")
    assert code == 0, out[-3000:]
    assert token not in out
    assert deployment(host, "Parent flow", "launch_parent_flow") is not None
    processes = host.file("/tmp/pwb-ps.log").content_string
    assert " deploy " in processes and "launch_parent_flow" in processes, "the sampling missed prefect deploy"
    assert token not in processes
    # Container storage is left out: no job ran with the new secret.
    holders = host.check_output(
        f"grep -rlsF -D skip --exclude-dir=containers {token} /etc /opt /run /tmp /var/tmp"
        " /var/lib/prefect-worker /var/lib/mlex-worker /srv || true").split()
    private = ["/etc/prefect-worker/deployments/profiles.toml", "/etc/prefect-worker/worker.env"]
    assert sorted(holders) == private, holders
    for path in private:
        assert (host.file(path).user, host.file(path).mode) == ("root", 0o600), path
    # The whole journal, plain and as basic auth's base64 (the modules' own log lines
    # of the API calls are there).
    b64 = base64.b64encode(secret.encode()).decode()
    journal = host.run(f"journalctl --no-pager | grep -c -F -e {token} -e {b64}")
    assert journal.stdout.strip() == "0", "the journal holds the worker secret"
