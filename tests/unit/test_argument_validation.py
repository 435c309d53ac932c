"""Bad role input fails before any task that changes a host runs.

Each case runs a role in check mode against localhost; the failure must come from
argument_specs or the role's validate.yml (both precede every other task) and the
message must name the variable."""
import json
import re

import pytest

# The only tasks allowed to run before a bad value is rejected.
VALIDATION_TASKS = {"Validating arguments against arg spec 'main'", "Check rules that argument_specs cannot express",
                    "Check that a server beyond loopback requires an auth string"}

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  roles: [{role}]
"""

CASES = [
    ("podman", {"podman_docker_compat": "docker"}, "podman_docker_compat"),
    ("podman", {"podman_service_idle_timeout": "soon"}, "podman_service_idle_timeout"),
    ("podman", {"podman_socket_enabled": "maybe"}, "podman_socket_enabled"),
    ("podman", {"podman_containers_conf": ["engine", "runtime"]}, "podman_containers_conf"),
    ("podman", {"podman_docker_compat": "env"}, "podman_docker_compat=env needs podman_rootless_user"),
    ("podman", {"podman_rootless_user": "bad user"}, "podman_rootless_user must be a valid user name"),
    ("podman", {"podman_rootless_user": "svc", "podman_rootless_user_home": "var/lib/svc"}, "must be absolute"),
    ("podman", {"podman_rootless_subid_count": 1000}, "podman_rootless_subid_count must be >= 65536"),
    ("podman", {"podman_docker_compat": "link", "podman_socket_enabled": False}, "link needs podman_socket_enabled"),
    ("prefect_podman_image", {"prefect_podman_image_prefect_version": "3.9.9"},
     "needs a lock file roles/prefect_runtime/files/locks/prefect-3.9.9.txt (supported: 3.4.2, 3.6.10, 3.9.1)"),
    ("prefect_podman_image", {"prefect_podman_image_name": "Prefect-With-Podman:latest"}, "prefect_podman_image_name must be"),
    ("prefect_podman_image", {"prefect_podman_image_rollback_tag": "latest"}, "must be valid, different tags"),
    ("prefect_podman_image", {"prefect_podman_image_base_source": "registry"}, "prefect_podman_image_base_source"),
    ("prefect_podman_image", {"prefect_podman_image_build_dir": "build"}, "must be absolute paths"),
    ("prefect_podman_image", {"prefect_podman_image_extra_ca_bundle": "/nonexistent/ca.pem"},
     "prefect_podman_image_extra_ca_bundle must be a file on the controller"),
    ("prefect_podman_image", {"prefect_podman_image_build_proxy": {"ftp_proxy": "x"}}, "prefect_podman_image_build_proxy keys"),
    ("prefect_podman_image", {"prefect_podman_image_base_archive": "/nonexistent/base.tar"},
     "prefect_podman_image_base_archive must be a file on the controller"),
    ("prefect_podman_image", {"prefect_podman_image_build_network": "bridge"}, "prefect_podman_image_build_network"),
    ("prefect_runtime", {"prefect_runtime_version": "2.20.0"}, "needs a lock file roles/prefect_runtime/files/locks/prefect-2.20.0.txt"),
    ("prefect_runtime", {"prefect_runtime_venvs_dir": "venvs"}, "prefect_runtime_venvs_dir and prefect_runtime_venv_link must be absolute"),
    ("prefect_runtime", {"prefect_runtime_venv_link": "venv"}, "prefect_runtime_venvs_dir and prefect_runtime_venv_link must be absolute"),
    ("prefect_runtime", {"prefect_runtime_pip_index_url": "pypi.example.org"}, "must be an http(s) URL"),
    ("prefect_server", {"prefect_server_port": 70000}, "prefect_server_port must be 1-65535"),
    ("prefect_server", {"prefect_server_port": "http"}, "prefect_server_port"),
    ("prefect_server", {"prefect_server_database_url": "mysql://u:SECRET-db-pw@db/p"}, "must start with"),
    ("prefect_server", {"prefect_server_api_auth_string": "SECRET-no-colon"}, '"user:password"'),
    ("prefect_server", {"prefect_server_host": "0.0.0.0"},
     "prefect_server_host: '0.0.0.0' listens beyond loopback, so the API needs an auth string"),
    ("prefect_server", {"prefect_server_host": "::"}, "prefect_server_host: '::' listens beyond loopback"),
    ("mlex_worker_code", {"mlex_worker_code_hpc_type": "lcls"}, "mlex_worker_code_hpc_type"),
    ("mlex_worker_code", {"mlex_worker_code_container_volumes": ["/srv/data"]},
     "mlex_worker_code_container_volumes: every job container gets these, so they must be HOST:CONTAINER[:OPTIONS] "
     "(e.g. /srv/data:/data:ro) and no system directory or socket of the host: "
     "/srv/data: not HOST:CONTAINER[:OPTIONS] with an absolute container path"),
    ("mlex_worker_code", {"mlex_worker_code_source": "git"}, "mlex_worker_code_git_repo: source git needs"),
    ("mlex_worker_code", {"mlex_worker_code_job_retention": "weekly"}, "mlex_worker_code_job_retention: must be a systemd-tmpfiles age"),
    ("mlex_worker_code", {"mlex_worker_code_dir": "opt/worker"},
     "mlex_worker_code_dir: must be an absolute path and not a system directory (got 'opt/worker')"),
    ("mlex_worker_code", {"mlex_worker_code_child_deployments": {"podman": {"name": "launch_podman"}}},
     'mlex_worker_code_child_deployments: every entry needs a name "<flow name>/<deployment name>"'),
    ("prefect_registration", {"prefect_registration_api_url": "127.0.0.1:4200"},
     "prefect_registration_api_url: must be an http(s) URL ending in /api"),
    ("prefect_registration", {"prefect_registration_pools": [{"name": "podman pool", "type": "docker"}]},
     "prefect_registration_pools: pool names may hold letters, digits, '_', '.', '-' only (wrong: ['podman pool'])"),
    ("prefect_registration", {"prefect_registration_pools": [{"name": "podman_pool", "type": "docker", "concurrency_limit": -1}]},
     "prefect_registration_pools: a pool's concurrency_limit must be >= 1"),
    ("prefect_registration", {"prefect_registration_pools": [{"name": "podman_pool", "type": "docker", "concurrency_limit": "four"}]},
     "concurrency_limit"),
    ("prefect_registration", {"prefect_registration_pools": [{"name": "podman_pool", "type": "process"},
                                                            {"name": "parent_pool", "type": "process"}]},
     "prefect_registration_podman_pool: 'podman_pool' must be a pool of type docker (prefect_registration_podman_mode)"),
    ("prefect_registration", {"prefect_registration_pools": [{"name": "podman_pool", "type": "kubernetes"}]}, "kubernetes"),
    ("prefect_registration", {"prefect_registration_podman_image": "Prefect With Podman"},
     "prefect_registration_podman_image: must be an image reference"),
    ("prefect_registration", {"prefect_registration_podman_volumes": ["/data"]},
     "prefect_registration_podman_volumes: every flow-run container gets these, so they must be HOST:CONTAINER[:OPTIONS] "
     "(e.g. /srv/data:/data:ro) and no system directory or socket of the host: "
     "/data: not HOST:CONTAINER[:OPTIONS] with an absolute container path"),
    ("prefect_registration", {"prefect_registration_podman_socket": "run/podman/podman.sock"},
     "prefect_registration_podman_socket: must be the absolute path"),
    ("prefect_registration", {"prefect_registration_api_auth_string": "SECRET-no-colon"},
     'prefect_registration_api_auth_string: must be "user:password"'),
    ("prefect_worker_services", {"prefect_worker_services_pools": [
        {"name": "podman_pool", "type": "docker", "worker_limit": 2, "health_port": 8082},
        {"name": "parent_pool", "type": "process", "worker_limit": 2, "health_port": 8082}]},
     "prefect_worker_services_pools: two workers on one host cannot share a health_port"),
    ("prefect_worker_services", {"prefect_worker_services_pools": [
        {"name": "podman_pool", "type": "docker", "worker_limit": 0, "health_port": 8082}]},
     "prefect_worker_services_pools: every pool needs a worker_limit >= 1"),
    ("prefect_worker_services", {"prefect_worker_services_pools": [
        {"name": "podman_pool", "type": "docker", "worker_limit": 1, "health_port": 80}]},
     "prefect_worker_services_pools: every pool needs a health_port between 1024 and 65535"),
    ("prefect_worker_services", {"prefect_worker_services_pools": [
        {"name": "podman_pool", "type": "docker", "worker_limit": 1, "health_port": 8082, "engine": False},
        {"name": "parent_pool", "type": "process", "worker_limit": 1, "health_port": 8083, "engine": False}]},
     "prefect_worker_services_pools: a docker pool's worker starts its flow runs on the engine, so its engine cannot be false"
     " (got ['podman_pool'])"),
    ("prefect_worker_services", {"prefect_worker_services_pools": [
        {"name": "parent_pool", "type": "process", "worker_limit": 1, "health_port": 8083, "engine": "no way"}]},
     "prefect_worker_services_pools"),
    ("prefect_worker_services", {"prefect_worker_services_engine_group": "Podman Socket"},
     "prefect_worker_services_engine_group: must be a group name or empty"),
    ("prefect_worker_services", {"prefect_worker_services_docker_host": "/run/podman/podman.sock"},
     "prefect_worker_services_docker_host: must be unix:///path/to/podman.sock or tcp://host:port"),
    ("prefect_worker_services", {"prefect_worker_services_api_url": "http://prefect.example.org"},
     "prefect_worker_services_api_url: must be an http(s) URL ending in /api"),
    ("prefect_worker_services", {"prefect_worker_services_prune_after": "daily"}, "prefect_worker_services_prune_after: must be a duration"),
    ("prefect_worker_services", {"prefect_worker_services_watch_attempts": 1},
     "prefect_worker_services_watch_interval: must be at least 10 (s), and prefect_worker_services_watch_attempts at least 2"),
    ("smoke_job", {"smoke_job_volume": "tiled:/tiled_storage"}, "smoke_job_volume: must be one of config.yml's container volumes"),
    ("smoke_job", {"smoke_job_deployment": "launch_parent_flow"}, 'smoke_job_deployment: must be "<flow name>/<deployment name>"'),
]


@pytest.mark.parametrize("role,extra,message", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_bad_input_fails_before_changes(ansible, tmp_path, role, extra, message):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(role=role))
    res = ansible(["ansible-playbook", "--check", str(play), "-e", json.dumps(extra)])
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert message in out, out
    # Nothing past validation ran.
    ran = {name.split(" - ")[0] for name in re.findall(rf"^TASK \[{role} : (.+?)\]", out, re.M)}
    assert ran and ran <= VALIDATION_TASKS, ran
    assert "changed=0" in out
    # Secrets never show up, not even in the error that rejects them.
    for value in extra.values():
        if "SECRET" in str(value):
            assert str(value) not in out, "a secret value was printed"


@pytest.mark.parametrize("role,extra", [
    ("podman", {"podman_rootless_user": "svc", "podman_docker_compat": "env"}),
    ("prefect_podman_image", {"prefect_podman_image_build_proxy": {"https_proxy": "http://p:3128"}}),
    ("prefect_server", {"prefect_server_host": "0.0.0.0", "prefect_server_api_auth_string": "admin:pass"}),
    ("prefect_server", {"prefect_server_host": "127.0.0.2"}),
])
def test_good_input_passes_validation(ansible, tmp_path, role, extra):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.replace("roles: [{role}]", f"""tasks:
    - ansible.builtin.include_role:
        name: {role}
        tasks_from: validate.yml
"""))
    res = ansible(["ansible-playbook", "--check", str(play), "-e", json.dumps(extra)])
    assert res.returncode == 0, res.stdout + res.stderr
