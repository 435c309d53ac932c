"""The guide's Rollback Plan as one command, and back (molecule scenario `e2e`).

Runs last in e2e's verify (pytest takes files in name order), on the host the other
e2e tests left converged in docker mode, so no second converge of the whole stack.
The tests run in file order and build on each other; the last rolls forward, so the
host ends as site.yml left it."""
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import (  # noqa: E402
    API, WITH_API_AUTH, api, children, deployment, facility_job, recap_changed, release_smoke_job, release_time,
    run_playbook, running_child, smoke_output, submit_smoke_job, use_worker_code, wait_final)

FIGURES = {}
WATCH = "/tmp/pwb-child-watch"
PODMAN_CHILDREN = {"Docker flow/launch_podman", "Podman flow/launch_podman"}


@contextmanager
def podman_child_watch(host):
    """While the block runs, every 0.5 s on the host: the podman child deployment that
    config.yml names for the parent flow, and the API's HTTP code for it. Yields the
    list of (name, code) samples, filled when the block ends."""
    named = ("awk '/^deployments:/{d=1} d && /^  podman:/{p=1; next} p && /name:/{sub(/^ *name: */, \"\"); print; exit}' "
             "/etc/mlex-worker/config.yml")
    probe = f"{WITH_API_AUTH}-s -o /dev/null -w '%{{http_code}}' --max-time 5 \"{API}/deployments/name/$(echo \"$n\" | sed 's/ /%20/g')\""
    host.run_test(f"rm -f {WATCH}.log {WATCH}.stop; (while [ ! -e {WATCH}.stop ]; do n=$({named}); "
                  f"echo \"$n|$({probe})\" >> {WATCH}.log; sleep 0.5; done) >/dev/null 2>&1 &")
    samples = []
    try:
        yield samples
    finally:
        host.run_test(f"touch {WATCH}.stop; sleep 1")
        samples += [tuple(line.rsplit("|", 1)) for line in host.file(f"{WATCH}.log").content_string.splitlines()]


def assert_child_always_there(samples):
    """A mode switch seen whole (config.yml named both children in turn), and whenever
    it named one, the API had it: no parent flow could call a missing deployment."""
    assert len(samples) > 10 and {name for name, _ in samples} == PODMAN_CHILDREN, samples[:5] + samples[-5:]
    missing = [sample for sample in samples if sample[1] == "404"]
    assert not missing, f"config.yml named a deployment the API did not have: {missing[:5]} ({len(missing)} of {len(samples)})"


def job_through(host, flow):
    """Submit a smoke job; assert it completed through `flow`'s launch_podman and wrote its output."""
    parent = wait_final(host, submit_smoke_job(host)["id"])
    assert parent["state_type"] == "COMPLETED", parent["state"]
    [child] = children(host, parent["id"])
    assert child["state_type"] == "COMPLETED"
    assert child["deployment_id"] == deployment(host, flow, "launch_podman")["id"]
    assert smoke_output(host, child["id"])["uid_save"] == child["id"]
    return child


def assert_mode(host, mode):
    pool = api(host, "GET", "/work_pools/podman_pool")
    assert (pool["type"], pool["is_paused"], pool["concurrency_limit"]) == (mode, False, 4)
    current, retired = ("Docker flow", "Podman flow") if mode == "docker" else ("Podman flow", "Docker flow")
    assert deployment(host, current, "launch_podman")["work_pool_name"] == "podman_pool"
    assert deployment(host, retired, "launch_podman") is None, f"{retired}/launch_podman left behind"
    assert host.file("/etc/prefect-worker/deployments/prefect-podman.yaml").exists == (mode == "docker")
    assert f"PWB_WORKER_TYPE={mode}" in host.file("/etc/prefect-worker/pools/podman_pool.env").content_string
    assert host.service("prefect-worker@podman_pool.service").is_running
    assert current in host.file("/etc/mlex-worker/config.yml").content_string


def test_converged_in_docker_mode_and_its_smoke_job_ran(host):
    assert_mode(host, "docker")
    job_through(host, "Docker flow")


