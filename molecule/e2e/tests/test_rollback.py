"""The guide's Rollback Plan as one command, and back (molecule scenario `e2e`).

Runs last in e2e's verify (pytest takes files in name order), on the host the other
e2e tests left converged in docker mode, so no second converge of the whole stack.
The tests run in file order and build on each other; the last rolls forward, so the
host ends as site.yml left it."""
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import (  # noqa: E402
    api, children, deployment, facility_job, recap_changed, release_smoke_job, release_time, run_playbook, running_child,
    smoke_output, submit_smoke_job, use_worker_code, wait_final)

FIGURES = {}


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
    code, out, seconds = run_playbook("rollback.yml")
    FIGURES["rollback_s"] = seconds
    assert code == 0, out[-3000:]
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
    code, out, seconds = run_playbook("site.yml")
    assert code == 0, out[-3000:]
    print(f"roll forward: {seconds:.0f} s")
    assert_mode(host, "docker")
    child = job_through(host, "Docker flow")
    assert host.check_output(
        f"podman ps -a --filter label=io.prefect.flow-run-id={child['id']} --format '{{{{.ExitCode}}}}'") == "0"
    # The image was kept through the rollback: the roll forward did not rebuild it.
    assert "Build prefect-with-podman" in out and "changed: [pwb-" not in out.split("Build prefect-with-podman")[1].split("TASK")[0]
