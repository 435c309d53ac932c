"""Fixtures for the reference worker tests (roles/mlex_worker_code/files/mlex_prefect_worker).

Run in a venv made from roles/prefect_runtime/files/locks/prefect-3.4.2.txt plus
requirements/worker-test.txt. Containers run for real through podman.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

WORKER_DIR = Path(__file__).resolve().parents[2] / "roles/mlex_worker_code/files/mlex_prefect_worker"
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


ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = ROOT / ".venv" / "bin" / "ansible-playbook"

# A base job template holds Prefect's own {{ placeholders }}: like the role, the
# play reads it as data (from a file), so Ansible does not template it.
MODULE_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - mlexchange.podman_worker.{module}: {args}
      register: r
      vars:
        template_file: {template_file}
    - ansible.builtin.copy:
        content: "{{{{ r | to_json }}}}"
        dest: {out}
      check_mode: false
      diff: false
"""


def run_module(tmp_path, module, args, *flags, expect_ok=True):
    """Run one of the bundle's modules (plugins/modules) in a play, as the roles do:
    (its result, the play's output). A failed play raises AssertionError with the
    output, unless expect_ok is False."""
    if not PLAYBOOK_BIN.exists():
        pytest.fail("the tools venv is missing: run `make venv` (make worker depends on it)")
    args = dict(args)
    template_file = tmp_path / "template.json"
    if "base_job_template" in args:
        template_file.write_text(json.dumps(args.pop("base_job_template")))
        args["base_job_template"] = "{{ lookup('ansible.builtin.file', template_file) | from_json }}"
    out = tmp_path / "result.json"
    out.unlink(missing_ok=True)
    play = tmp_path / "play.yml"
    play.write_text(MODULE_PLAY.format(module=module, args=json.dumps(args), out=out, template_file=template_file))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    res = subprocess.run([str(PLAYBOOK_BIN), str(play), *flags], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if expect_ok:
        assert res.returncode == 0, res.stdout + res.stderr
    return (json.loads(out.read_text()) if out.exists() else None), res.stdout + res.stderr
