"""Verify prefect-with-podman on a converged host (molecule scenario `image`)."""
import json
import re
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import published_and_shipped_templates  # noqa: E402

IMAGE = "localhost/prefect-with-podman:latest"
ROOT = Path(__file__).resolve().parents[3]
VERSION = yaml.safe_load((ROOT / "molecule/image/vars/main.yml").read_text())["prefect_podman_image_prefect_version"]
LOCK = (ROOT / f"roles/prefect_runtime/files/locks/prefect-{VERSION}.txt").read_text()
SOCK = "/run/podman/podman.sock:/var/run/docker.sock"


@pytest.fixture(scope="module")
def base(host):
    return host.check_output("podman images --format '{{.Repository}}:{{.Tag}}' localhost/pwb-base")


def test_image_labels(host):
    labels = json.loads(host.check_output(f"podman image inspect --format '{{{{json .Labels}}}}' {IMAGE}"))
    assert labels["org.mlexchange.pwb.prefect-version"] == VERSION
    assert len(labels["org.mlexchange.pwb.context-digest"]) == 64
    # podman_image's own change detection label matches the rendered Containerfile.
    rendered = host.check_output(
        "sha256sum /var/lib/podman-worker-bundle/prefect-with-podman/Dockerfile.podman").split()[0]
    assert labels["containerfile.hash"] == rendered


def test_docker_is_the_shim_and_names_podman(host):
    assert host.check_output(f"podman run --rm {IMAGE} sh -c 'command -v docker'") == "/usr/local/bin/docker"
    assert host.check_output(f"podman run --rm {IMAGE} docker --version").startswith("podman version")


def test_prefect_is_the_locked_version(host):
    assert host.check_output(f"podman run --rm {IMAGE} prefect --version") == VERSION
    out = host.check_output(f"podman run --rm {IMAGE} python -c 'import prefect_docker; print(prefect_docker.__version__)'")
    assert out == re.search(r"^prefect-docker==(\S+)$", LOCK, re.M).group(1)


def test_shipped_base_job_templates_are_this_prefects_own(host):
    """Registration sends the templates shipped for the locked version instead of
    asking a Prefect CLI; this version's own workers publish exactly those."""
    published, shipped = published_and_shipped_templates(host, f"podman run --rm {IMAGE} python", VERSION)
    assert published == shipped


def test_shim_runs_a_sibling_on_the_hosts_podman(host, base):
    name = f"pwb-sibling-{uuid.uuid4().hex[:8]}"
    out = host.check_output(
        f"podman run --rm -v {SOCK} {IMAGE} sh -c 'docker run --name {name} {base} echo sibling-ok; echo rc=$?'")
    assert out.split() == ["sibling-ok", "rc=0"]
    # The sibling ran on the HOST's podman: it is in the host's container list.
    listed = host.check_output(f"podman ps -a --filter name=^{name}$ --format '{{{{.Names}}}} {{{{.Status}}}}'")
    assert listed.startswith(f"{name} Exited (0)")
    host.check_output(f"podman rm {name}")


@pytest.mark.parametrize("create", ["run", "create", "container run", "container create"])
def test_shim_labels_a_jobs_containers_with_its_flow_run(host, base, create):
    """The worker sets PREFECT__FLOW_RUN_ID in a flow-run container; every container
    the job starts through the shim carries it, so the host can stop them when the run
    is cancelled. Without a flow run (a shell), no label."""
    label = "podman-worker-bundle.flow-run-id"
    names = [f"pwb-labelled-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    host.check_output(
        f"podman run --rm -v {SOCK} -e PREFECT__FLOW_RUN_ID=run-1234 {IMAGE} docker {create} --name {names[0]} {base} true")
    host.check_output(f"podman run --rm -v {SOCK} {IMAGE} docker {create} --name {names[1]} {base} true")
    try:
        got = [host.check_output(f"podman inspect --format '{{{{index .Config.Labels \"{label}\"}}}}' {n}") for n in names]
        assert got == ["run-1234", "<no value>"] or got == ["run-1234", ""], got
    finally:
        host.run(f"podman rm --force {' '.join(names)}")


def test_job_container_started_through_the_api_drives_the_host(host, base):
    # How the Prefect Docker worker starts flow runs: through the socket, not the CLI.
    out = host.check_output(
        f"podman --remote --url unix:///run/podman/podman.sock run --rm -v {SOCK} {IMAGE} "
        f"sh -c 'docker run --rm {base} echo via-api-ok && echo outer-still-alive'")
    assert out.split() == ["via-api-ok", "outer-still-alive"]


def test_shim_sees_the_host_containers(host):
    name = f"pwb-outer-{uuid.uuid4().hex[:8]}"
    out = host.check_output(
        f"podman run --rm --name {name} -v {SOCK} {IMAGE} docker ps --format '{{{{.Names}}}}'")
    assert name in out.split()  # the job container sees itself: same engine


def test_shim_images_lists_host_images(host):
    out = host.check_output(f"podman run --rm -v {SOCK} {IMAGE} docker images --format '{{{{.Repository}}}}'")
    assert "localhost/prefect-with-podman" in out.split()


def test_missing_socket_gives_a_clear_error(host):
    res = host.run(f"podman run --rm {IMAGE} docker ps")
    assert res.rc == 125
    assert "no podman API socket at /var/run/docker.sock" in res.stderr