def test_rollback_with_a_job_in_flight_loses_nothing(host):
    # A job held until released: still running when a registration-only run reaches
    # the drain, whatever that run takes on a loaded machine, and released once the
    # full rollback's drain has paused the pool: the drain must wait for it.
    release = f"rollback-{time.time_ns()}"
    parent = submit_smoke_job(host, sleep_s=900, release=release)
    # First a drain that gives up at once: it fails saying why and leaves the pool as
    # it found it (running, not paused: a converge keeps a pool's pause state).
    running_child(host, parent["id"])
    code, out, _ = run_playbook("rollback.yml", "--tags", "registration", "-e", "prefect_registration_drain_timeout=5")
    assert code != 0 and "still in flight after 5 s" in out, out[-3000:]
    pool = api(host, "GET", "/work_pools/podman_pool")
    assert (pool["type"], pool["is_paused"]) == ("docker", False)
    release_smoke_job(host, release, after_s=600, once_paused="podman_pool")
    with podman_child_watch(host) as samples:
        code, out, seconds = run_playbook("rollback.yml")
    FIGURES["rollback_s"] = seconds
    assert code == 0, out[-3000:]
    assert_child_always_there(samples)
    assert "Wait for the runs in flight to finish" in out
    parent = wait_final(host, parent["id"])
    [child] = children(host, parent["id"])
    if child["state_type"] == "COMPLETED":
        # Drained: the rollback waited for it.
        assert parent["state_type"] == "COMPLETED"
        assert smoke_output(host, child["id"])["uid_save"] == child["id"]
        # It was still running when the drain paused the pool.
        ended = datetime.fromisoformat(child["end_time"].replace("Z", "+00:00")).timestamp()
        assert ended >= release_time(host, release), (child["end_time"], release_time(host, release))
        FIGURES["in_flight"] = "completed before the pool was replaced"
    else:
        # Never started: cancelled with a reason, listed by the play, its parent failed saying so.
        assert child["state_type"] == "CANCELLED" and "was replaced" in child["state"]["message"]
        assert child["id"] in out
        assert parent["state_type"] == "FAILED"
        FIGURES["in_flight"] = "cancelled before starting, reported"
    print(f"rollback: {seconds:.0f} s; in-flight job {FIGURES['in_flight']}")


def test_rolled_back_to_the_process_worker(host):
    assert_mode(host, "process")
    child = job_through(host, "Podman flow")
    # The process worker ran it on the host: no flow-run container for this run.
    assert host.check_output(f"podman ps -a -q --filter label=io.prefect.flow-run-id={child['id']}") == ""


def test_facility_podman_flow_runs_on_the_process_path(host):
    """The facility-style code's process-based podman flow (its temp file goes to the
    workers' TMPDIR, which the host's engine sees), then back to the reference worker."""
    use_worker_code("facility", worker_mode="process")
    try:
        run = wait_final(host, facility_job(host, deployment(host, "Podman flow", "launch_podman"), "podman_params")["id"])
        assert run["state_type"] == "COMPLETED", run["state"]
        assert smoke_output(host, run["id"])["uid_save"] == run["id"]
    finally:
        use_worker_code("reference", worker_mode="process")


def test_second_rollback_changes_nothing(host):
    code, out, seconds = run_playbook("rollback.yml")
    assert code == 0, out[-3000:]
    assert recap_changed(out) == 0, out[-4000:]
    print(f"second rollback: {seconds:.0f} s, changed=0")


def test_a_roll_forward_that_leaves_out_a_host_of_the_api_is_refused(host, tmp_path):
    """A second worker host of this API outside --limit still runs the process worker:
    replacing the pool now would leave it polling a docker pool. Nothing changes."""
    ghost = tmp_path / "ghost.yml"  # in the inventory, never contacted (outside --limit)
    ghost.write_text("all:\n  children:\n    demo:\n      hosts:\n        pwb-ghost-worker:\n"
                     "    podman_workers:\n      hosts:\n        pwb-ghost-worker:\n")
    name = host.backend.get_hostname()
    code, out, _ = run_playbook("site.yml", "-i", str(ghost), "--limit", name, "--tags", "registration")
    assert code != 0, out[-3000:]
    assert "This run replaces pool(s) podman_pool (new type), which pwb-ghost-worker also serve" in out, out[-3000:]
    pool = api(host, "GET", "/work_pools/podman_pool")
    assert (pool["type"], pool["is_paused"]) == ("process", False)


def test_roll_forward_restores_the_docker_path(host):
    with podman_child_watch(host) as samples:
        code, out, seconds = run_playbook("site.yml")
    assert code == 0, out[-3000:]
    assert_child_always_there(samples)
    print(f"roll forward: {seconds:.0f} s")
    assert_mode(host, "docker")
    child = job_through(host, "Docker flow")
    assert host.check_output(
        f"podman ps -a --filter label=io.prefect.flow-run-id={child['id']} --format '{{{{.ExitCode}}}}'") == "0"
    # The image was kept through the rollback: the roll forward did not rebuild it.
    assert "Build prefect-with-podman" in out and "changed: [pwb-" not in out.split("Build prefect-with-podman")[1].split("TASK")[0]
