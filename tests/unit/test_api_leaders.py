"""Registration and the smoke run happen once per Prefect API, not once per play:
converging NSLS-II production and staging together must reach both APIs."""
import json

import pytest

from conftest import ROOT, nsls2_with_host_vars

# Every worker host of the nsls2 inventory, locally, with registration's variables.
HOSTS_WITH_REGISTRATION_VARS = """
- hosts: podman_workers
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars: {file: "%(root)s/roles/prefect_registration/vars/main.yml"}
"""

PLAY = HOSTS_WITH_REGISTRATION_VARS + """\
    - ansible.builtin.include_vars: {file: "%(root)s/roles/smoke_job/vars/main.yml"}
    - ansible.builtin.debug:
        msg: "PWB {{ {'host': inventory_hostname, 'leader': __prefect_registration_leader,
                       'api_hosts': __prefect_registration_api_hosts, 'smoke_hosts': __smoke_job_api_hosts} | to_json }}"
"""


def leaders(ansible, tmp_path, *args):
    (tmp_path / "play.yml").write_text(PLAY % {"root": ROOT})
    res = ansible(["ansible-playbook", "-i", str(ROOT / "inventories/nsls2"), str(tmp_path / "play.yml"), *args],
                  env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    found = [json.loads(line.split('"PWB ', 1)[1].rsplit('"', 1)[0].encode().decode("unicode_escape"))
             for line in res.stdout.splitlines() if '"PWB ' in line]
    return {f["host"]: f for f in found}


PROD = ["nsls2-worker-01.example.org", "nsls2-worker-02.example.org"]
STAGING = ["nsls2-worker-stg-01.example.org"]


def test_each_api_gets_its_own_leader(ansible, tmp_path):
    got = leaders(ansible, tmp_path)
    assert sorted(got) == sorted(PROD + STAGING)
    for host in PROD:
        assert got[host]["leader"] == PROD[0]
        assert got[host]["api_hosts"] == PROD == got[host]["smoke_hosts"]
    assert got[STAGING[0]]["leader"] == STAGING[0]
    assert got[STAGING[0]]["api_hosts"] == STAGING


@pytest.mark.parametrize("limit,hosts", [("nsls2_staging", STAGING), ("nsls2-worker-02.example.org", PROD[1:])])
def test_a_limited_run_leads_with_what_it_has(ansible, tmp_path, limit, hosts):
    got = leaders(ansible, tmp_path, "--limit", limit)
    assert sorted(got) == hosts
    assert {g["leader"] for g in got.values()} == {hosts[0]}


def test_one_api_spelled_two_ways_has_one_leader(ansible, tmp_path):
    inv = nsls2_with_host_vars(tmp_path, PROD[1], "pwb_prefect_api_url: https://Prefect.NSLS2.example.org.:443/api\n")
    (tmp_path / "play.yml").write_text(PLAY % {"root": ROOT})
    res = ansible(["ansible-playbook", "-i", str(inv), str(tmp_path / "play.yml")],
                  env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    found = [json.loads(line.split('"PWB ', 1)[1].rsplit('"', 1)[0].encode().decode("unicode_escape"))
             for line in res.stdout.splitlines() if '"PWB ' in line]
    got = {f["host"]: f for f in found}
    assert got[PROD[1]]["leader"] == PROD[0] and got[PROD[1]]["api_hosts"] == PROD == got[PROD[1]]["smoke_hosts"]



LEADER_FAILS = HOSTS_WITH_REGISTRATION_VARS + """\
    - ansible.builtin.include_tasks: "%(root)s/roles/prefect_registration/tasks/leader.yml"
    - name: Registration fails on one host (e.g. the API refused something)
      ansible.builtin.fail:
        msg: registration failed here
      when: inventory_hostname == fail_host
    - ansible.builtin.include_tasks: "%(root)s/roles/prefect_registration/tasks/leader_check.yml"
    - ansible.builtin.debug:
        msg: "PWB went on: {{ inventory_hostname }}"
"""


@pytest.mark.parametrize("fail_host,went_on", [
    (PROD[0], STAGING),  # production's leader: its other host stops, staging goes on
    (PROD[1], [PROD[0]] + STAGING),  # not a leader: the others go on
    ("", PROD + STAGING),
])
def test_hosts_of_an_api_stop_when_its_leader_failed(ansible, tmp_path, fail_host, went_on):
    """The other hosts of an API whose registration failed on the host that registers
    for them stop before their config.yml and workers change; another API's go on."""
    (tmp_path / "play.yml").write_text(LEADER_FAILS % {"root": ROOT})
    res = ansible(["ansible-playbook", "-i", str(ROOT / "inventories/nsls2"), str(tmp_path / "play.yml"),
                   "-e", f"fail_host={fail_host}"])
    out = res.stdout + res.stderr
    assert {host for host in PROD + STAGING if f"PWB went on: {host}" in out} == set(went_on), out[-3000:]
    stopped = (f"Registration with https://prefect.nsls2.example.org/api failed on {PROD[0]}, which registers for"
               f" every host of that API: {PROD[1]} stops here")
    assert (stopped in out) == (fail_host == PROD[0]), out[-3000:]
    assert res.returncode == (0 if not fail_host else 2), out[-3000:]
