"""A facility's own worker code, unmodified, on the converged e2e host.

tests/fixtures/facility_worker is written in the style of MLExchange's public worker
repository: params in a temp file under the default temp directory, a bash script that
`eval`s a `docker run` without --rm, and the upstream flow signatures. The host is
switched to it through the inventory (mlex_worker_code_bundle_dir), runs its jobs
through the bundle's own deployment, the smoke play's child target, one deployment
that `prefect deploy` registers from the code's bare prefect-podman.yaml and one with
the guide's job variables; then to a git checkout of it, and back to the reference
worker. (test_rollback.py runs its process-path flow after the rollback.)"""
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import (  # noqa: E402
    API, API_AUTH, FACILITY_CODE, FACILITY_GIT, api, code_version, deployment, facility_job, recap_changed, run_playbook,
    smoke_output, use_worker_code, wait_final, worker_code_args)

CODE = "/opt/mlex_prefect_worker"
PROJECT = Path(__file__).resolve().parents[3]


def test_switch_to_the_facility_code_is_clean_and_idempotent(host):
    out = use_worker_code("facility")
    # The deployments' version names the code site.yml shipped; this code has another.
    reference = deployment(host, "Docker flow", "launch_podman")["version"]
    assert reference.startswith("bundle-") and len(reference) == len("bundle-") + 12, reference
    assert code_version(out).startswith("bundle-") and code_version(out) != reference
    assert host.file(f"{CODE}/flows/logger.py").exists
    # Its scripts stay executable: the flows run them directly.
    assert host.file(f"{CODE}/flows/docker/bash_run_docker.sh").mode == 0o755
    # Nothing of the reference worker is left to import.
    assert not host.file(f"{CODE}/flows/container_job.py").exists, out[-2000:]
    assert not host.file(f"{CODE}/flows/parent_flow.py").exists
    code, out, _ = run_playbook("molecule/e2e/worker_code.yml", *worker_code_args("facility"))
    assert code == 0 and recap_changed(out) == 0, out[-3000:]


def test_facility_docker_flow_runs_through_the_bundles_deployment(host):
    dep = deployment(host, "Docker flow", "launch_podman")
    run = wait_final(host, facility_job(host, dep, "docker_params")["id"], timeout=240)
    assert run["state_type"] == "COMPLETED", run["state"]
    # The algorithm container read the params from the flow's temp file: a host path.
    out = smoke_output(host, run["id"])
    assert out["uid_save"] == run["id"]
    # It got the demo inventory's pwb_job_container_resources through the shim, with
    # no option for them in the facility's script: a 1g /dev/shm it sees itself, and
    # memory, pids and cpus limits the engine holds (the script runs it without --rm).
    assert out["shm_bytes"] == 2**30
    [ctr] = host.check_output(
        f"podman ps -a --filter label=podman-worker-bundle.flow-run-id={run['id']} --format '{{{{.ID}}}}'").split()
    limits = host.check_output(
        f"podman inspect {ctr} --format '{{{{.HostConfig.Memory}}}} {{{{.HostConfig.PidsLimit}}}} {{{{.HostConfig.NanoCpus}}}}'")
    assert limits.split() == [str(4 * 2**30), "4096", str(15 * 10**8)], limits


