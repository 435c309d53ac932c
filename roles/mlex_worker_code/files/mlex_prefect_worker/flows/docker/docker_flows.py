"""Docker flow: run one container job with the docker CLI.

In the container-based podman worker (prefect-podman.yaml) this same flow runs with a
`docker` shim that drives the host's podman through its socket.
"""

from prefect import flow

from flows.container_job import run_container_job
from flows.docker.schema import DockerParams


@flow(name="Docker flow")
def launch_docker(docker_params: DockerParams, prev_flow_run_id: str = ""):
    return run_container_job("docker", docker_params, prev_flow_run_id)
