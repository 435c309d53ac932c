"""Podman flow: run one container job with the podman CLI on the host (process worker).

This is the path the migration guide's rollback returns to.
"""

from prefect import flow

from flows.container_job import run_container_job
from flows.docker.schema import PodmanParams


@flow(name="Podman flow")
def launch_podman(podman_params: PodmanParams, prev_flow_run_id: str = ""):
    return run_container_job("podman", podman_params, prev_flow_run_id)
