"""Parent flow: environment choice, step planning, and chaining of child runs.

Child deployments need a worker, so run_deployment (Prefect's API) is replaced by a fake
that records its calls and returns flow runs in chosen states.
"""

import asyncio
import uuid

import pytest
import yaml
from prefect.client.schemas.objects import FlowRun
from prefect.states import Completed, Failed, Running

from flows import parent_flow
from flows.parent_flow import (
    FlowType,
    PlanError,
    determine_best_environment,
    launch_parent_flow,
    plan_steps,
)

EXAMPLE = parent_flow.WORKER_DIR / "config.yml.example"

CONFIG = {
    "hpc_type": "nsls-ii",
    "container": {"volumes": ["/srv/data:/tiled_storage"], "network": "mle_net"},
    "algorithms": {
        "autoencoder": {
            "image_name": "localhost/ae",
            "image_tag": "0.3",
            "python_file_name": {"train": "src/train.py", "inference": "src/predict.py"},
        }
    },
    "deployments": {"timeout_s": 42},
}
PARAMS_LIST = [
    {"model_name": "autoencoder", "task_name": "train", "params": {"lr": 0.1}},
    {"model_name": "autoencoder", "task_name": "inference", "params": {}},
]


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize(
    "hpc_type, expected",
    [
        ("nersc", FlowType.slurm),
        ("nsls-ii", FlowType.podman),
        ("NSLS-II", FlowType.podman),
        ("als", FlowType.docker),
        ("conda", FlowType.conda),
        ("slurm", FlowType.slurm),
        ("docker", FlowType.docker),
        ("podman", FlowType.podman),
        ("olcf", FlowType.conda),
        ("", FlowType.conda),
    ],
)
def test_determine_best_environment(hpc_type, expected):
    assert determine_best_environment(hpc_type) is expected


def test_plan_steps_builds_one_job_per_item():
    steps = plan_steps(CONFIG, PARAMS_LIST)
    assert [(s.flow_type, s.deployment_name, s.param_key) for s in steps] == [
        (FlowType.podman, "Docker flow/launch_podman", "docker_params")
    ] * 2
    first = steps[0].params
    assert (first.image_name, first.image_tag, first.command) == (
        "localhost/ae",
        "0.3",
        "python src/train.py",
    )
    assert first.volumes == ["/srv/data:/tiled_storage"] and first.network == "mle_net"
    assert first.params == {"lr": 0.1}
    assert steps[1].params.command == "python src/predict.py"


def test_plan_steps_docker_and_configured_deployment():
    config = {**CONFIG, "hpc_type": "als"}
    assert plan_steps(config, PARAMS_LIST[:1])[0][1:3] == (
        "Docker flow/launch_docker",
        "docker_params",
    )
    config["deployments"] = {
        "podman": {"name": "Podman flow/launch_podman", "param_key": "podman_params"}
    }
    step = plan_steps(config, PARAMS_LIST[:1], FlowType.podman)[0]
    assert (step.deployment_name, step.param_key) == ("Podman flow/launch_podman", "podman_params")


@pytest.mark.parametrize(
    "flow_type, items, message",
    [
        (FlowType.conda, PARAMS_LIST, "conda jobs are not supported by the reference worker"),
        (FlowType.slurm, PARAMS_LIST, "slurm jobs are not supported by the reference worker"),
        (FlowType.docker, [{"model_name": "nope", "task_name": "train"}], "step 1: model 'nope'"),
        (
            FlowType.docker,
            [PARAMS_LIST[0], {"model_name": "autoencoder", "task_name": "x"}],
            "step 2: ",
        ),
    ],
)
def test_plan_steps_rejects(flow_type, items, message):
    with pytest.raises(PlanError, match=message):
        plan_steps(CONFIG, items, flow_type)


def test_example_config_plans_every_algorithm_task():
    config = yaml.safe_load(EXAMPLE.read_text())
    items = [
        {"model_name": model, "task_name": task, "params": {}}
        for model, algo in config["algorithms"].items()
        for task in algo["python_file_name"]
    ]
    steps = plan_steps(config, items)
    assert len(steps) == len(items) >= 2
    assert {s.flow_type for s in steps} == {FlowType.podman}
    assert {s.deployment_name for s in steps} == {"Docker flow/launch_podman"}
    assert set(config) >= {"hpc_type", "container", "conda", "slurm", "algorithms", "deployments"}


class FakeRunDeployment:
    """Stands in for prefect.deployments.run_deployment; returns runs in given states."""

    def __init__(self, *states):
        self.states = list(states)
        self.calls = []
        self.runs = []

    async def __call__(self, **kwargs):
        self.calls.append(kwargs)
        run = FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4(), state=self.states.pop(0))
        self.runs.append(run)
        return run


@pytest.fixture
def parent(prefect_harness, clean_env, tmp_path):
    """Run the parent flow against CONFIG (override keys with **changes)."""

    def run(params_list, fake, **changes):
        config = tmp_path / "config.yml"
        config.write_text(yaml.safe_dump({**CONFIG, **changes}))
        clean_env.setenv("MLEX_CONFIG", str(config))
        clean_env.setattr(parent_flow, "run_deployment", fake)
        return asyncio.run(launch_parent_flow(params_list=params_list, return_state=True))

    return run


def test_parent_chains_children(parent):
    fake = FakeRunDeployment(Completed(), Completed())
    state = parent(PARAMS_LIST, fake)

    assert state.is_completed(), state.message
    first, second = (str(run.id) for run in fake.runs)
    assert state.result() == [first, second]
    assert [c["name"] for c in fake.calls] == ["Docker flow/launch_podman"] * 2
    assert [c["parameters"]["prev_flow_run_id"] for c in fake.calls] == ["", first]
    job = fake.calls[0]["parameters"]["docker_params"]
    assert job["command"] == "python src/train.py" and job["params"] == {"lr": 0.1}
    assert fake.calls[0]["timeout"] == 42


def test_parent_fails_naming_the_failed_step(parent):
    fake = FakeRunDeployment(Completed(), Failed(message="exited with code 3"))
    state = parent(PARAMS_LIST, fake)

    assert state.is_failed()
    assert "step 2 (autoencoder/inference)" in state.message
    assert str(fake.runs[1].id) in state.message and "FAILED" in state.message


def test_parent_fails_when_a_child_times_out(parent):
    fake = FakeRunDeployment(Running())
    state = parent(PARAMS_LIST, fake)

    assert state.is_failed()
    assert "step 1 (autoencoder/train)" in state.message
    assert "did not finish within 42 s" in state.message
    assert len(fake.calls) == 1  # the second step never started


def test_parent_refuses_conda_and_slurm(parent):
    fake = FakeRunDeployment()
    state = parent(PARAMS_LIST, fake, hpc_type="nersc")

    assert state.is_failed()
    assert "slurm jobs are not supported by the reference worker" in state.message
    assert fake.calls == []


def test_parent_fails_without_config(parent, clean_env, tmp_path):
    clean_env.setattr(parent_flow, "WORKER_DIR", tmp_path / "nowhere")
    state = asyncio.run(launch_parent_flow(params_list=PARAMS_LIST, return_state=True))
    assert state.is_failed() and "cannot read worker config" in state.message
