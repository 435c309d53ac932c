"""Algorithm images from an authenticated registry on the converged e2e host: the
registry of molecule/e2e/prepare.yml (Debian's docker-registry, htpasswd, TLS from a
test CA that no public bundle has). The inventory hands over the credentials and the
CA (pwb_registries) and a pinned image (pwb_job_images); role job_images checks the
credentials, trusts the CA, writes the engine's auth file and pre-pulls. (A wrong
password is a row of the bad-input table in test_faults_and_bad_input.py.)"""
import base64
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import REGISTRY, deployment, facility_job, recap_changed, run_playbook, smoke_output, wait_final  # noqa: E402

REPO = f"{REGISTRY['registry']}/mlex/smoke-algorithm"
AUTH_FILE = "/root/.config/containers/auth.json"
SECRETS = (REGISTRY["password"], base64.b64encode(f"{REGISTRY['username']}:{REGISTRY['password']}".encode()).decode())


@pytest.fixture(scope="module")
def digest(host):
    """The smoke algorithm pushed to the registry as :1, and as :2 with a 20 MB layer of
    its own (another image), by the test's own login with the CA from a scratch
    directory; neither left in the host's storage by name. Returns :1's digest."""
    host.check_output("mkdir -p /tmp/pwb-registry-ca && cp /etc/pwb-test-registry/ca.crt /tmp/pwb-registry-ca/")
    host.check_output(
        "mkdir -p /tmp/pwb-second && head -c 20000000 /dev/urandom > /tmp/pwb-second/blob"
        " && printf 'FROM localhost/pwb-smoke-algorithm:latest\\nCOPY blob /blob\\n' > /tmp/pwb-second/Containerfile"
        " && podman build --quiet -t localhost/pwb-smoke-algorithm:second /tmp/pwb-second")
    creds = f"{REGISTRY['username']}:{REGISTRY['password']}"
    for tag, local in (("2", "second"), ("1", "latest")):
        host.check_output(
            f"podman push --quiet --creds {creds} --cert-dir /tmp/pwb-registry-ca --digestfile /tmp/pwb-digest "
            f"localhost/pwb-smoke-algorithm:{local} {REPO}:{tag}")
    host.run(f"podman rmi {REPO}:1 {REPO}:2 localhost/pwb-smoke-algorithm:second")
    return host.file("/tmp/pwb-digest").content_string.strip()


def converge_images(images=(), *args):
    """site.yml's job_images play (preflight and host checks included) with the registry."""
    return run_playbook("site.yml", "--tags", "job_images", "-v", *args,
                        "-e", json.dumps({"pwb_registries": [REGISTRY], "pwb_job_images": list(images)}))


def test_a_pinned_image_is_pre_pulled_with_the_registrys_credentials(host, digest):
    assert host.run(f"podman image exists {REPO}:1").rc != 0
    # --check says a pull is due, and pulls nothing.
    code, out, _ = converge_images([f"{REPO}:1@{digest}"], "--check")
    assert code == 0 and recap_changed(out) > 0 and f"would pull {REPO}@{digest}" in out, out[-3000:]
    assert host.run(f"podman image exists {REPO}:1").rc != 0
    code, out, seconds = converge_images([f"{REPO}:1@{digest}"])
    assert code == 0, out[-3000:]
    assert recap_changed(out) > 0
    print(f"\npre-pull of the smoke algorithm from the registry: converge (job_images) {seconds:.1f} s")
    # Pulled by its digest and tagged as jobs name it.
    digests = json.loads(host.check_output(f"podman image inspect --format '{{{{json .RepoDigests}}}}' {REPO}:1"))
    assert f"{REPO}@{digest}" in digests
    # The engine trusts the registry's CA, and keeps the credentials for jobs' pulls.
    assert host.file(f"/etc/containers/certs.d/{REGISTRY['registry']}/ca.crt").exists
    auth = host.file(AUTH_FILE)
    assert auth.mode == 0o600 and auth.user == "root"
    assert base64.b64decode(json.loads(auth.content_string)["auths"][REGISTRY["registry"]]["auth"]).decode() == \
        f"{REGISTRY['username']}:{REGISTRY['password']}"
    # Neither form of the password in a verbose run's output.
    assert not any(secret in out for secret in SECRETS)
    code, out, seconds = converge_images([f"{REPO}:1@{digest}"])
    assert code == 0 and recap_changed(out) == 0, out[-3000:]
    print(f"second converge (job_images): {seconds:.1f} s, changed=0")


def test_other_entries_of_the_engines_auth_file_are_kept(host):
    """Somebody's own `podman login` elsewhere stays: the role merges its registries in."""
    other = {"auth": base64.b64encode(b"someone:else").decode()}
    data = json.loads(host.file(AUTH_FILE).content_string)
    data["auths"]["registry.other-team.example"] = other
    host.check_output(f"printf '%s' {json.dumps(json.dumps(data))} > {AUTH_FILE}")
    code, out, _ = converge_images()
    assert code == 0, out[-3000:]
    data = json.loads(host.file(AUTH_FILE).content_string)
    assert data["auths"]["registry.other-team.example"] == other and REGISTRY["registry"] in data["auths"]


def test_a_job_pulls_an_image_nobody_pre_pulled_with_the_engines_credentials(host, digest):
    """:2 is in the registry only: the job's `docker run` (through the shim and the
    socket) makes the host's engine pull it, with the auth file and the CA the role wrote."""
    assert host.run(f"podman image exists {REPO}:2").rc != 0
    dep = deployment(host, "Docker flow", "launch_podman")
    run = wait_final(host, facility_job(host, dep, "docker_params", image=(REPO, "2"))["id"], timeout=240)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert smoke_output(host, run["id"])["uid_save"] == run["id"]
    assert host.run(f"podman image exists {REPO}:2").rc == 0


def test_unused_job_images_are_collected_and_nothing_else(host, digest):
    """The collector (job-images-collect.timer, run here at once) removes :2, which the
    job left unused, keeps :1 (pre-pulled: the inventory lists it) and every image that
    is not from a job registry (prefect-with-podman, local builds)."""
    assert host.service("job-images-collect.timer").is_enabled
    code, out, _ = converge_images([f"{REPO}:1@{digest}"])
    assert code == 0, out[-3000:]
    before = set(host.check_output("podman images --format '{{.Repository}}:{{.Tag}}'").split())
    assert f"{REPO}:2" in before
    disk = "du -sb /var/lib/containers/storage | cut -f1"
    used = int(host.check_output(disk))
    host.check_output("systemctl start job-images-collect.service")
    log = host.check_output("journalctl -u job-images-collect.service -o cat -n 20 --no-pager")
    after = set(host.check_output("podman images --format '{{.Repository}}:{{.Tag}}'").split())
    assert before - after == {f"{REPO}:2"}, log
    assert f"removed {REPO}:2" in log and "collected 1 unused job images" in log, log
    reclaimed = used - int(host.check_output(disk))
    # :2's own layer (20 MB of random bytes) left the disk; the layers it shared with :1 stayed.
    assert reclaimed >= 20_000_000, reclaimed
    print(f"\nimage collection: the engine's storage shrank by {reclaimed} bytes")
