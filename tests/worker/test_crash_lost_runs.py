"""The job reaper's lost-run step (roles/prefect_worker_services/files/crash-lost-runs)
against a real Prefect server (the session's harness), real processes and real
containers: of the active runs in this host's pools, it sets CRASHED those its own
workers took whose process or container is gone, and nothing else: not another
host's runs (the API is shared, the same pool may be served by several hosts), not
another pool's, not a live one. e2e sees a host restart end this way."""
import os
import socket
import subprocess
import uuid

import pytest

from conftest import ROOT

SCRIPT = ROOT / "roles/prefect_worker_services/files/crash-lost-runs"


@pytest.fixture
def client(prefect_harness):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as c:
        yield c


def active_run(client, pool, worker, worker_type, infra):
    """A RUNNING run of pool, taken by the worker named worker, with infrastructure infra
    (a pid for a process worker, <engine>:<container id> for a docker worker)."""
    from prefect import flow
    from prefect.states import Running

    @flow(name="pwb-lost-run-probe")
    def probe():
        pass

    run = client.create_flow_run(probe, state=Running(), work_pool_name=pool)
    client.update_flow_run_labels(run.id, {"prefect.worker.name": worker, "prefect.worker.type": worker_type})
    if infra:
        client.update_flow_run(run.id, infrastructure_pid=infra)
    return str(run.id)


def reap(pools, state):
    from prefect.settings import PREFECT_API_URL

    env = {"PATH": os.environ["PATH"], "PREFECT_API_URL": PREFECT_API_URL.value()}
    args = [str(SCRIPT), "--grace", "0", "--state", str(state)] + [f"--pool={p}" for p in pools]
    return subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout


def test_only_this_hosts_lost_runs_are_crashed(client, image, tmp_path):
    from prefect.client.schemas.actions import WorkPoolCreate

    pools = [f"pwb-lost-{uuid.uuid4().hex[:6]}-{kind}" for kind in ("proc", "docker", "other")]
    for pool in pools:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    proc_pool, docker_pool, other_pool = pools
    me, engine = socket.gethostname(), "unix:///run/podman/podman.sock"
    gone = subprocess.Popen(["true"])
    gone.wait()
    container = subprocess.run(["podman", "run", "-d", "--rm", ":".join(image), "sleep", "120"],
                               capture_output=True, text=True, check=True).stdout.strip()
    live = active_run(client, proc_pool, f"{me}-{proc_pool}", "process", None)
    # As the runner starts a flow: the run's id in PREFECT__FLOW_RUN_ID.
    sleeper = subprocess.Popen(["sleep", "120"], env=dict(os.environ, PREFECT__FLOW_RUN_ID=live))
    try:
        client.update_flow_run(live, infrastructure_pid=str(sleeper.pid))
        runs = {
            "mine, process running": live,
            "mine, process gone": active_run(client, proc_pool, f"{me}-{proc_pool}", "process", str(gone.pid)),
            "mine, pid runs another flow": active_run(client, proc_pool, f"{me}-{proc_pool}", "process", str(sleeper.pid)),
            "mine, container gone": active_run(client, docker_pool, f"{me}-{docker_pool}", "docker", f"{engine}:{'0' * 64}"),
            "mine, container running": active_run(client, docker_pool, f"{me}-{docker_pool}", "docker",
                                                  f"{engine}:{container}"),
            "mine, not started yet": active_run(client, docker_pool, f"{me}-{docker_pool}", "docker", None),
            "another host's": active_run(client, proc_pool, f"elsewhere-{proc_pool}", "process", str(gone.pid)),
            "another pool's": active_run(client, other_pool, f"{me}-{other_pool}", "process", str(gone.pid)),
        }
        out = reap([proc_pool, docker_pool], tmp_path / "lost-runs.json")
        states = {case: client.read_flow_run(run_id).state for case, run_id in runs.items()}
        # Those CRASHED are no longer active: a second look sets nothing.
        again = reap([proc_pool, docker_pool], tmp_path / "lost-runs.json")
    finally:
        subprocess.run(["podman", "rm", "-f", container], capture_output=True)
        sleeper.kill()
        sleeper.wait()
    crashed = {case for case, state in states.items() if state.type.value == "CRASHED"}
    assert crashed == {"mine, process gone", "mine, pid runs another flow", "mine, container gone"}, out
    assert states["mine, process gone"].message.startswith(f"Lost: its process {gone.pid} no longer runs"), out
    assert f"flow run {runs['mine, container gone']} is lost (its flow-run container 000000000000 no longer runs)" in out
    assert {s.type.value for case, s in states.items() if case not in crashed} == {"RUNNING"}
    assert "set CRASHED" not in again, again
