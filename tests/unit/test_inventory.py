"""The top-level group_vars/ is read through every facility inventory, and the
facility group's values override it, whichever way Ansible finds the shared file.

Run from the repository root, ansible-inventory and ad-hoc `ansible` also read
group_vars/ as playbook group_vars, which outrank an inventory's group_vars/all:
so facility values must live in the facility group, never in group_vars/all."""
import json
import os

import pytest
import yaml

from conftest import ROOT

SHARED = yaml.safe_load((ROOT / "group_vars/all/main.yml").read_text())
FACILITIES = sorted(p.name for p in (ROOT / "inventories").iterdir() if p.is_dir())


def hostvars(ansible, inventory, cwd=ROOT):
    res = ansible(["ansible-inventory", "-i", str(inventory), "--list"], cwd=cwd)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["_meta"]["hostvars"]


def test_shared_defaults_are_not_empty():
    assert SHARED, "group_vars/all/main.yml holds the bundle-wide defaults"


@pytest.mark.parametrize("facility", FACILITIES)
def test_facility_links_the_shared_group_vars(facility):
    link = ROOT / "inventories" / facility / "group_vars" / "all"
    assert link.is_symlink(), f"{link} must link ../../../group_vars/all"
    assert link.resolve() == (ROOT / "group_vars/all").resolve()
    assert (ROOT / "inventories" / facility / "group_vars" / f"{facility}.yml").is_file()


@pytest.mark.parametrize("facility", FACILITIES)
@pytest.mark.parametrize("where", ["repo-root", "elsewhere"])
def test_every_host_reads_shared_and_facility_vars(ansible, tmp_path, facility, where):
    cwd = ROOT if where == "repo-root" else tmp_path
    hv = hostvars(ansible, ROOT / "inventories" / facility, cwd=cwd)
    assert hv, f"inventories/{facility} has no hosts"
    for host, values in hv.items():
        for key in SHARED:
            assert key in values, f"{facility}/{host} misses shared {key}"
        assert values["facility"] == facility


@pytest.mark.parametrize("where", ["repo-root", "elsewhere"])
def test_facility_group_overrides_shared_defaults(ansible, tmp_path, where):
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  children:\n    fac:\n      hosts:\n        h1:\n")
    os.symlink(ROOT / "group_vars/all", inv / "group_vars/all")
    (inv / "group_vars/fac.yml").write_text("podman_docker_compat: link\n")
    hv = hostvars(ansible, inv, cwd=ROOT if where == "repo-root" else tmp_path)["h1"]
    assert SHARED["podman_docker_compat"] != "link"
    assert hv["podman_docker_compat"] == "link"
    assert hv["podman_service_idle_timeout"] == SHARED["podman_service_idle_timeout"]
