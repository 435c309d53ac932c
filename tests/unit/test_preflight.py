"""playbooks/preflight.yml (the first play of site.yml and rollback.yml) checks every
host's settings without touching any host: it runs controller-side only, so it can
be run here against the real facility inventories."""
import json

import pytest

from conftest import ROOT, nsls2_with_host_vars

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
    for role in ["prefect_runtime", "podman", "prefect_podman_image", "job_images", "mlex_worker_code",
                 "prefect_registration", "prefect_worker_services", "smoke_job"]:
        assert f"Check cross-field rules of {role}" in out, role


def test_mixed_worker_modes_on_one_api_are_refused(ansible, tmp_path):
    """Pools are shared through the API: one host rolled back alone would fight the others."""
    inv = nsls2_with_host_vars(tmp_path, "nsls2-worker-01.example.org", "pwb_worker_mode: process\n")
    res = ansible(["ansible-playbook", "-i", str(inv), "playbooks/preflight.yml"])
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-2000:]
    assert "pwb_worker_mode differs between worker hosts of one Prefect API (https://prefect.nsls2.example.org/api)" in out
    # Staging has its own API: its host is not part of the conflict.
    assert "nsls2-worker-stg-01.example.org" not in out.split("pwb_worker_mode differs")[1].split("\n")[0]


def test_plain_text_secret_is_refused_under_the_vault_policy(ansible):
    """nsls2 sets pwb_secrets_from_vault: a secret typed in plain text stops the run, unseen."""
    code, out = preflight(ansible, "nsls2", "-e", json.dumps({"pwb_prefect_api_auth_string": "admin:hunter2"}))
    assert code != 0, out[-2000:]
    assert "pwb_prefect_api_auth_string: plain text, but pwb_secrets_from_vault requires secrets from vault" in out
    assert "hunter2" not in out


REGISTRY = {"registry": "registry.example.org", "username": "mlex-pull", "password": "hunter2"}


def test_plain_text_registry_password_is_refused_under_the_vault_policy(ansible):
    code, out = preflight(ansible, "nsls2", "-e", json.dumps({"pwb_registries": [REGISTRY]}))
    assert code != 0, out[-2000:]
    assert "pwb_registries (registry.example.org): password in plain text, but pwb_secrets_from_vault" in out
    assert "hunter2" not in out


def test_registry_without_a_password_is_named_not_a_crash(ansible):
    """The vault check leaves a missing password to the role's argument_specs."""
    entry = {k: v for k, v in REGISTRY.items() if k != "password"}
    code, out = preflight(ansible, "nsls2", "-e", json.dumps({"pwb_registries": [entry]}))
    assert code != 0, out[-2000:]
    assert "missing required arguments: password found in job_images_registries" in out, out[-2000:]


@pytest.mark.parametrize("uses", [
    'pwb_prefect_api_auth_string: "{{ vault_secret }}"\n',
    'pwb_registries: [{registry: registry.example.org, username: mlex-pull, password: "{{ vault_secret }}"}]\n',
])
def test_inline_vault_secret_passes_the_vault_policy(ansible, tmp_path, uses):
    (tmp_path / "pass").write_text("not-a-real-vault-password")
    enc = ansible(["ansible-vault", "encrypt_string", "--vault-password-file", str(tmp_path / "pass"),
                   "admin:hunter2", "--name", "vault_secret"])
    assert enc.returncode == 0, enc.stderr
    (tmp_path / "vault.yml").write_text(enc.stdout + uses)
    code, out = preflight(ansible, "nsls2", "--vault-password-file", str(tmp_path / "pass"),
                          "-e", f"@{tmp_path / 'vault.yml'}")
    assert code == 0, out[-3000:]
    assert "hunter2" not in out


@pytest.mark.parametrize("uid", ["", "abc", "-5"])
def test_rootless_mode_needs_a_numeric_worker_uid(ansible, uid):
    code, out = preflight(ansible, "nsls2", "-e", json.dumps({"pwb_podman_rootless": True, "pwb_worker_uid": uid}))
    assert code != 0, out[-2000:]
    assert "pwb_worker_uid: rootless mode (pwb_podman_rootless) needs the worker user's fixed uid" in out


