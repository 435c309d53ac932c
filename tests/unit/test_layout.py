"""Structure rules that keep the bundle honest: every Molecule scenario runs in
`make test`, and every role documents and types its public variables."""
import configparser
import re

import pytest
import yaml

from conftest import ROOT

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())


def test_ssh_host_keys_are_checked_for_facility_inventories():
    """The demo and the tests reach their hosts over the podman connection; a facility's
    hosts are reached over SSH, where an unchecked host key lets anyone in the path
    receive the vault's secrets."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    assert cfg.getboolean("defaults", "host_key_checking", fallback=True)


def test_every_scenario_is_in_the_make_matrix():
    makefile = (ROOT / "Makefile").read_text()
    # "|" separates lanes (molecule/run-lanes.sh).
    runs = [r for r in re.search(r"^MOLECULE_RUNS \?= (.+)$", makefile, re.M).group(1).split() if r != "|"]
    extra = re.search(r"^MOLECULE_RUNS_EXTRA \?= (.+)$", makefile, re.M).group(1).split()
    in_matrix = {r.split(":")[0] for r in runs}
    in_extra = {r.split(":")[0] for r in extra}
    scenarios = {p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml")}
    # Every scenario runs somewhere: in make test (CI) or in make molecule-extra.
    assert scenarios == in_matrix | in_extra and not in_matrix & in_extra


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_specified_and_every_option_has_a_default(role):
    defaults = yaml.safe_load((ROOT / f"roles/{role}/defaults/main.yml").read_text()) or {}
    spec = yaml.safe_load((ROOT / f"roles/{role}/meta/argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options)
    for name, opt in options.items():
        assert opt.get("description"), f"{role}: {name} has no description"
        assert opt["default"] == defaults[name], f"{role}: {name} default differs from defaults/main.yml"


@pytest.mark.parametrize("role", ROLES)
def test_every_default_has_a_comment(role):
    lines = (ROOT / f"roles/{role}/defaults/main.yml").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert lines[i - 1].startswith("#"), f"{role}: {line.split(':')[0]} has no comment above it"


@pytest.mark.parametrize("lock", sorted((ROOT / "roles/prefect_runtime/files/locks").glob("prefect-*.txt")), ids=lambda p: p.stem)
def test_every_locked_prefect_version_has_its_base_job_templates(lock):
    """Registration sends these instead of asking a Prefect CLI on every converge;
    tests/worker checks their content against the locked Prefect itself."""
    version = lock.stem.removeprefix("prefect-")
    templates = ROOT / "roles/prefect_registration/files/base-job-templates" / version
    assert sorted(p.name for p in templates.glob("*.json")) == ["docker.json", "process.json"]


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "plugins/modules").glob("*.py")))
def test_every_module_documents_itself_in_yaml_that_parses(module):
    """ansible-doc and ansible-lint read DOCUMENTATION, EXAMPLES and RETURN as YAML; a
    stray "key: " in a plain line made one module's documentation unreadable."""
    import ast

    tree = ast.parse((ROOT / "plugins/modules" / module).read_text())
    docs = {n.targets[0].id: n.value.value for n in tree.body
            if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") in ("DOCUMENTATION", "EXAMPLES", "RETURN")}
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    for name, text in docs.items():
        assert yaml.safe_load(text) is not None, name
    assert yaml.safe_load(docs["DOCUMENTATION"])["module"] == module[:-3]