def test_smoke_play_targets_the_child_for_facility_code(host):
    code, out, _ = run_playbook("smoke.yml", "-e", "smoke_job_target=child")
    assert code == 0, out[-3000:]
    [run] = api(host, "POST", "/flow_runs/filter", {
        "flow_runs": {"tags": {"all_": ["pwb-smoke"]}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 1})
    assert run["deployment_id"] == deployment(host, "Docker flow", "launch_podman")["id"]
    assert run["state_type"] == "COMPLETED" and run["parent_task_run_id"] is None


def prefect_deploy(host, prefect_file, name):
    """`prefect deploy` as a developer runs it, from the code's root on the host, with
    the API's credential in the environment (from the workers' 0600 env file)."""
    env = f"PREFECT_API_URL={API} PREFECT_SERVER_ANALYTICS_ENABLED=false"
    host.run_test(f"export PREFECT_API_AUTH_STRING=\"$({API_AUTH})\" && cd {CODE} && "
                  f"env {env} /opt/prefect/venv/bin/prefect --no-prompt deploy --prefect-file {prefect_file} --name {name}")


def test_bare_prefect_deploy_of_the_facility_code_gets_a_working_container(host):
    prefect_deploy(host, "prefect-podman.yaml", "facility_docker")
    dep = deployment(host, "Docker flow", "facility_docker")
    try:
        assert dep["job_variables"] == {} and dep["work_pool_name"] == "podman_pool"
        # The developer's own deploy pulls from where they deployed: the code's host path.
        assert dep["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == CODE
        run = wait_final(host, facility_job(host, dep, "docker_params")["id"], timeout=240)
        assert run["state_type"] == "COMPLETED", run["state"]
        assert smoke_output(host, run["id"])["uid_save"] == run["id"]

        # A flow run asks for the host's root directory, another image and environment
        # (locked: accepted, no effect) and a label (overridable: applied).
        overrides = {"volumes": ["/:/host"], "image": "docker.io/library/busybox:latest",
                     "env": {"PYTHONPATH": "/nonexistent"}, "labels": {"pwb.test": "overridable"}}
        run = wait_final(host, facility_job(host, dep, "docker_params", job_variables=overrides)["id"], timeout=240)
        assert run["state_type"] == "COMPLETED", run["state"]
        fmt = "{{.ImageName}} {{json .Config.Labels}} {{range .Mounts}}{{.Destination}},{{end}}"
        inspect = host.check_output(
            f"podman ps -a -q --filter label=io.prefect.flow-run-id={run['id']} | xargs podman inspect --format {shlex.quote(fmt)}")
        assert inspect.startswith("localhost/prefect-with-podman:latest "), inspect
        assert '"pwb.test":"overridable"' in inspect, inspect
        mounts = inspect.rsplit(" ", 1)[1].split(",")
        assert "/host" not in mounts and "/var/run/docker.sock" in mounts, inspect
    finally:
        api(host, "DELETE", f"/deployments/{dep['id']}")


# The guide's prefect-podman.yaml, as a facility that followed it by hand has it.
GUIDE_FILE = """
name: mlex_prefect_worker_podman
pull:
- prefect.deployments.steps.set_working_directory:
    directory: /mlex_prefect_worker
deployments:
- name: guide_style
  entrypoint: flows/docker/docker_flows.py:launch_docker
  work_pool:
    name: podman_pool
    job_variables:
      image: prefect-with-podman:latest
      image_pull_policy: Never
      volumes:
      - /run/podman/podman.sock:/var/run/docker.sock
      - /Users/someone/mlex_prefect_worker:/mlex_prefect_worker
      env:
        PYTHONPATH: /mlex_prefect_worker
      auto_remove: true
      stream_output: true
"""


def test_a_deployment_with_the_guides_job_variables_still_runs(host):
    """Its image, volumes and auto_remove are accepted and have no effect (the pool's
    locked values win); its env merges into the pool's (Prefect merges env) and its
    paths exist (the code is mounted at the guide's path too)."""
    host.run_test(f"printf '%s' {shlex.quote(GUIDE_FILE)} > /tmp/guide-prefect-podman.yaml")
    prefect_deploy(host, "/tmp/guide-prefect-podman.yaml", "guide_style")
    dep = deployment(host, "Docker flow", "guide_style")
    try:
        assert dep["job_variables"]["volumes"][1].startswith("/Users/someone")
        run = wait_final(host, facility_job(host, dep, "docker_params")["id"], timeout=240)
        assert run["state_type"] == "COMPLETED", run["state"]
        assert smoke_output(host, run["id"])["uid_save"] == run["id"]
        code = host.check_output(
            f"podman ps -a --filter label=io.prefect.flow-run-id={run['id']} --format '{{{{.ExitCode}}}}'")
        assert code == "0"  # kept for its exit code: the guide's auto_remove: true had no effect
    finally:
        api(host, "DELETE", f"/deployments/{dep['id']}")


def test_git_source_converges_and_refuses_a_branch(host, tmp_path):
    # The fixture as a repository (tag v1 on branch main), copied onto the test host.
    git = ["git", "-c", "user.name=pwb", "-c", "user.email=pwb@example.org", "-C", str(tmp_path / "src")]
    subprocess.run(["cp", "-r", str(PROJECT / FACILITY_CODE), str(tmp_path / "src")], check=True)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "v1"], ["tag", "v1"]):
        subprocess.run(git + args, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(tmp_path / "src"), str(tmp_path / "bare.git")], check=True)
    host.run_test(f"rm -rf {FACILITY_GIT} && mkdir -p {Path(FACILITY_GIT).parent}")
    subprocess.run(["podman", "cp", str(tmp_path / "bare.git"), f"{host.backend.name}:{FACILITY_GIT}"], check=True)
    commit = subprocess.run(git + ["rev-parse", "v1"], check=True, capture_output=True, text=True).stdout.strip()

    # bundle -> git: the shipped tree is replaced by a checkout.
    out = use_worker_code("git")
    assert code_version(out) == "git-v1"
    assert host.check_output(f"git -C {CODE} rev-parse HEAD") == commit
    assert host.file(f"{CODE}/flows/docker/bash_run_docker.sh").mode == 0o755
    code, out, _ = run_playbook("molecule/e2e/worker_code.yml", *worker_code_args("git"))
    assert code == 0 and recap_changed(out) == 0, out[-3000:]

    # A branch head is refused, and the checkout stays where it was.
    code, out, _ = run_playbook("molecule/e2e/worker_code.yml", *worker_code_args("git", git_version="main"))
    assert code != 0 and "'main' is a branch" in out, out[-3000:]
    assert host.check_output(f"git -C {CODE} rev-parse HEAD") == commit


def test_switch_back_to_the_reference_worker(host):
    # git -> bundle: the checkout (and its .git) gives way to the reference worker.
    out = use_worker_code("reference")
    assert code_version(out) == deployment(host, "Docker flow", "launch_podman")["version"]
    assert host.file(f"{CODE}/flows/container_job.py").exists
    assert not host.file(f"{CODE}/.git").exists
    assert not host.file(f"{CODE}/flows/logger.py").exists
    assert not host.file(f"{CODE}/prefect-podman.yaml").exists
    host.run_test(f"rm -rf {Path(FACILITY_GIT).parent}")
