"""roles/prefect_registration's drift filter decides when `prefect deploy` runs (input:
prefect_deployment_info's `deployments`, each entry plus the API's deployment or None)."""
from conftest import load_plugin

drift = load_plugin("roles/prefect_registration/filter_plugins/deployment_drift.py")

ENTRY = {
    "file": "prefect-podman.yaml", "flow": "Docker flow", "name": "launch_podman",
    "entrypoint": "flows/docker/docker_flows.py:launch_docker", "description": "d",
    "work_pool_name": "podman_pool", "work_queue_name": "default-queue",
    "job_variables": {"image": "localhost/prefect-with-podman:latest", "volumes": ["/a:/b"]},
    "pull_steps": [{"prefect.deployments.steps.set_working_directory": {"directory": "/mlex_prefect_worker"}}],
    "version": "0.1.0",
}


def remote(**changes):
    body = {k: v for k, v in ENTRY.items() if k not in ("file", "flow", "name")}
    body.update(id="x", name="launch_podman", created="2026-01-01T00:00:00Z", **changes)
    return dict(ENTRY, deployment=body)


def test_identical_deployment_is_left_alone():
    assert drift.deployment_drift([remote()]) == []


def test_missing_deployment_is_deployed():
    [stale] = drift.deployment_drift([dict(ENTRY, deployment=None)])
    assert stale["reasons"] == ["missing"] and stale["name"] == "launch_podman"


def test_each_changed_field_is_named():
    changed = remote(work_pool_name="other_pool", job_variables={"image": "x"})
    [stale] = drift.deployment_drift([changed])
    assert stale["reasons"] == ["work_pool_name", "job_variables"]


def test_volume_order_counts():
    jv = dict(ENTRY["job_variables"], volumes=["/b:/c", "/a:/b"])
    assert drift.deployment_drift([remote(job_variables=jv)])[0]["reasons"] == ["job_variables"]


def test_empty_and_null_descriptions_are_equal():
    result = dict(remote(description=None), description="")
    assert drift.deployment_drift([result]) == []
