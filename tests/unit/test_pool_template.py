"""roles/prefect_registration's pool template filter: what is locked and what stays
overridable (tests/worker checks the result against the locked Prefect itself)."""
import json

import pytest
from conftest import ROOT, load_plugin

pool_template = load_plugin("roles/prefect_registration/filter_plugins/pool_template.py")

DOCKER = json.loads((ROOT / "roles/prefect_registration/files/base-job-templates/3.4.2/docker.json").read_text())


def render(settings, overridable):
    return pool_template.pool_template(DOCKER, settings, overridable)


def test_a_locked_setting_is_literal_and_leaves_the_schema():
    t = render({"volumes": ["/a:/b"], "image": "img"}, ["name"])
    assert t["job_configuration"]["volumes"] == ["/a:/b"] and t["job_configuration"]["image"] == "img"
    assert sorted(t["variables"]["properties"]) == ["name"]
    assert t["job_configuration"]["name"] == "{{ name }}"


def test_an_overridable_setting_becomes_the_default():
    t = render({"mem_limit": "2g"}, ["mem_limit"])
    assert t["variables"]["properties"]["mem_limit"]["default"] == "2g"
    assert t["job_configuration"]["mem_limit"] == "{{ mem_limit }}"


def test_unset_locked_variables_keep_prefects_default_or_the_models():
    job = render({}, [])["job_configuration"]
    assert job["privileged"] is False and job["auto_remove"] is False
    # No default (command, volumes, env): absent, so the job configuration's own default applies.
    assert "command" not in job and "volumes" not in job and "env" not in job


def test_the_shipped_default_is_not_modified():
    before = json.dumps(DOCKER, sort_keys=True)
    render({"image": "img"}, [])
    assert json.dumps(DOCKER, sort_keys=True) == before


@pytest.mark.parametrize("settings,overridable", [({"volume": []}, []), ({}, ["imge"])])
def test_unknown_names_fail_naming_them(settings, overridable):
    with pytest.raises(ValueError, match="volume|imge"):
        render(settings, overridable)
