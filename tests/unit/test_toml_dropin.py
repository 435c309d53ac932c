"""The containers.conf / registries.conf drop-in template renders valid TOML
that round-trips the variable's dict."""
import json
import tomllib

import pytest

from conftest import ROOT

TEMPLATE = ROOT / "roles/podman/templates/toml_dropin.j2"

CASES = [
    {"engine": {"runtime": "crun", "service_timeout": 0}},
    {"containers": {"default_ulimits": ["nofile=4096:4096", "nproc=4096:4096"], "log_driver": "journald"},
     "engine": {"cgroup_manager": "systemd", "events_logger": "file"}},
    {"unqualified-search-registries": ["docker.io", "quay.io"], "short-name-mode": "enforcing"},
    {"network": {"dns_servers": ["10.0.0.1"]}, "containers": {"label": False, "pids_limit": 2048,
                                                            "env": ['HTTP_PROXY="http://p:3128"']}},
    # registries.conf: an array of tables, each with its own array of mirror tables.
    {"unqualified-search-registries": ["docker.io"],
     "registry": [{"prefix": "docker.io", "location": "registry.example.org/docker", "insecure": False,
                   "mirror": [{"location": "mirror-a.example.org:5000", "insecure": True},
                              {"location": "mirror-b.example.org"}]},
                  {"prefix": "ghcr.io", "blocked": True}]},
    # containers.conf: nested tables under [engine].
    {"engine": {"runtime": "crun", "runtimes": {"crun": ["/usr/bin/crun", "/usr/local/bin/crun"]},
                "helper_binaries_dir": ["/usr/libexec/podman"]},
     "containers": {"shm_size": "2g"}},
]


@pytest.mark.parametrize("settings", CASES)
def test_template_roundtrips(ansible, tmp_path, settings):
    dest = tmp_path / "out.conf"
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"__podman_toml": settings}))
    res = ansible(["ansible", "localhost", "-c", "local", "-m", "ansible.builtin.template",
                   "-a", f"src={TEMPLATE} dest={dest}", "-e", f"@{vars_file}"])
    assert res.returncode == 0, res.stdout + res.stderr
    text = dest.read_text()
    assert text.startswith("# "), "managed header comes first"
    assert tomllib.loads(text) == settings


def test_a_value_toml_cannot_hold_is_refused_by_name(ansible, tmp_path):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"__podman_toml": {"engine": {"runtime": None}}}))
    res = ansible(["ansible", "localhost", "-c", "local", "-m", "ansible.builtin.template",
                   "-a", f"src={TEMPLATE} dest={tmp_path / 'out.conf'}", "-e", f"@{vars_file}"])
    assert res.returncode != 0 and "cannot write these settings as TOML" in res.stdout + res.stderr
    assert not (tmp_path / "out.conf").exists()
