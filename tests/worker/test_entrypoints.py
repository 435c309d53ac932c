"""The entrypoints prefect.yaml / prefect-podman.yaml deploy, loaded as a worker loads them."""

from pathlib import Path

import pytest
from prefect.flows import load_flow_from_entrypoint

WORKER_DIR = Path(__file__).resolve().parents[2] / "roles/mlex_worker_code/files/mlex_prefect_worker"


@pytest.mark.parametrize(
    "entrypoint, flow_name, parameters",
    [
        ("flows/docker/docker_flows.py:launch_docker", "Docker flow", ["docker_params", "prev_flow_run_id"]),
        ("flows/podman/podman_flows.py:launch_podman", "Podman flow", ["podman_params", "prev_flow_run_id"]),
        ("flows/parent_flow.py:launch_parent_flow", "Parent flow", ["params_list"]),
    ],
)  # fmt: skip
def test_entrypoint_loads_with_upstream_names(entrypoint, flow_name, parameters, monkeypatch):
    monkeypatch.chdir(WORKER_DIR)  # deployments set their working directory to the worker
    loaded = load_flow_from_entrypoint(entrypoint)
    assert loaded.name == flow_name
    assert list(loaded.parameters.properties) == parameters
    assert loaded.parameters.required == parameters[:1]
