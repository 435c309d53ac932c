"""Helpers for unit tests: run the bundle's Ansible tools from the repository root."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(cmd, **kw):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    env.update(kw.pop("env", {}))
    kw.setdefault("cwd", ROOT)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, **kw)


@pytest.fixture
def ansible():
    return run
