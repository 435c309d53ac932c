"""Verify the podman role on a converged test host (molecule scenario `podman`)."""
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import run_playbook  # noqa: E402

ROOTLESS_USER = "pwbsvc"
SOCKET = "/run/podman/podman.sock"
DISTRO = os.environ.get("MOLECULE_DISTRO") or "debian12"


def api(host, path, socket=SOCKET):
    out = host.check_output(f"curl -sf --max-time 10 --unix-socket {socket} http://d{path}")
    return out


@pytest.mark.parametrize("pkg", ["podman", "crun", "uidmap", "slirp4netns", "fuse-overlayfs"])
def test_packages_installed(host, pkg):
    assert host.package(pkg).is_installed


def test_rootful_socket_enabled_and_active(host):
    unit = host.service("podman.socket")
    assert unit.is_enabled
    assert unit.is_running
    assert host.socket(f"unix://{SOCKET}").is_listening


def test_ping_answers_ok(host):
    assert api(host, "/_ping") == "OK"


def test_docker_compatible_api_version(host):
    version = json.loads(api(host, "/version"))
    major, minor = (int(x) for x in version["ApiVersion"].split("."))
    # docker-py's from_env() in prefect-docker negotiates >= 1.40; podman says 1.41.
    assert (major, minor) >= (1, 40), version["ApiVersion"]
    assert "podman" in json.dumps(version.get("Components", [])).lower()


def test_service_idle_timeout_override(host):
    exec_start = host.check_output("systemctl show -p ExecStart --value podman.service")
    assert "--time=0" in exec_start


def test_registries_dropin_rendered(host):
    conf = host.file("/etc/containers/registries.conf.d/50-podman-worker-bundle.conf")
    assert conf.exists and conf.mode == 0o644
    assert 'short-name-mode = "enforcing"' in conf.content_string
    # podman parses it (a TOML error would fail every podman command).
    host.check_output("podman info --format '{{.Host.OCIRuntime.Name}}'")


def test_registries_dropin_keeps_mirrors(host):
    # [[registry]] with its [[registry.mirror]] tables, as podman reads them.
    registries = json.loads(host.check_output("podman info --format json"))["registries"]
    reg = registries["registry.facility.test/mlex"]
    assert [(m["Location"], m["Insecure"]) for m in reg["Mirrors"]] == [("mirror.facility.test:5000/mlex", True)]


def test_containers_conf_dropin_is_used(host):
    conf = host.file("/etc/containers/containers.conf.d/50-podman-worker-bundle.conf")
    assert 'cgroup_manager = "cgroupfs"' in conf.content_string
    assert host.check_output("podman info --format '{{.Host.CgroupManager}}'") == "cgroupfs"
    # A nested table ([engine.runtimes]): the runtime named in it resolves to its path.
    path = host.check_output("podman --runtime pwb-test info --format '{{.Host.OCIRuntime.Path}}'")
    assert path in ("/usr/bin/crun", "/usr/bin/runc")


def test_a_container_exit_leaves_neighbours_running(host):
    # Regression (test bed): with the systemd cgroup manager nested on cgroup v1,
    # any container exit SIGKILLed the others. The cgroupfs drop-in fixes it.
    host.check_output("podman load -q -i /root/pwb-base.tar")
    host.check_output(f"podman run -d --name pwb-neighbour localhost/pwb-base:{DISTRO} sleep 600")
    try:
        host.check_output(f"podman run --rm localhost/pwb-base:{DISTRO} true")
        state = host.check_output("podman inspect --format '{{.State.Status}}' pwb-neighbour")
        assert state == "running"
    finally:
        host.run("podman rm -f -t 0 pwb-neighbour")


def test_docker_compat_link(host):
    link = host.file("/run/docker.sock")
    assert link.is_symlink and link.linked_to == SOCKET
    assert api(host, "/_ping", socket="/run/docker.sock") == "OK"


def test_rootless_user_has_subids_and_linger(host):
    for path in ("/etc/subuid", "/etc/subgid"):
        lines = [ln for ln in host.file(path).content_string.splitlines() if ln.startswith(f"{ROOTLESS_USER}:")]
        assert len(lines) == 1, lines
        _, start, count = lines[0].split(":")
        assert int(start) >= 100000 and int(count) >= 65536
    assert host.file(f"/var/lib/systemd/linger/{ROOTLESS_USER}").exists


def test_rootless_socket_is_served_by_rootless_podman(host):
    uid = host.user(ROOTLESS_USER).uid
    sock = f"/run/user/{uid}/podman/podman.sock"
    assert host.file(sock).user == ROOTLESS_USER
    assert api(host, "/_ping", socket=sock) == "OK"
    info = json.loads(api(host, "/v4.0.0/libpod/info", socket=sock))
    assert info["host"]["security"]["rootless"] is True
    assert info["store"]["graphRoot"].startswith(host.user(ROOTLESS_USER).home)
    # Pinned: the test host's home is on overlayfs, where podman's own choice is vfs.
    assert info["store"]["graphDriverName"] == "overlay"


def test_rootless_storage_driver_switch_is_refused(host):
    """Storage made with another driver (e.g. vfs before the pin): the role stops
    with a clear message and writes nothing, instead of podman failing at the next job."""
    home = host.user(ROOTLESS_USER).home
    conf = f"{home}/.config/containers/storage.conf"
    before = host.file(conf).content_string
    other = f"{home}/.local/share/containers/storage/vfs-layers"
    host.run_test(f"mkdir {other}")
    try:
        code, out, _ = run_playbook("molecule/podman/converge.yml")
    finally:
        host.run_test(f"rmdir {other}")
    assert code != 0, out[-2000:]
    assert f"podman_rootless_storage_driver: {ROOTLESS_USER}'s storage" in out, out[-3000:]
    assert "uses vfs, not overlay" in out, out[-3000:]
    assert host.file(conf).content_string == before


def test_nested_podman_run_of_local_image(host):
    host.check_output("podman load -q -i /root/pwb-base.tar")
    out = host.check_output(f"podman run --rm localhost/pwb-base:{DISTRO} echo nested-ok")
    assert out == "nested-ok"


def test_rootless_nested_run_as_service_user(host):
    uid = host.user(ROOTLESS_USER).uid
    sock = f"unix:///run/user/{uid}/podman/podman.sock"
    # The service user loads and runs through its own socket, not root's storage.
    host.check_output(f"podman --remote --url {sock} load -q -i /root/pwb-base.tar")
    out = host.check_output(
        f"podman --remote --url {sock} run --rm localhost/pwb-base:{DISTRO} id -u"
    )
    assert out == "0"  # root inside the user namespace, uid {uid} outside
    rootful = host.run(f"podman image exists localhost/pwb-base:{DISTRO}")
    assert rootful.rc == 0
