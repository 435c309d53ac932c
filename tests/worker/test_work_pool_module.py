"""plugins/modules/prefect_work_pool.py against a real Prefect server (the test harness):
create, no-op, update, check mode, diff, type change, pause, absent."""
import pytest

from conftest import run_module


@pytest.fixture
def pool(prefect_harness, tmp_path):
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    name = f"pool-{tmp_path.name[-12:].replace('_', '-')}"

    def run(*flags, **args):
        args = {"api_url": api, "name": name, **args}
        result, stdout = run_module(tmp_path, "prefect_work_pool", args, *flags)
        return result, stdout

    run.api = api
    run.name = name
    return run


def api_pool(api, name):
    import httpx

    resp = httpx.get(f"{api}/work_pools/{name}")
    return resp.json() if resp.status_code == 200 else None


def test_create_then_no_change(pool):
    template = {"job_configuration": {"command": "{{ command }}"},
                "variables": {"properties": {"command": {"type": "string", "default": "echo hi"}}}}
    r, _ = pool(type="docker", concurrency_limit=3, base_job_template=template)
    assert r["changed"]
    live = api_pool(pool.api, pool.name)
    assert live["type"] == "docker" and live["concurrency_limit"] == 3
    assert live["base_job_template"] == template
    r, _ = pool(type="docker", concurrency_limit=3, base_job_template=template)
    assert not r["changed"]
    # Omitting the template leaves the existing one alone (no reset, unlike --overwrite).
    r, _ = pool(type="docker", concurrency_limit=3)
    assert not r["changed"]
    assert api_pool(pool.api, pool.name)["base_job_template"] == template


def test_check_mode_reports_without_writing_and_diff_shows_it(pool):
    r, out = pool("--check", "--diff", type="process", concurrency_limit=2)
    assert r["changed"]
    assert api_pool(pool.api, pool.name) is None
    assert '"concurrency_limit": 2' in out or "concurrency_limit: 2" in out
    pool(type="process", concurrency_limit=2)
    r, _ = pool("--check", type="process", concurrency_limit=5)
    assert r["changed"]
    assert api_pool(pool.api, pool.name)["concurrency_limit"] == 2


def test_update_limit_and_pause(pool):
    pool(type="process", concurrency_limit=1)
    r, _ = pool(type="process", concurrency_limit=4, paused=True)
    assert r["changed"]
    live = api_pool(pool.api, pool.name)
    assert live["concurrency_limit"] == 4 and live["is_paused"] is True
    r, _ = pool(type="process", concurrency_limit=4, paused=True)
    assert not r["changed"]


def test_an_operators_pause_survives_a_converge_that_does_not_name_it(pool):
    r, _ = pool(type="process", concurrency_limit=2)
    assert r["pool"]["is_paused"] is False
    # The operator pauses the pool during an incident (the API, not the inventory).
    import httpx
    assert httpx.patch(f"{pool.api}/work_pools/{pool.name}", json={"is_paused": True}).status_code == 204
    r, _ = pool(type="process", concurrency_limit=2)
    assert not r["changed"] and api_pool(pool.api, pool.name)["is_paused"] is True
    # The inventory may still say so explicitly.
    r, _ = pool(type="process", concurrency_limit=2, paused=False)
    assert r["changed"] and api_pool(pool.api, pool.name)["is_paused"] is False


def test_a_pool_replaced_for_a_new_type_starts_unpaused(pool):
    pool(type="docker", paused=True)
    r, _ = pool(type="process", replace_on_type_change=True)
    assert r["changed"] and api_pool(pool.api, pool.name)["is_paused"] is False


def test_type_change_fails_unless_replacing(pool, tmp_path):
    pool(type="docker")
    with pytest.raises(AssertionError, match="has type docker, not process"):
        pool(type="process")
    r, _ = pool(type="process", replace_on_type_change=True)
    assert r["changed"] and api_pool(pool.api, pool.name)["type"] == "process"


def test_absent(pool):
    pool(type="process")
    r, _ = pool(state="absent")
    assert r["changed"] and api_pool(pool.api, pool.name) is None
    r, _ = pool(state="absent")
    assert not r["changed"]


def test_api_rejection_is_explained(pool):
    bad = {"job_configuration": {"command": "{{ undeclared }}"}, "variables": {"properties": {}}}
    with pytest.raises(AssertionError, match=r"answered 422 to POST /work_pools/: .*undeclared"):
        pool(type="process", base_job_template=bad)


# A shared API: pools the bundle made carry its mark; others are not touched.
OWNER = {"managed_by": "podman-worker-bundle"}


def test_a_new_pool_carries_the_owner_mark_and_stays_managed(pool):
    r, _ = pool(type="process", concurrency_limit=2, **OWNER)
    assert r["changed"] and api_pool(pool.api, pool.name)["description"] == "managed-by: podman-worker-bundle"
    r, _ = pool(type="process", concurrency_limit=3, **OWNER)
    assert r["changed"] and api_pool(pool.api, pool.name)["concurrency_limit"] == 3
    r, _ = pool(type="process", concurrency_limit=3, **OWNER)
    assert not r["changed"]


def test_another_teams_pool_is_not_changed_paused_replaced_or_deleted(pool):
    import httpx
    theirs = {"name": pool.name, "type": "process", "concurrency_limit": 7, "description": "team B's pool"}
    assert httpx.post(f"{pool.api}/work_pools/", json=theirs).status_code == 201
    before = api_pool(pool.api, pool.name)
    for args in ({"type": "process", "concurrency_limit": 1}, {"type": "process", "paused": True},
                 {"type": "docker", "replace_on_type_change": True}, {"state": "absent"}):
        with pytest.raises(AssertionError, match="is not managed by podman-worker-bundle"):
            pool(**args, **OWNER)
    assert api_pool(pool.api, pool.name) == before
    # The inventory adopts it: the mark is added below what it had.
    r, _ = pool(type="process", concurrency_limit=7, adopt=True, **OWNER)
    assert r["changed"]
    assert api_pool(pool.api, pool.name)["description"] == "team B's pool\nmanaged-by: podman-worker-bundle"
    r, _ = pool(type="process", concurrency_limit=7, **OWNER)
    assert not r["changed"]


def test_a_replacement_that_cannot_be_created_restores_the_pool(pool):
    template = {"job_configuration": {"command": "{{ command }}"},
                "variables": {"properties": {"command": {"type": "string", "default": "echo hi"}}}}
    pool(type="docker", concurrency_limit=3, base_job_template=template, **OWNER)
    before = api_pool(pool.api, pool.name)
    bad = {"job_configuration": {"command": "{{ undeclared }}"}, "variables": {"properties": {}}}
    with pytest.raises(AssertionError, match="answered 422 to POST /work_pools/.*was restored as it was"):
        pool(type="process", replace_on_type_change=True, base_job_template=bad, **OWNER)
    after = api_pool(pool.api, pool.name)
    keys = ("type", "description", "concurrency_limit", "is_paused", "base_job_template")
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
