"""Verify the Prefect server (molecule scenario `server`)."""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import run_playbook  # noqa: E402

AUTH = "pwb-admin:not-a-real-secret"
API = "http://127.0.0.1:4200/api"


def http_code(host, args):
    return host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 {args}")


def test_venv_has_the_locked_versions(host):
    py = "/opt/prefect/venv/bin/python"
    assert host.check_output(f"{py} -c 'import prefect; print(prefect.__version__)'") == "3.4.2"
    assert host.check_output(f"{py} -c 'import prefect_docker; print(prefect_docker.__version__)'") == "0.6.5"


def test_unit_enabled_running_with_restart_policy(host):
    svc = host.service("prefect-server.service")
    assert svc.is_enabled and svc.is_running
    assert host.check_output("systemctl show -p Restart --value prefect-server.service") == "on-failure"
    pid = host.check_output("systemctl show -p MainPID --value prefect-server.service")
    uid = host.check_output(f"awk '/^Uid:/ {{print $2}}' /proc/{pid}/status")
    assert uid == str(host.user("prefect-server").uid)


def test_listens_on_loopback_only(host):
    assert host.socket("tcp://127.0.0.1:4200").is_listening
    assert not host.socket("tcp://0.0.0.0:4200").is_listening


def test_health_and_auth(host):
    assert host.check_output(f"curl -sf --max-time 10 {API}/health") == "true"
    assert http_code(host, f"-X POST {API}/work_pools/filter") == "401"
    assert http_code(host, f"-u {AUTH} -X POST {API}/work_pools/filter") == "200"


def test_env_file_is_private_and_analytics_off(host):
    env = host.file("/etc/prefect-server/prefect-server.env")
    assert env.user == "root" and env.mode == 0o600
    assert "PREFECT_SERVER_ANALYTICS_ENABLED=false" in env.content_string
    assert host.file("/etc/prefect-server").mode == 0o700


def test_sqlite_database_under_state_dir(host):
    db = host.file("/var/lib/prefect-server/prefect.db")
    assert db.exists and db.user == "prefect-server"


def test_killed_server_is_restarted_by_systemd(host):
    old = host.check_output("systemctl show -p MainPID --value prefect-server.service")
    host.check_output(f"kill -9 {old}")
    start = time.monotonic()
    # A bound, not a target: under a neighbouring scenario's load a start takes longer.
    while time.monotonic() - start < 240:
        new = host.check_output("systemctl show -p MainPID --value prefect-server.service")
        if new not in ("0", old) and host.run(f"curl -sf --max-time 3 {API}/health").rc == 0:
            break
        time.sleep(1)
    else:
        raise AssertionError("prefect-server did not come back healthy within 240 s")
    print(f"prefect-server healthy again {time.monotonic() - start:.1f} s after kill -9")


def test_a_new_secret_reaches_only_the_private_env_file(host):
    """Rotate the auth string (last: later tests would need the old one). The converge
    log, with --diff and -v, never shows it; on the host only the 0600 env file holds it."""
    secret = "pwb-admin:rotated-" + str(int(time.time()))
    code, out, _ = run_playbook("molecule/server/converge.yml", "--diff", "-v",
                                "-e", json.dumps({"prefect_server_api_auth_string": secret}))
    assert code == 0, out[-3000:]
    assert "changed=0" not in out  # the env file changed and the server restarted
    assert secret not in out and secret.split(":")[1] not in out
    holders = host.check_output(
        f"grep -rlsF -D skip {secret.split(':')[1]} /etc /opt /var/lib/prefect-server /run /tmp /var/tmp || true").split()
    assert holders == ["/etc/prefect-server/prefect-server.env"], holders
    assert host.run(f"journalctl -u prefect-server --no-pager | grep -F {secret.split(':')[1]}").rc == 1
    assert http_code(host, f"-u {secret} -X POST {API}/work_pools/filter") == "200"
