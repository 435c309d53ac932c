"""Helpers for unit tests: run the bundle's Ansible tools from the repository root."""
import importlib.util
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_plugin(relpath):
    """A plugin file of the repository (filter, module) as a Python module."""
    path = ROOT / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nsls2_with_host_vars(tmp_path, host, text):
    """The nsls2 inventory plus one host_vars file (text) for host, in tmp_path."""
    inv = tmp_path / "nsls2"
    inv.mkdir()
    (inv / "hosts.yml").symlink_to(ROOT / "inventories/nsls2/hosts.yml")
    (inv / "group_vars").symlink_to(ROOT / "inventories/nsls2/group_vars")
    (inv / "host_vars").mkdir()
    (inv / "host_vars" / f"{host}.yml").write_text(text)
    return inv


def run(cmd, **kw):
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    env.update(kw.pop("env", {}))
    kw.setdefault("cwd", ROOT)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, **kw)


@pytest.fixture
def ansible():
    return run