def test_rootful_mode_must_be_the_inventorys_own_decision(ansible):
    """Rootful is the guide's setup, and it makes every flow author root on the hosts:
    the preflight refuses it unless the inventory accepts it; rootless needs no such word."""
    code, out = preflight(ansible, "nsls2", "-e", json.dumps({"pwb_podman_rootful_accepted": False}))
    assert code != 0, out[-2000:]
    assert ("pwb_podman_rootful_accepted: pwb_podman_rootless is false, so jobs get root's podman socket and whoever"
            " may create a flow run or deployment on https://prefect.nsls2.example.org/api is root on nsls2-worker-") in out
    code, out = preflight(ansible, "nsls2", "-e", json.dumps(
        {"pwb_podman_rootful_accepted": False, "pwb_podman_rootless": True, "pwb_worker_uid": 2001}))
    assert code == 0, out[-3000:]


def test_rootless_mode_maps_the_users_socket(ansible):
    """Every role gets the rootless user's socket, and the rootful one is switched off."""
    res = ansible(["ansible", "-i", str(ROOT / "inventories/nsls2"), "nsls2-worker-01.example.org", "-m", "debug",
                   "-a", "msg={{ [pwb_podman_socket, prefect_worker_services_docker_host, podman_socket_enabled,"
                         " podman_rootless_user, prefect_podman_image_storage_user, prefect_worker_services_engine_units] }}",
                   "-e", json.dumps({"pwb_podman_rootless": True, "pwb_worker_uid": 2001})])
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.split("msg:")[1].split() == [
        "-", "/run/user/2001/podman/podman.sock", "-", "unix:///run/user/2001/podman/podman.sock", "-", "false",
        "-", "prefect-worker", "-", "prefect-worker", "-", "-", "user@2001.service"], res.stdout


@pytest.mark.parametrize("host_vars,var", [
    ("pwb_podman_rootless: true\npwb_worker_uid: 2001\n", "pwb_podman_socket"),
    ("pwb_container_volumes: ['/scratch:/tiled_storage']\n", "pwb_container_volumes"),
])
def test_hosts_of_one_api_must_agree_on_what_it_holds(ansible, tmp_path, host_vars, var):
    """The leader registers the deployment for all hosts of its API: one host's own
    socket path or volumes would silently lose (or flip-flop on every run)."""
    inv = tmp_path / "nsls2"
    inv.mkdir()
    (inv / "hosts.yml").symlink_to(ROOT / "inventories/nsls2/hosts.yml")
    (inv / "group_vars").symlink_to(ROOT / "inventories/nsls2/group_vars")
    (inv / "host_vars").mkdir()
    (inv / "host_vars/nsls2-worker-02.example.org.yml").write_text(host_vars)
    res = ansible(["ansible-playbook", "-i", str(inv), "playbooks/preflight.yml"])
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-2000:]
    assert f"{var} differs between worker hosts of one Prefect API (https://prefect.nsls2.example.org/api)" in out


@pytest.mark.parametrize("extra, names", [
    ({"prefect_registration_podman_image": "localhost/prefect-with-podman:other"},
     "prefect_registration_podman_image and prefect_podman_image_name:prefect_podman_image_tag must agree"),
    ({"smoke_job_base_image": "localhost/elsewhere:latest"},
     "smoke_job_base_image and prefect_podman_image_name:prefect_podman_image_tag must agree"),
    ({"prefect_podman_image_shim_socket": "/run/docker.sock"},
     "prefect_registration_job_socket and prefect_podman_image_shim_socket must agree"),
])
def test_a_shared_value_set_on_one_role_only_is_refused(ansible, extra, names):
    code, out = preflight(ansible, "nsls2", "-e", json.dumps(extra))
    assert code != 0, out[-2000:]
    assert names in out and "set pwb_" in out


