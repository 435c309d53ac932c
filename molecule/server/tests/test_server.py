"""Verify the Prefect server (molecule scenario `server`)."""
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import recap_changed, run_playbook  # noqa: E402

AUTH = "pwb-admin:not-a-real-secret"
API = "http://127.0.0.1:4200/api"
LOCKS = Path(__file__).resolve().parents[3] / "roles/prefect_runtime/files/locks"
VERSIONS = sorted((p.stem.removeprefix("prefect-") for p in LOCKS.glob("prefect-*.txt")),
                  key=lambda v: tuple(int(x) for x in v.split(".")))
DEFAULT = "3.4.2"  # the role's default, which converge.yml keeps


def http_code(host, args):
    return host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 {args}")


def test_venv_has_the_locked_versions(host):
    """The server runs from its lock's own venv; /opt/prefect/venv is the operators' link to it."""
    venv = host.check_output("readlink /opt/prefect/venv")
    assert venv.startswith(f"/opt/prefect/venvs/{DEFAULT}-"), venv
    assert f"ExecStart={venv}/bin/prefect server start" in host.file("/etc/systemd/system/prefect-server.service").content_string
    py = "/opt/prefect/venv/bin/python"
    assert host.check_output(f"{py} -c 'import prefect; print(prefect.__version__)'") == DEFAULT
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


def server_version(host):
    return json.loads(host.check_output(f"curl -sf --max-time 10 -u {AUTH} {API}/admin/version"))


def pool_names(host):
    out = host.check_output(f"curl -sf --max-time 10 -u {AUTH} -H 'Content-Type: application/json' -X POST {API}/work_pools/filter -d '{{}}'")
    return {p["name"] for p in json.loads(out)}


def create_pool(host, name):
    host.check_output(f"curl -sf --max-time 10 -u {AUTH} -H 'Content-Type: application/json' -X POST {API}/work_pools/ "
                      f"-d '{{\"name\": \"{name}\", \"type\": \"process\"}}'")


def converge_version(version):
    code, out, seconds = run_playbook("molecule/server/converge.yml", "-e", f"prefect_runtime_version={version}")
    assert code == 0, out[-3000:]
    print(f"converge to Prefect {version}: {seconds:.0f} s, changed={recap_changed(out)}")
    return out


def venvs(host):
    return set(host.check_output("ls /opt/prefect/venvs").split()) - {"venvs.json"}


def test_upgrade_and_back_by_the_version_alone_keep_the_database(host):
    """pwb_prefect_version (here the role's prefect_runtime_version) alone moves the server
    to the newest locked Prefect and back: a venv of its own beside the old one, the
    SQLite database copied before the new server migrates it up, and migrated down by
    the newer server before the older one starts on it. What was in the database before
    each move is there after it."""
    newest, middle = VERSIONS[-1], VERSIONS[-2]
    assert newest != DEFAULT and middle != DEFAULT, VERSIONS
    old_venv = host.check_output("readlink /opt/prefect/venv")
    create_pool(host, "pwb-made-before-upgrade")

    converge_version(newest)
    assert server_version(host) == newest
    new_venv = host.check_output("readlink /opt/prefect/venv")
    assert new_venv.startswith(f"/opt/prefect/venvs/{newest}-") and host.file(old_venv).is_directory
    # A venv of its own: none of the old lock's packages is left in it.
    assert host.check_output(f"{new_venv}/bin/python -c 'import prefect_docker; print(prefect_docker.__version__)'") != "0.6.5"
    [backup] = host.check_output(f"ls /var/lib/prefect-server/backups/ | grep '^prefect.db.{DEFAULT}[.]'").split()
    backup = f"/var/lib/prefect-server/backups/{backup}"
    assert host.file(backup).mode == 0o600 and host.file(backup).user == "prefect-server"
    saved = host.check_output(f"{old_venv}/bin/python -c \"import sqlite3; print(sorted(r[0] for r in sqlite3.connect('{backup}')"
                              f".execute('select name from work_pool')))\"")
    assert "pwb-made-before-upgrade" in saved, saved
    assert "pwb-made-before-upgrade" in pool_names(host)
    create_pool(host, "pwb-made-on-newest")

    out = converge_version(DEFAULT)
    assert server_version(host) == DEFAULT
    assert host.check_output("readlink /opt/prefect/venv") == old_venv
    # Back to a kept venv: nothing installed.
    assert not re.search(r"TASK \[prefect_runtime : Install the locked packages into the venv\][^\n]*\n(changed|ok):", out), out[-3000:]
    assert {"pwb-made-before-upgrade", "pwb-made-on-newest"} <= pool_names(host)
    assert venvs(host) == {old_venv.rsplit("/", 1)[1], new_venv.rsplit("/", 1)[1]}

    # A third version: the one before the last stays, older ones go.
    converge_version(middle)
    assert server_version(host) == middle
    mid_venv = host.check_output("readlink /opt/prefect/venv")
    assert venvs(host) == {mid_venv.rsplit("/", 1)[1], old_venv.rsplit("/", 1)[1]}

    converge_version(DEFAULT)
    assert server_version(host) == DEFAULT and {"pwb-made-before-upgrade", "pwb-made-on-newest"} <= pool_names(host)
    out = converge_version(DEFAULT)
    assert recap_changed(out) == 0


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
