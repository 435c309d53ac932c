"""Rootless end to end (molecule scenario `rootless`): the demo stack with
pwb_podman_rootless, so no job container is root on the host."""
import base64
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import (  # noqa: E402
    SMOKE_OUT, api, children, deployment, run_playbook, smoke_output, submit_smoke_job, wait_final)

UID = 2001
USER = "prefect-worker"
SOCKET = f"/run/user/{UID}/podman/podman.sock"
REMOTE = f"podman --remote --url unix://{SOCKET}"


def test_worker_user_has_the_inventory_uid_and_its_own_socket(host):
    assert host.user(USER).uid == UID
    assert host.file(f"/var/lib/systemd/linger/{USER}").exists
    sock = host.file(SOCKET)
    assert sock.is_socket and sock.user == USER
    assert host.check_output(f"{REMOTE} info --format '{{{{.Host.Security.Rootless}}}}'") == "true"


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


def test_worker_secret_reaches_only_the_private_env_file(host):
    """Give the workers an API auth string (the demo server ignores it). With --diff
    and -v the play never shows it, and on the host only the 0600 worker.env and the
    registration's 0600 Prefect profile hold it: not the deployment files, the
    worker user's home, the work dir or the journal. Last: it restarts the workers."""
    secret = f"pwb-worker:rotated-{int(time.time())}"
    token = secret.split(":")[1]
    code, out, _ = run_playbook("site.yml", "--tags", "registration,workers", "--diff", "-v",
                                "-e", json.dumps({"pwb_prefect_api_auth_string": secret}))
    assert code == 0, out[-3000:]
    assert token not in out
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
