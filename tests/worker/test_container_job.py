"""The shared container job: command line, path mapping, params file (no containers)."""

import yaml

from flows.container_job import (
    build_run_command,
    job_params,
    to_host_path,
    work_dir,
    write_params_file,
)
from flows.docker.schema import DockerParams


def test_command_has_every_part_in_order(tmp_path):
    job = DockerParams(
        image_name="localhost/algo",
        image_tag="1.2",
        command="python train.py --epochs '2 3'",
        volumes=["/data:/data", "/models:/models:ro"],
        network="mle_net",
        env_vars={"A": "1", "B": "x y"},
    )
    params_file = tmp_path / "params.yaml"
    assert build_run_command("docker", job, str(params_file), environ={}) == [
        "docker", "run", "--rm",
        "--network", "mle_net",
        "-e", "A=1", "-e", "B=x y",
        "-v", "/data:/data", "-v", "/models:/models:ro",
        "-v", f"{params_file}:/app/work/params.yaml:ro",
        "localhost/algo:1.2",
        "python", "train.py", "--epochs", "2 3",
        "/app/work/params.yaml",
    ]  # fmt: skip


def test_no_network_flag_when_network_is_empty():
    job = DockerParams(image_name="img", command="true")
    cmd = build_run_command("podman", job, "/w/params.yaml", environ={})
    assert "--network" not in cmd
    assert cmd[:3] == ["podman", "run", "--rm"]


def test_nested_mounts_are_rewritten_to_host_paths(tmp_path):
    env = {"CONTAINER_WORK_DIR": "/x", "PREFECT_WORK_DIR": str(tmp_path)}
    job = DockerParams(
        image_name="img",
        command="true",
        volumes=["/x/data:/data", "/x:/all:ro", "/xy/other:/o", "/elsewhere:/e", "named:/n"],
    )
    cmd = build_run_command("docker", job, "/x/jobs/r1/params.yaml", environ=env)
    mounts = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "-v"]
    assert mounts == [
        f"{tmp_path}/data:/data",
        f"{tmp_path}:/all:ro",
        "/xy/other:/o",  # a sibling that only shares the prefix
        "/elsewhere:/e",
        "named:/n",  # named volume, not a path
        f"{tmp_path}/jobs/r1/params.yaml:/app/work/params.yaml:ro",
    ]


def test_to_host_path_without_mapping():
    path = "/x/data"
    assert to_host_path(path, {}) == path
    assert to_host_path(path, {"CONTAINER_WORK_DIR": "/x"}) == path
    assert to_host_path(path, {"PREFECT_WORK_DIR": "/h"}) == path
    assert to_host_path(path, {"CONTAINER_WORK_DIR": "/x/", "PREFECT_WORK_DIR": "/x"}) == path
    assert (
        to_host_path("/x/./data/", {"CONTAINER_WORK_DIR": "/x/", "PREFECT_WORK_DIR": "/h"})
        == "/h/data"
    )


def test_work_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert work_dir({}) == tmp_path
    assert str(work_dir({"PREFECT_WORK_DIR": "/h"})) == "/h"
    assert str(work_dir({"PREFECT_WORK_DIR": "/h", "CONTAINER_WORK_DIR": "/c"})) == "/c"


def test_job_params_sets_uids_without_touching_the_model():
    job = DockerParams(image_name="img", command="true", params={"io_parameters": {"x": 1}})
    assert job_params(job, "run-1", "prev-0") == {
        "io_parameters": {"x": 1, "uid_save": "run-1", "uid_retrieve": "prev-0"}
    }
    assert job.params == {"io_parameters": {"x": 1}}
    assert job_params(DockerParams(image_name="i", command="c"), "run-2") == {
        "io_parameters": {"uid_save": "run-2"}
    }


def test_params_file_goes_to_a_per_run_directory(tmp_path):
    path = write_params_file({"a": [1, 2]}, "run-9", {"CONTAINER_WORK_DIR": str(tmp_path)})
    assert path == tmp_path / "jobs" / "run-9" / "params.yaml"
    assert yaml.safe_load(path.read_text()) == {"a": [1, 2]}


def test_logged_command_hides_env_values():
    from flows.container_job import redacted

    cmd = ["podman", "run", "--rm", "-e", "TOKEN=s3cret=x", "-e", "MODE=fast", "img:1", "echo", "-e"]
    out = redacted(cmd)
    assert "TOKEN=***" in out and "MODE=***" in out
    assert not any("s3cret" in a or a == "MODE=fast" for a in out)
    assert out[-1] == "-e" and out[:3] == cmd[:3]  # a trailing "-e" argument is left alone
