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
