"""Fixtures for the reference worker tests (files/mlex_prefect_worker).

Run in a venv made from files/prefect/prefect-3.4.2.txt plus
requirements/worker-test.txt. Containers run for real through podman.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

WORKER_DIR = Path(__file__).resolve().parents[2] / "files" / "mlex_prefect_worker"
sys.path.insert(0, str(WORKER_DIR))

# Before Prefect is imported anywhere: no outside network, no state in ~/.prefect.
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="pwb-prefect-home-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
for name in ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_API_KEY"):
    os.environ.pop(name, None)

IMAGE = os.environ.get("PWB_WORKER_TEST_IMAGE", "localhost/pwb-base:debian12")


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API (SQLite) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def image():
    """(name, tag) of a local image with sh and cp; skips when podman or it is missing,
    except under CI (CI=true), where a skipped real-container test would hide a gap."""
    missing = None
    if not shutil.which("podman"):
        missing = "podman is not installed on this host"
    elif subprocess.run(["podman", "image", "exists", IMAGE], capture_output=True).returncode != 0:
        missing = f"image {IMAGE} is missing (build the test bed's base image first: make testbed)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    name, _, tag = IMAGE.rpartition(":")
    return name, tag


@pytest.fixture
def clean_env(monkeypatch):
    """No work-dir, config or CLI variables leaking in from the caller's shell."""
    for name in ("CONTAINER_WORK_DIR", "PREFECT_WORK_DIR", "MLEX_CONFIG", "MLEX_CONTAINER_CLI"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch
