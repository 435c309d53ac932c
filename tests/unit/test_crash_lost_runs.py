"""Which runs the job reaper sets CRASHED (roles/prefect_worker_services/files/crash-lost-runs).
e2e restarts a host with a job in flight and sees both its runs CRASHED; here real
processes stand for a process pool's flows, and the verdicts no host restart can
show on demand: a pid that now runs another process, an engine that does not answer."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import uuid

import pytest
from conftest import ROOT

_path = ROOT / "roles/prefect_worker_services/files/crash-lost-runs"
sys.path.insert(0, str(_path.parent))  # its prefect_env_api, as installed beside it
_loader = importlib.machinery.SourceFileLoader("crash_lost_runs", str(_path))
lost_runs = importlib.util.module_from_spec(importlib.util.spec_from_loader("crash_lost_runs", _loader))
_loader.exec_module(lost_runs)

def run(infra, worker_type="process"):
    return {"id": str(uuid.uuid4()), "infrastructure_pid": infra, "labels": {"prefect.worker.type": worker_type}}


@pytest.fixture
def flow_process():
    """A process as the runner starts a flow: its run's id in PREFECT__FLOW_RUN_ID.
    Used once it says it runs: Popen returns when the exec begins, and until the
    kernel has laid out the new program's environment /proc/<pid>/environ is empty
    (the test failed so on a loaded machine)."""
    run_id = str(uuid.uuid4())
    proc = subprocess.Popen([sys.executable, "-c", "import time; print('running', flush=True); time.sleep(60)"],
                            env=dict(os.environ, PREFECT__FLOW_RUN_ID=run_id), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "running\n"
    yield proc, run_id
    proc.kill()
    proc.wait()


def test_a_process_that_runs_the_flow_is_alive(flow_process):
    proc, run_id = flow_process
    r = dict(run(str(proc.pid)), id=run_id)
    assert lost_runs.lost(r, set()) is None


def test_a_pid_that_runs_another_flow_or_nothing_is_lost(flow_process):
    proc, _ = flow_process
    r = run(f"{proc.pid}")  # another run's id: after a reboot the pid was given again
    assert lost_runs.lost(r, set()) == f"its process {proc.pid} no longer runs"
    proc.kill()
    proc.wait()
    assert lost_runs.lost(run(str(proc.pid)), set()) == f"its process {proc.pid} no longer runs"


def test_a_container_run_is_alive_while_its_container_runs_and_unjudged_without_the_engine():
    cid = "ab" * 32
    r = run(f"unix:///run/podman/podman.sock:{cid}", worker_type="docker")
    assert lost_runs.lost(r, {cid}) is None
    assert lost_runs.lost(r, set()) == f"its flow-run container {cid[:12]} no longer runs"
    assert lost_runs.lost(r, None) is None


def test_a_run_not_started_yet_is_left_alone():
    """Its worker may be pulling a multi-GB image: nothing to look at yet."""
    assert lost_runs.lost(run(None), set()) is None


def test_a_run_is_crashed_only_when_seen_lost_for_the_grace():
    due, keep = lost_runs.judge({"a": "gone"}, {}, now=100.0, grace=30)
    assert (due, keep) == ([], {"a": 100.0})
    due, keep = lost_runs.judge({"a": "gone", "b": "gone"}, keep, now=120.0, grace=30)
    assert (due, keep) == ([], {"a": 100.0, "b": 120.0})
    due, keep = lost_runs.judge({"a": "gone", "b": "gone"}, keep, now=130.0, grace=30)
    assert due == ["a"]
    # A run no longer lost (it ended, or it was a race) starts over.
    due, keep = lost_runs.judge({}, keep, now=200.0, grace=30)
    assert (due, keep) == ([], {})