def test_the_shared_sources_change_every_role_together(ansible):
    extra = {"pwb_job_socket": "/run/docker.sock", "pwb_podman_image_tag": "2026.11"}
    code, out = preflight(ansible, "nsls2", "-e", json.dumps(extra))
    assert code == 0, out[-3000:]


@pytest.mark.parametrize("extra, message", [
    ({"pwb_prefect_api_auth_string": "admin:s3cret-one", "pwb_prefect_api_key": "s3cret-two"},
     "pwb_prefect_api_auth_string and pwb_prefect_api_key are both set"),
    ({"pwb_prefect_api_auth_string": "s3cret-without-user"},
     'pwb_prefect_api_auth_string: must be "user:password"'),
    ({"pwb_prefect_api_auth_string": "admin:s3cret\nEXTRA=1"},
     "pwb_prefect_api_auth_string: contains a control character"),
    ({"prefect_worker_services_env": {"HTTP_PROXY": "http://proxy:3128\nPREFECT_API_URL=http://evil/api"}},
     "prefect_worker_services_env.HTTP_PROXY: contains a control character"),
])
def test_values_an_environment_file_cannot_hold_are_refused_unseen(ansible, extra, message):
    code, out = preflight(ansible, "demo", "-e", json.dumps(extra), "-e", "prefect_podman_image_base_archive=/etc/hostname")
    assert code != 0, out[-2000:]
    assert message in out
    assert "s3cret" not in out and "evil" not in out


def test_numbers_given_as_key_value_extra_vars_pass(ansible):
    """`-e name=2` hands the roles a string: the cross-field rules must still compare it as a
    number (the first bench run stopped on `-e prefect_worker_services_query_seconds=2`)."""
    extra = []
    for pair in ["prefect_worker_services_query_seconds=2", "prefect_worker_services_health_timeout=60",
                 "smoke_job_timeout=120", "mlex_worker_code_child_timeout_s=600",
                 "mlex_worker_code_child_poll_interval_s=5"]:
        extra += ["-e", pair]
    code, out = preflight(ansible, "nsls2", *extra)
    assert code == 0, out[-3000:]
    assert "failed=0" in out


def test_one_api_spelled_another_way_is_still_one_api(ansible, tmp_path):
    """The same API as https://PREFECT...:443/api must not let one host roll back alone."""
    inv = nsls2_with_host_vars(tmp_path, "nsls2-worker-02.example.org",
                               "pwb_prefect_api_url: https://PREFECT.nsls2.example.org.:443/api\n"
                               "pwb_worker_mode: process\n")
    res = ansible(["ansible-playbook", "-i", str(inv), "playbooks/preflight.yml"])
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-2000:]
    assert "pwb_worker_mode differs between worker hosts of one Prefect API" in out


def test_a_rollback_limited_to_some_hosts_of_an_api_is_refused(ansible):
    """rollback.yml --limit one production host would leave the other on the docker path
    of a pool that became a process pool."""
    res = ansible(["ansible-playbook", "-i", str(ROOT / "inventories/nsls2"), "playbooks/rollback.yml",
                   "--limit", "nsls2-worker-01.example.org"])
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-2000:]
    assert "pwb_worker_mode differs between worker hosts of one Prefect API" in out, out[-3000:]
    assert "do not --limit a rollback to some of them" in out
    assert "PLAY [Prefect server for the embedded default]" not in out


