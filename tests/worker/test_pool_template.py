"""The pools' base job templates (roles/prefect_registration/filter_plugins/pool_template.py)
against the locked Prefect: a real server accepts deployments and flow runs that set
locked job variables, and the docker worker's job configuration then holds the
template's values (env: merged, as Prefect merges it); overridable ones still apply."""
import asyncio
import importlib.util
import inspect
import json
from pathlib import Path

from prefect_docker.worker import DockerWorkerJobConfiguration

ROLE = Path(__file__).resolve().parents[2] / "roles/prefect_registration"
_spec = importlib.util.spec_from_file_location("pool_template", ROLE / "filter_plugins/pool_template.py")
pool_template = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pool_template)

SETTINGS = {"image": "localhost/prefect-with-podman:latest", "image_pull_policy": "Never",
            "volumes": ["/run/podman/podman.sock:/var/run/docker.sock", "/opt/code:/opt/code:ro"],
            "env": {"PYTHONPATH": "/opt/code", "TMPDIR": "/var/lib/work/tmp"}, "auto_remove": False}
OVERRIDABLE = ["name", "labels", "stream_output", "mem_limit", "memswap_limit"]


def docker_template():
    import prefect

    default = json.loads((ROLE / "files/base-job-templates" / prefect.__version__ / "docker.json").read_text())
    return pool_template.pool_template(default, SETTINGS, OVERRIDABLE)


def test_locked_variables_survive_deployment_and_flow_run_overrides(prefect_harness):
    asyncio.run(_locked_variables_survive())


async def _locked_variables_survive():
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    @flow(name="pwb-template-probe")
    def probe():
        pass

    template = docker_template()
    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name="pwb-locked", type="docker", base_job_template=template))
        flow_id = await client.create_flow(probe)
        # The guide's own job_variables, as a deployment that was not migrated sets them.
        guide = {"image": "prefect-with-podman:latest", "volumes": ["/srv:/srv"], "env": {"PYTHONPATH": "/app"}}
        deployment_id = await client.create_deployment(
            flow_id=flow_id, name="guide-style", work_pool_name="pwb-locked", job_variables=guide)
        run = await client.create_flow_run_from_deployment(
            deployment_id, job_variables={"volumes": ["/:/host"], "privileged": True, "labels": {"team": "x"}})
        deployment = await client.read_deployment(deployment_id)
        # What the worker renders: the pool's template with the deployment's, then the run's, variables.
        pool = await client.read_work_pool("pwb-locked")
    values = {**deployment.job_variables, **run.job_variables}
    config = DockerWorkerJobConfiguration.from_template_and_values(pool.base_job_template, values)
    if inspect.isawaitable(config):
        config = await config
    assert config.volumes == SETTINGS["volumes"]
    assert config.image == SETTINGS["image"]
    # env is the exception: Prefect merges a deployment's env into the template's, its keys
    # winning (not a privilege: the deployment's own flow code runs with the socket anyway).
    assert config.env == {**SETTINGS["env"], **guide["env"]}
    assert config.privileged is False
    assert config.labels == {"team": "x"}
    assert config.stream_output is True and config.auto_remove is False