def test_rollback_tag_holds_the_replaced_image(host):
    ids = host.check_output(
        "podman image inspect --format '{{.Id}}' "
        f"{IMAGE} localhost/prefect-with-podman:previous").splitlines()
    assert len(ids) == 2 and ids[0] != ids[1]


def test_shim_only_rebuild_was_timed(host):
    times = json.loads(host.file("/root/pwb-image-times.json").content_string)
    assert times["shim_only_rebuild_s"] > 0


def test_a_running_jobs_directories_are_kept_from_expiry(host, base):
    """The daily systemd-tmpfiles clean removes job directories older than the
    retention; one whose job still runs must stay. The shim holds a shared flock on
    each work-directory subdirectory a `docker run` mounts (tmpfiles skips a locked
    directory) for as long as the job's container runs."""
    work = f"/tmp/pwb-work-{uuid.uuid4().hex[:8]}"
    conf = f"{work}.conf"
    host.check_output(f"mkdir -p {work}/jobs/running/data {work}/jobs/finished")
    # Expire everything in jobs/ older than a second, as the real rule does after days.
    host.check_output(f"echo 'e {work}/jobs - - - 1s' > {conf}")
    name = f"pwb-locked-{uuid.uuid4().hex[:8]}"
    # The job runs until the test ends it (a fixed sleep raced the checks below on a
    # loaded machine, where one podman call can take tens of seconds).
    job = f"{name}-job"
    host.check_output(
        f"podman run -d --name {name} -v {SOCK} -v {work}:{work} -e PREFECT_WORK_DIR={work} {IMAGE} "
        f"docker run --rm --name {job} -v {work}/jobs/running/data:/data {base} sleep 600")
    try:
        deadline = time.monotonic() + 60
        # Locked once the job's container runs (flock -n -x fails while a shared lock is held).
        while host.run(f"flock -n -x {work}/jobs/running true").rc == 0:
            assert time.monotonic() < deadline, "the running job's directory was never locked"
            time.sleep(0.5)
        time.sleep(2)
        host.check_output(f"systemd-tmpfiles --clean {conf}")
        assert host.file(f"{work}/jobs/running/data").is_directory
        assert not host.file(f"{work}/jobs/finished").exists
        # The lock ends with the job: the next clean takes its directory too.
        host.check_output(f"podman rm --force --time 0 {job}")
        host.check_output(f"podman wait {name}")
        time.sleep(2)
        host.check_output(f"systemd-tmpfiles --clean {conf}")
        assert not host.file(f"{work}/jobs/running").exists
    finally:
        host.run(f"podman rm --force --ignore --time 0 {job} {name}; rm -rf {work} {conf}")


def cgroup_setting(host, container_id, v2, v1):
    """A container's cgroup setting as the host's kernel holds it: the v2 file, or the
    v1 files joined by a space (inside, a v1 container sees the host's hierarchy, not
    its own limits)."""
    for path in host.check_output(f"find /sys/fs/cgroup -type d -name '*{container_id}*'").split():
        for names in ([v2], v1):
            if all(host.file(f"{path}/{n}").exists for n in names):
                return " ".join(host.file(f"{path}/{n}").content_string.strip() for n in names)
    raise AssertionError(f"no {v2} or {v1} for container {container_id}")


def test_shim_gives_a_jobs_containers_the_hosts_resource_defaults(host, base):
    """prefect_podman_image_job_resources (vars/main.yml: 256m shm, 300m memory, 123
    pids, 0.5 cpus) reach a container a job starts without any option of its own:
    the job sees its /dev/shm, the host's kernel holds the limits."""
    name = f"pwb-resources-{uuid.uuid4().hex[:8]}"
    host.check_output(f"podman run --rm -v {SOCK} {IMAGE} docker run -d --name {name} {base} sleep 60")
    try:
        shm_kib = host.check_output(f"podman exec {name} df -k /dev/shm").splitlines()[-1].split()[1]
        assert int(shm_kib) == 256 * 1024
        cid = host.check_output(f"podman inspect --format '{{{{.Id}}}}' {name}")
        assert cgroup_setting(host, cid, "memory.max", ["memory.limit_in_bytes"]) == str(300 * 2**20)
        assert cgroup_setting(host, cid, "pids.max", ["pids.max"]) == "123"
        quota, period = cgroup_setting(host, cid, "cpu.max", ["cpu.cfs_quota_us", "cpu.cfs_period_us"]).split()
        assert int(quota) / int(period) == 0.5, (quota, period)
    finally:
        host.run(f"podman rm --force --time 0 {name}")

def test_a_jobs_own_resource_option_wins(host, base):
    out = host.check_output(
        f"podman run --rm -v {SOCK} {IMAGE} docker run --rm --shm-size 100m {base} df -k /dev/shm")
    assert int(out.splitlines()[-1].split()[1]) == 100 * 1024


def test_a_jobs_containers_get_the_hosts_devices_by_their_cdi_name(host, base):
    """podman_cdi_specs put a vendor-neutral CDI spec on the host (for a GPU, the
    vendor's tool writes one); prefect_podman_image_job_devices makes the shim ask for
    its device: a container a job starts sees the node (/dev/null as /dev/pwb-test)."""
    assert host.file("/etc/cdi/podman-worker-bundle-pwb.test_device.yaml").exists
    out = host.check_output(
        f"podman run --rm -v {SOCK} {IMAGE} docker run --rm {base} stat -c '%F %t,%T' /dev/pwb-test")
    assert out == "character special file 1,3"
