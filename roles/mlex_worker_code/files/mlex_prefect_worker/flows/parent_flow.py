"""Parent flow: run a list of algorithm steps as child deployments, one after another.

Each step's child flow run id is handed to the next step as `prev_flow_run_id` (the
child writes it to io_parameters.uid_retrieve). The execution environment comes from
`hpc_type` in config.yml (see config.yml.example).
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Optional

import yaml
from prefect import flow, get_run_logger, task
from prefect.deployments import run_deployment
from prefect.states import Failed
from pydantic import ValidationError

from flows.docker.schema import DockerParams

WORKER_DIR = Path(__file__).resolve().parent.parent


class FlowType(str, Enum):
    conda = "conda"
    slurm = "slurm"
    docker = "docker"
    podman = "podman"


HPC_TYPES = {"nersc": FlowType.slurm, "nsls-ii": FlowType.podman, "als": FlowType.docker}

# (deployment name, parameter key) per container flow type, when config.yml names none.
# The container-based podman worker runs the *docker* flow (prefect-podman.yaml).
DEFAULT_DEPLOYMENTS = {
    FlowType.docker: ("Docker flow/launch_docker", "docker_params"),
    FlowType.podman: ("Docker flow/launch_podman", "docker_params"),
}
DEFAULT_TIMEOUT_S = 600
DEFAULT_POLL_INTERVAL_S = 5


class Step(NamedTuple):
    flow_type: FlowType
    deployment_name: str
    param_key: str
    params: DockerParams


class PlanError(ValueError):
    """The config and params_list do not describe runnable steps."""


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    """MLEX_CONFIG, else config.yml in the worker directory."""
    return Path(environ.get("MLEX_CONFIG") or WORKER_DIR / "config.yml")


def load_config(path: Optional[Path] = None) -> dict:
    path = path or config_path()
    with open(path) as fh:
        return yaml.safe_load(fh) or {}


def flow_type_for(hpc_type: Any) -> FlowType:
    """nersc->slurm, nsls-ii->podman, als->docker, a FlowType value as itself, else conda."""
    name = str(hpc_type or "").strip().lower()
    if name in HPC_TYPES:
        return HPC_TYPES[name]
    if name in FlowType._value2member_map_:
        return FlowType(name)
    return FlowType.conda


@task
def determine_best_environment(hpc_type: str) -> FlowType:
    flow_type = flow_type_for(hpc_type)
    get_run_logger().info("hpc_type %r runs %s jobs", hpc_type, flow_type.value)
    return flow_type


def _section(config: Mapping, key: str) -> dict:
    return config.get(key) or {}


def plan_steps(
    config: Mapping, params_list: list[dict], flow_type: Optional[FlowType] = None
) -> list[Step]:
    """Turn params_list items (model_name, task_name, params) into child deployment calls.

    flow_type defaults to the one config["hpc_type"] maps to. Raises PlanError for
    flow types the reference worker cannot run and for unknown models or tasks.
    """
    if flow_type is None:
        flow_type = flow_type_for(config.get("hpc_type"))
    if flow_type not in DEFAULT_DEPLOYMENTS:
        raise PlanError(f"{flow_type.value} jobs are not supported by the reference worker")
    deployment = _section(_section(config, "deployments"), flow_type.value)
    default_name, default_key = DEFAULT_DEPLOYMENTS[flow_type]
    name = deployment.get("name") or default_name
    key = deployment.get("param_key") or default_key
    container = _section(config, "container")
    algorithms = _section(config, "algorithms")

    steps = []
    for number, item in enumerate(params_list, start=1):
        model_name, task_name = item.get("model_name"), item.get("task_name")
        algorithm = algorithms.get(model_name)
        if not algorithm:
            raise PlanError(f"step {number}: model {model_name!r} is not in config algorithms")
        python_file = _section(algorithm, "python_file_name").get(task_name)
        if not python_file:
            raise PlanError(
                f"step {number}: model {model_name!r} has no python_file_name for task {task_name!r}"
            )
        try:
            params = DockerParams(
                image_name=algorithm.get("image_name", ""),
                image_tag=str(algorithm.get("image_tag") or "latest"),
                command=f"python {python_file}",
                volumes=container.get("volumes") or [],
                network=container.get("network") or "",
                params=item.get("params") or {},
            )
        except ValidationError as exc:
            raise PlanError(f"step {number}: invalid job parameters: {exc}") from exc
        steps.append(Step(flow_type, name, key, params))
    return steps


def _step_label(number: int, item: Mapping) -> str:
    return f"step {number} ({item.get('model_name')}/{item.get('task_name')})"


@flow(name="Parent flow")
async def launch_parent_flow(params_list: list[dict]):
    logger = get_run_logger()
    try:
        config = load_config()
    except (OSError, yaml.YAMLError) as exc:
        return Failed(message=f"cannot read worker config {config_path()}: {exc}")

    flow_type = determine_best_environment(config.get("hpc_type", ""))
    try:
        steps = plan_steps(config, params_list, flow_type)
    except PlanError as exc:
        return Failed(message=str(exc))

    deployments = _section(config, "deployments")
    timeout = float(deployments.get("timeout_s", DEFAULT_TIMEOUT_S))
    poll_interval = float(deployments.get("poll_interval_s", DEFAULT_POLL_INTERVAL_S))

    prev_flow_run_id = ""
    child_ids = []
    for number, (step, item) in enumerate(zip(steps, params_list), start=1):
        label = _step_label(number, item)
        logger.info("%s: running deployment %s", label, step.deployment_name)
        child = await run_deployment(
            name=step.deployment_name,
            parameters={
                step.param_key: step.params.model_dump(),
                "prev_flow_run_id": prev_flow_run_id,
            },
            timeout=timeout,
            poll_interval=poll_interval,
        )
        state = child.state
        if state is None or not state.is_final():
            current = state.type.value if state else "unknown"
            return Failed(
                message=f"{label}: child flow run {child.id} did not finish within "
                f"{timeout:g} s (state {current})"
            )
        if not state.is_completed():
            return Failed(
                message=f"{label}: child flow run {child.id} ended {state.type.value}"
                + (f": {state.message}" if state.message else "")
            )
        prev_flow_run_id = str(child.id)
        child_ids.append(prev_flow_run_id)
    return child_ids
