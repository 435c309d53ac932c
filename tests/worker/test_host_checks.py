"""playbooks/host-checks.yml (site.yml, right after the preflight) against a real
Prefect server, the session's harness: what only a worker host can tell is read
before any host is changed. A client newer than the server, a job volume whose host
path is not there and an API that does not answer are refused, each with a message
that names the variable."""
import json
import socket
import subprocess
import sys

import pytest

from conftest import PLAYBOOK_BIN, ROOT


@pytest.fixture
def api(prefect_harness):
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def host_checks(tmp_path, api_url, **extra):
    """Run host-checks.yml on this machine as the one worker host: (exit code, output)."""
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True, exist_ok=True)
    if not (inv / "group_vars" / "all").exists():
        (inv / "group_vars" / "all").symlink_to(ROOT / "group_vars" / "all")
    (inv / "hosts.yml").write_text(json.dumps({"all": {"children": {"podman_workers": {"hosts": {"pwb-local": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
    data = tmp_path / "shared-storage"
    data.mkdir(exist_ok=True)
    # Not root here: the play's become is for real hosts (root-only paths).
    variables = {"pwb_prefect_api_url": api_url, "pwb_container_volumes": [f"{data}:/tiled_storage"],
                 "ansible_become": False, **extra}
    res = subprocess.run([str(PLAYBOOK_BIN), "-i", str(inv), "playbooks/host-checks.yml", "-e", json.dumps(variables)],
                         cwd=ROOT, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
                              "ANSIBLE_NOCOLOR": "1"})
    return res.returncode, res.stdout + res.stderr


def test_a_client_as_new_as_the_server_or_older_passes(api, tmp_path):
    import prefect

    for version in (prefect.__version__, "3.0.0"):
        code, out = host_checks(tmp_path, api, pwb_prefect_version=version)
        assert code == 0, out[-3000:]


def test_a_client_newer_than_the_server_is_refused(api, tmp_path):
    import prefect

    code, out = host_checks(tmp_path, api, pwb_prefect_version="3.99.1")
    assert code != 0
    assert (f"pwb_prefect_version: 3.99.1 on pwb-local is newer than the Prefect server ({prefect.__version__}"
            f" at {api})") in " ".join(out.split()), out[-3000:]


def test_a_job_volume_whose_host_path_is_missing_is_refused(api, tmp_path):
    code, out = host_checks(tmp_path, api, pwb_container_volumes=[f"{tmp_path}/not-mounted:/tiled_storage"])
    assert code != 0
    assert (f"mlex_worker_code_container_volumes (pwb_container_volumes): {tmp_path}/not-mounted does not exist"
            " on pwb-local") in " ".join(out.split()), out[-3000:]


def test_an_api_that_does_not_answer_is_refused(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/api"
    code, out = host_checks(tmp_path, url)
    assert code != 0
    assert f"pwb_prefect_api_url: the Prefect API at {url} did not answer pwb-local" in " ".join(out.split()), out[-3000:]


def test_a_socket_group_that_others_are_in_is_refused(api, tmp_path):
    """Its members are root through the rootful socket: a group others already
    share (here nogroup, the primary group of nobody and of _apt) is refused, naming
    them, before any change; the bundle's own group is not there yet, and passes."""
    shared = [u.split(":")[0] for u in open("/etc/passwd").read().splitlines() if u.split(":")[3] == "65534"]
    code, out = host_checks(tmp_path, api, pwb_podman_socket_group="nogroup")
    assert code != 0
    assert (f"podman_socket_group: nogroup opens root's podman socket on pwb-local, so its members are root there,"
            f" but {', '.join(sorted(shared))} {'is' if len(shared) == 1 else 'are'} in it (nobody may be)."
            " Name a group of its own (pwb_podman_socket_group)") in " ".join(out.split()), out[-3000:]
    code, out = host_checks(tmp_path, api)
    assert code == 0, out[-3000:]
