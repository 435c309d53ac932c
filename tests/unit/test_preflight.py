"""playbooks/preflight.yml (the first play of site.yml and rollback.yml) checks every
host's settings without touching any host: it runs controller-side only, so it can
be run here against the real facility inventories."""
import json

import pytest

from conftest import ROOT

FACILITIES = sorted(p.name for p in (ROOT / "inventories").iterdir() if p.is_dir())


def preflight(ansible, inventory, *extra):
    res = ansible(["ansible-playbook", "-i", str(ROOT / "inventories" / inventory), "playbooks/preflight.yml", *extra])
    return res.returncode, res.stdout + res.stderr


@pytest.mark.parametrize("facility", FACILITIES)
def test_facility_inventories_pass(ansible, tmp_path, facility):
    extra = []
    if facility == "demo":
        # The demo's offline image base is saved by playbooks/demo-host.yml (not run here).
        (tmp_path / "base.tar").write_text("")
        extra = ["-e", f"prefect_podman_image_base_archive={tmp_path / 'base.tar'}"]
    code, out = preflight(ansible, facility, *extra)
    assert code == 0, out[-3000:]
    assert "failed=0" in out


def test_every_worker_role_is_checked(ansible):
    code, out = preflight(ansible, "nsls2")
    for role in ["prefect_runtime", "podman", "prefect_podman_image", "mlex_worker_code",
                 "prefect_registration", "prefect_worker_services", "smoke_job"]:
        assert f"Check cross-field rules of {role}" in out, role


def test_mixed_worker_modes_on_one_api_are_refused(ansible, tmp_path):
    """Pools are shared through the API: one host rolled back alone would fight the others."""
    inv = tmp_path / "nsls2"
    inv.mkdir()
    (inv / "hosts.yml").symlink_to(ROOT / "inventories/nsls2/hosts.yml")
    (inv / "group_vars").symlink_to(ROOT / "inventories/nsls2/group_vars")
    (inv / "host_vars").mkdir()
    (inv / "host_vars/nsls2-worker-01.example.org.yml").write_text("pwb_worker_mode: process\n")
    res = ansible(["ansible-playbook", "-i", str(inv), "playbooks/preflight.yml"])
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-2000:]
    assert "pwb_worker_mode differs between worker hosts of one Prefect API (https://prefect.nsls2.example.org/api)" in out
    # Staging has its own API: its host is not part of the conflict.
    assert "nsls2-worker-stg-01.example.org" not in out.split("pwb_worker_mode differs")[1].split("\n")[0]
