"""Bad role input fails before any task that changes a host runs.

Each case runs the podman role in check mode against localhost; the failure must
come from argument_specs or validate.yml (both precede every other task) and name
the variable."""
import json
import re

import pytest

# The only tasks allowed to run before a bad value is rejected.
VALIDATION_TASKS = {"Validating arguments against arg spec 'main'", "Check rules that argument_specs cannot express"}

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  roles: [podman]
"""

CASES = [
    ({"podman_docker_compat": "docker"}, "podman_docker_compat"),
    ({"podman_service_idle_timeout": "soon"}, "podman_service_idle_timeout"),
    ({"podman_socket_enabled": "maybe"}, "podman_socket_enabled"),
    ({"podman_containers_conf": ["engine", "runtime"]}, "podman_containers_conf"),
    ({"podman_docker_compat": "env"}, "podman_docker_compat=env needs podman_rootless_user"),
    ({"podman_rootless_user": "bad user"}, "podman_rootless_user must be a valid user name"),
    ({"podman_rootless_user": "svc", "podman_rootless_user_home": "var/lib/svc"}, "must be absolute"),
    ({"podman_rootless_subid_count": 1000}, "podman_rootless_subid_count must be >= 65536"),
    ({"podman_docker_compat": "link", "podman_socket_enabled": False}, "link needs podman_socket_enabled"),
]


@pytest.mark.parametrize("extra,message", CASES, ids=[str(c[0]) for c in CASES])
def test_bad_input_fails_before_changes(ansible, tmp_path, extra, message):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    res = ansible(["ansible-playbook", "--check", str(play), "-e", json.dumps(extra)])
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert message in out, out
    # Nothing past validation ran.
    ran = {name.split(" - ")[0] for name in re.findall(r"^TASK \[podman : (.+?)\]", out, re.M)}
    assert ran and ran <= VALIDATION_TASKS, ran
    assert "changed=0" in out


def test_good_input_passes_validation(ansible, tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.replace("roles: [podman]", """tasks:
    - ansible.builtin.include_role:
        name: podman
        tasks_from: validate.yml
"""))
    extra = '{"podman_rootless_user": "svc", "podman_docker_compat": "env"}'
    res = ansible(["ansible-playbook", "--check", str(play), "-e", extra])
    assert res.returncode == 0, res.stdout + res.stderr
