"""The one implementation of a container job, used by the docker and the podman flows.

A job is: write `params` to `<work dir>/jobs/<flow run id>/params.yaml`, then run
`<cli> run --rm ... IMAGE:TAG <command...> /app/work/params.yaml` and stream its output
into the Prefect run log.

Environment:
- CONTAINER_WORK_DIR: the work directory as this process sees it (inside a flow-run
  container, e.g. /mlex_prefect_worker).
- PREFECT_WORK_DIR: the same directory as the container engine's host sees it. When the
  CLI talks to the host's engine through a socket, host-side paths under
  CONTAINER_WORK_DIR are rewritten to the same relative path under PREFECT_WORK_DIR.
- MLEX_CONTAINER_CLI: the CLI to run instead of the flow's default ("docker"/"podman").
"""

from __future__ import annotations

import copy
import os
import posixpath
import shlex
import subprocess
from pathlib import Path
from typing import Mapping

import yaml
from prefect import get_run_logger
from prefect.runtime import flow_run
from prefect.states import Failed

from flows.docker.schema import DockerParams, split_volume

PARAMS_IN_CONTAINER = "/app/work/params.yaml"


def work_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """CONTAINER_WORK_DIR, else PREFECT_WORK_DIR, else the current directory."""
    return Path(environ.get("CONTAINER_WORK_DIR") or environ.get("PREFECT_WORK_DIR") or os.getcwd())


def to_host_path(path: str, environ: Mapping[str, str] = os.environ) -> str:
    """Rewrite a path under CONTAINER_WORK_DIR to the same place under PREFECT_WORK_DIR.

    Paths outside CONTAINER_WORK_DIR, relative paths (named volumes) and the case where
    either variable is unset or both are equal are returned unchanged.
    """
    inside = environ.get("CONTAINER_WORK_DIR")
    host = environ.get("PREFECT_WORK_DIR")
    if not inside or not host or not posixpath.isabs(path):
        return path
    inside, host = posixpath.normpath(inside), posixpath.normpath(host)
    if inside == host:
        return path
    norm = posixpath.normpath(path)
    if norm == inside:
        return host
    if norm.startswith(inside.rstrip("/") + "/"):
        return posixpath.join(host, posixpath.relpath(norm, inside))
    return path


def job_params(job: DockerParams, run_id: str, prev_flow_run_id: str = "") -> dict:
    """A copy of job.params with io_parameters.uid_save/uid_retrieve filled in."""
    params = copy.deepcopy(job.params)
    io = params.get("io_parameters")
    if not isinstance(io, dict):
        io = params["io_parameters"] = {}
    io["uid_save"] = run_id
    if prev_flow_run_id:
        io["uid_retrieve"] = prev_flow_run_id
    return params


def write_params_file(params: dict, run_id: str, environ: Mapping[str, str] = os.environ) -> Path:
    """Write params to <work dir>/jobs/<run_id>/params.yaml and return that path."""
    path = work_dir(environ) / "jobs" / run_id / "params.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def build_run_command(
    cli: str, job: DockerParams, params_file: str, environ: Mapping[str, str] = os.environ
) -> list[str]:
    """The argv of `<cli> run --rm ...` for a job whose params are in params_file."""
    cmd = [cli, "run", "--rm"]
    if job.network:
        cmd += ["--network", job.network]
    for key, value in job.env_vars.items():
        cmd += ["-e", f"{key}={value}"]
    for spec in job.volumes:
        host, container, options = split_volume(spec)
        mount = f"{to_host_path(host, environ)}:{container}"
        cmd += ["-v", f"{mount}:{options}" if options else mount]
    cmd += ["-v", f"{to_host_path(str(params_file), environ)}:{PARAMS_IN_CONTAINER}:ro"]
    cmd.append(f"{job.image_name}:{job.image_tag}")
    cmd += shlex.split(job.command)
    cmd.append(PARAMS_IN_CONTAINER)
    return cmd


def redacted(cmd: list[str]) -> list[str]:
    """cmd with the values of `-e KEY=VALUE` hidden: env vars may carry secrets."""
    out = list(cmd)
    for i, arg in enumerate(out[:-1]):
        if arg == "-e" and "=" in out[i + 1]:
            out[i + 1] = out[i + 1].split("=", 1)[0] + "=***"
    return out


def stream_command(cmd: list[str], logger) -> int:
    """Run cmd, log each output line (stdout and stderr), return the exit code."""
    logger.info("Running: %s", shlex.join(redacted(cmd)))
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
    except FileNotFoundError:
        logger.error("Container CLI %r not found (set MLEX_CONTAINER_CLI?)", cmd[0])
        return 127
    with proc.stdout:
        for line in proc.stdout:
            logger.info(line.rstrip("\n"))
    return proc.wait()


def run_container_job(default_cli: str, job: DockerParams, prev_flow_run_id: str = ""):
    """Body of the docker and podman flows: run the job, return Failed on non-zero exit.

    Must be called inside a flow run. Returns 0 (the flow completes) or a Failed state.
    """
    logger = get_run_logger()
    cli = os.environ.get("MLEX_CONTAINER_CLI") or default_cli
    run_id = str(flow_run.id)
    params_file = write_params_file(job_params(job, run_id, prev_flow_run_id), run_id)
    logger.info("Params for this job: %s", params_file)
    code = stream_command(build_run_command(cli, job, str(params_file)), logger)
    if code != 0:
        return Failed(message=f"{cli} job {job.image_name}:{job.image_tag} exited with code {code}")
    logger.info("Job finished with exit code 0")
    return code
