"""The docker and podman flows running real containers through podman."""

import logging

import pytest
import yaml

from flows.docker.docker_flows import launch_docker
from flows.docker.schema import DockerParams
from flows.podman.podman_flows import launch_podman

pytestmark = pytest.mark.usefixtures("prefect_harness")

COPY_PARAMS = """sh -c 'cp "$0" /out/params-copy.yaml && echo "job says $GREETING"'"""


@pytest.fixture
def job_env(clean_env, tmp_path):
    """Docker flow driven by podman, work dir in tmp_path, an empty /out volume."""
    clean_env.setenv("MLEX_CONTAINER_CLI", "podman")
    clean_env.setenv("PREFECT_WORK_DIR", str(tmp_path / "work"))
    out = tmp_path / "out"
    out.mkdir()
    return out


def _job(image, command, **kw):
    name, tag = image
    return DockerParams(image_name=name, image_tag=tag, command=command, **kw)


def _run_id(state):
    return str(state.state_details.flow_run_id)


def test_docker_flow_writes_into_host_volume(image, job_env, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    job = _job(
        image,
        COPY_PARAMS,
        volumes=[f"{job_env}:/out"],
        env_vars={"GREETING": "hello"},
        params={"model": {"epochs": 2}, "io_parameters": {"uid_retrieve": "", "uid_save": ""}},
    )
    state = launch_docker(job, prev_flow_run_id="prev-123", return_state=True)

    assert state.is_completed(), state.message
    copied = yaml.safe_load((job_env / "params-copy.yaml").read_text())
    assert copied == {
        "model": {"epochs": 2},
        "io_parameters": {"uid_retrieve": "prev-123", "uid_save": _run_id(state)},
    }
    assert (tmp_path / "work" / "jobs" / _run_id(state) / "params.yaml").is_file()
    assert "job says hello" in caplog.messages  # container output reached the run log


def test_non_zero_exit_fails_the_flow(image, job_env):
    job = _job(image, "sh -c 'echo broken >&2; exit 3'")
    state = launch_docker(job, return_state=True)
    assert state.is_failed()
    assert "exited with code 3" in state.message


def test_missing_cli_fails_the_flow(job_env, clean_env):
    clean_env.setenv("MLEX_CONTAINER_CLI", "/nonexistent/container-cli")
    state = launch_docker(_job(("img", "latest"), "true"), return_state=True)
    assert state.is_failed()
    assert "exited with code 127" in state.message


def test_nested_work_dir_is_mapped_for_a_real_run(image, clean_env, tmp_path):
    """The flow writes under CONTAINER_WORK_DIR; podman only sees PREFECT_WORK_DIR.

    inside/data does not exist, host/data does: the job can only write its file if the
    volume was rewritten. host/jobs links to inside/jobs so the params file written
    "inside" is found at its host path.
    """
    inside, host = tmp_path / "inside", tmp_path / "host"
    (inside / "jobs").mkdir(parents=True)
    (host / "data").mkdir(parents=True)
    (host / "jobs").symlink_to(inside / "jobs")
    clean_env.setenv("MLEX_CONTAINER_CLI", "podman")
    clean_env.setenv("CONTAINER_WORK_DIR", str(inside))
    clean_env.setenv("PREFECT_WORK_DIR", str(host))

    job = _job(
        image, """sh -c 'cp "$0" /data/params-copy.yaml'""", volumes=[f"{inside}/data:/data"]
    )
    state = launch_docker(job, return_state=True)

    assert state.is_completed(), state.message
    copied = yaml.safe_load((host / "data" / "params-copy.yaml").read_text())
    assert copied["io_parameters"]["uid_save"] == _run_id(state)
    assert not (inside / "data").exists()


def test_podman_flow_uses_podman_and_omits_uid_retrieve_without_prev(image, job_env, clean_env):
    clean_env.delenv("MLEX_CONTAINER_CLI")  # the podman flow's own default CLI
    state = launch_podman(_job(image, COPY_PARAMS, volumes=[f"{job_env}:/out"]), return_state=True)

    assert state.is_completed(), state.message
    copied = yaml.safe_load((job_env / "params-copy.yaml").read_text())
    assert copied == {"io_parameters": {"uid_save": _run_id(state)}}
