#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: a Prefect work pool, idempotent through Prefect's REST API."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prefect_work_pool
short_description: Create, update, pause or delete a Prefect work pool
description:
  - Probes C(GET /api/work_pools/{name}) and changes only what differs, so C(changed) is
    truthful (the CLI's C(work-pool create) fails on a second run and C(--overwrite) resets
    the concurrency limit and the base job template).
  - Supports check mode and diff mode.
options:
  name:
    description: Work pool name.
    type: str
    required: true
  type:
    description: Worker type of the pool (docker, process, ...). Needed to create it.
    type: str
    default: process
  concurrency_limit:
    description: Maximum concurrent flow runs of the pool; omit for no limit.
    type: int
  paused:
    description:
      - Whether the pool is paused (no new runs are handed to workers).
      - Omitted, an existing pool keeps its state (an operator's pause during an
        incident survives a converge) and a new pool starts unpaused.
    type: bool
  base_job_template:
    description:
      - Base job template. When omitted, a new pool gets this module's caller's default
        (pass the output of C(prefect work-pool get-default-base-job-template)), and an
        existing pool's template is left alone.
    type: dict
  replace_on_type_change:
    description:
      - Delete and recreate an existing pool whose type differs, instead of failing.
      - If the create then fails, the pool is restored as it was and the module fails.
    type: bool
    default: false
  managed_by:
    description:
      - >-
        Owner of the pool on a shared API. A new pool gets the line C(managed-by: <owner>)
        in its description; an existing pool without it belongs to someone else and is
        not changed, paused, replaced or deleted unless I(adopt) is set.
      - Omitted, any pool of the name is managed (a single-user API).
    type: str
  adopt:
    description: Take over an existing pool without the I(managed_by) mark (the mark is added).
    type: bool
    default: false
  state:
    description: Whether the pool exists.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment: [mlexchange.podman_worker.prefect_api]
author: podman-worker-bundle
"""

EXAMPLES = r"""
- name: Docker-type pool for the podman worker
  prefect_work_pool:
    api_url: http://127.0.0.1:4200/api
    name: podman_pool
    type: docker
    concurrency_limit: 4
    base_job_template: "{{ docker_template.stdout | from_json }}"
"""

RETURN = r"""
pool:
  description: The pool as the API returns it after the change (empty when absent).
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlexchange.podman_worker.plugins.module_utils.prefect_api import (
    PrefectApiError, api_argument_spec, is_owned, path, run, with_owner_mark)

COMPARED = ("type", "description", "concurrency_limit", "is_paused", "base_job_template")
# What a recreated pool must get back when its replacement cannot be created.
RESTORED = ("name", "type", "description", "concurrency_limit", "is_paused", "base_job_template")


def wanted_state(params, current):
    paused = params["paused"]
    if paused is None:  # keep what the pool has; a new (or recreated) pool runs
        same_pool = current is not None and current.get("type") == params["type"]
        paused = bool(current.get("is_paused")) if same_pool else False
    want = {"type": params["type"], "concurrency_limit": params["concurrency_limit"], "is_paused": paused}
    if params["managed_by"]:
        want["description"] = with_owner_mark((current or {}).get("description"), params["managed_by"])
    if params["base_job_template"] is not None or current is None:
        want["base_job_template"] = params["base_job_template"] or {}
    return want


def work_pool(module, api):
    p = module.params
    pool_path = path("work_pools", p["name"])
    status, current = api.expect("GET", pool_path, ok=(200, 404))
    if status == 404:
        current = None

    before = {k: current.get(k) for k in COMPARED} if current else {}
    result = dict(changed=False, pool=current or {})
    owner = p["managed_by"]
    if current is not None and owner and not p["adopt"] and not is_owned(current.get("description"), owner):
        raise PrefectApiError(
            "work pool %s exists and is not managed by %s (no 'managed-by: %s' line in its description): "
            "it may be another team's, so it is left as it is. Pick another pool name, or set adopt to "
            "take it over." % (p["name"], owner, owner))

    if p["state"] == "absent":
        if current is not None:
            result["changed"] = True
            if not module.check_mode:
                api.expect("DELETE", pool_path, ok=(200, 204, 404))
            result["pool"] = {}
        result["diff"] = {"before": before, "after": {}}
        return result

    want = wanted_state(p, current)
    recreate = current is not None and current.get("type") != p["type"]
    if recreate and not p["replace_on_type_change"]:
        raise PrefectApiError("work pool %s has type %s, not %s; set replace_on_type_change to recreate it"
                              % (p["name"], current.get("type"), p["type"]))

    if current is None or recreate:
        changes = want
    else:
        changes = {k: v for k, v in want.items() if k != "type" and current.get(k) != v}
    result["diff"] = {"before": before, "after": dict(before, **changes)}
    if not changes:
        return result

    result["changed"] = True
    if module.check_mode:
        return result

    if recreate:
        api.expect("DELETE", pool_path, ok=(200, 204))
    if current is None or recreate:
        try:
            api.expect("POST", "/work_pools/", ok=(201,), body=dict(name=p["name"], **want))
        except PrefectApiError as err:
            if recreate:  # never leave the API without the pool
                api.expect("POST", "/work_pools/", ok=(201,), body={k: current.get(k) for k in RESTORED})
                raise PrefectApiError("%s; work pool %s was restored as it was (type %s)"
                                      % (err, p["name"], current.get("type")), err.status, err.body)
            raise
    else:
        api.expect("PATCH", pool_path, ok=(204,), body=changes)
    result["pool"] = api.expect("GET", pool_path)[1]
    return result


def main():
    module = AnsibleModule(
        argument_spec=api_argument_spec(
            name=dict(type="str", required=True),
            type=dict(type="str", default="process"),
            concurrency_limit=dict(type="int"),
            paused=dict(type="bool"),
            base_job_template=dict(type="dict"),
            replace_on_type_change=dict(type="bool", default=False),
            managed_by=dict(type="str"),
            adopt=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    if module.params["concurrency_limit"] is not None and module.params["concurrency_limit"] < 0:
        module.fail_json(msg="concurrency_limit must be >= 0 (omit it for no limit)")
    run(module, lambda api: work_pool(module, api))


if __name__ == "__main__":
    main()