@pytest.mark.parametrize("extra, message", [
    ({"pwb_container_volumes": ["/:/host"]},
     "mlex_worker_code_container_volumes: every job container gets these"),
    ({"pwb_container_volumes": ["/srv/mlex/tiled_storage:/tiled_storage", "/run/podman/podman.sock:/var/run/docker.sock"]},
     "/run/podman/podman.sock:/var/run/docker.sock: /run/podman/podman.sock is a system directory or socket of the host"),
    ({"pwb_container_volumes": ["/srv/a/../../root/.ssh:/keys:ro"]},
     "/srv/a/../../root/.ssh:/keys:ro: /root/.ssh is a system directory or socket of the host"),
    ({"pwb_container_volumes": ["/srv/mlex/tiled_storage:/tiled_storage:Z"]},
     "/srv/mlex/tiled_storage:/tiled_storage:Z: z/Z relabel the host path for SELinux (set pwb_volume_relabel to allow)"),
    ({"prefect_registration_podman_volumes": ["/etc:/host-etc:ro"]},
     "prefect_registration_podman_volumes: every flow-run container gets these"),
    ({"pwb_work_dir": "/var"},
     "mlex_worker_code_work_dir: must be an absolute path and not a system directory (got '/var')"),
    ({"pwb_worker_dir": "/usr"},
     "mlex_worker_code_dir: must be an absolute path and not a system directory (got '/usr')"),
])
def test_host_paths_that_would_give_jobs_the_host_are_refused(ansible, extra, message):
    """Whoever may create a flow run chooses the code that runs with these mounts."""
    code, out = preflight(ansible, "nsls2", "-e", json.dumps(extra))
    assert code != 0, out[-2000:]
    assert message in out, out[-3000:]


def test_relabelling_volumes_pass_when_the_inventory_allows_them(ansible):
    extra = {"pwb_container_volumes": ["/srv/mlex/tiled_storage:/tiled_storage:z"], "pwb_volume_relabel": True}
    code, out = preflight(ansible, "nsls2", "-e", json.dumps(extra))
    assert code == 0, out[-3000:]


@pytest.mark.parametrize("resources, message", [
    ({"memory": "lots"}, "prefect_podman_image_job_resources (pwb_job_container_resources) must have a size like"),
    ({"shm_size": "1g --privileged"}, "prefect_podman_image_job_resources (pwb_job_container_resources) must have a size like"),
    ({"cpus": 0}, "a number > 0 for cpus"),
    ({"pids_limit": 0}, "an integer >= 1 or -1 for pids_limit"),
    ({"gpus": "all"}, "gpus. Supported parameters include"),
])
def test_job_container_resources_podman_would_not_take_are_refused(ansible, resources, message):
    """The shim passes these to every `docker run` of every job: a bad one must stop the
    run before any host changed, not fail each job (or smuggle in an option)."""
    code, out = preflight(ansible, "nsls2", "-e", json.dumps({"pwb_job_container_resources": resources}))
    assert code != 0, out[-2000:]
    assert message in out, out[-3000:]


def test_job_container_resources_in_podmans_units_pass(ansible):
    extra = {"pwb_job_container_resources": {"shm_size": "8g", "memory": "32G", "pids_limit": -1, "cpus": 1.5}}
    code, out = preflight(ansible, "nsls2", "-e", json.dumps(extra))
    assert code == 0, out[-3000:]


@pytest.mark.parametrize("extra, message", [
    ({"pwb_job_container_devices": ["nvidia.com/gpu=all --privileged"]},
     "prefect_podman_image_job_devices (pwb_job_container_devices) must be CDI names like \"nvidia.com/gpu=all\""),
    ({"pwb_job_container_devices": ["gpu"]}, "(refused: ['gpu'])"),
    ({"pwb_cdi_specs": [{"devices": []}]}, "podman_cdi_specs (pwb_cdi_specs) must each have a kind"),
    ({"pwb_cdi_specs": [{"kind": "example.org/scratch"}]}, "podman_cdi_specs (pwb_cdi_specs) must each have a kind"),
])
def test_devices_podman_could_not_resolve_are_refused(ansible, extra, message):
    code, out = preflight(ansible, "nsls2", "-e", json.dumps(extra))
    assert code != 0, out[-2000:]
    assert message in out, out[-3000:]


def test_cdi_names_and_device_paths_pass(ansible):
    extra = {"pwb_job_container_devices": ["nvidia.com/gpu=0", "/dev/fuse"],
             "pwb_cdi_specs": [{"kind": "example.org/scratch", "devices": [{"name": "zero"}]}]}
    code, out = preflight(ansible, "nsls2", "-e", json.dumps(extra))
    assert code == 0, out[-3000:]
