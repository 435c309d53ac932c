#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: find Prefect flow runs, wait for them to end, or cancel them."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prefect_flow_runs
short_description: Find Prefect flow runs, wait until none is left, or cancel them
description:
  - Reads C(POST /flow_runs/filter) with the given filters. At least one of
    I(work_pools), I(deployment_ids) and I(parent_flow_run_id) is required, so that a
    shared API's other runs are never matched by an empty filter.
  - With I(wait), asks again every I(poll) s until no run matches or the time is up
    (not in check mode, which reports the runs found at once).
  - With I(cancel_message), sets every matching run CANCELLED (forced) with that
    message; check mode reports it as a change without doing it.
options:
  work_pools:
    description: Names of the work pools whose runs match.
    type: list
    elements: str
  deployment_ids:
    description: Ids of the deployments whose runs match.
    type: list
    elements: str
  parent_flow_run_id:
    description: Only the child runs of this flow run.
    type: str
  states:
    description: State types that match (e.g. PENDING, RUNNING); omitted, any state.
    type: list
    elements: str
  wait:
    description: Seconds to wait for no run to match; 0 reads once.
    type: int
    default: 0
  poll:
    description: Seconds between reads while waiting.
    type: int
    default: 5
  cancel_message:
    description: Cancel the matching runs, with this message in their state.
    type: str
extends_documentation_fragment: [mlexchange.podman_worker.prefect_api]
author: podman-worker-bundle
"""

EXAMPLES = r"""
- name: Let the runs in flight on a paused pool finish (at most 10 min)
  prefect_flow_runs:
    api_url: http://127.0.0.1:4200/api
    work_pools: [podman_pool]
    states: [PENDING, RUNNING, CANCELLING]
    wait: 600
  register: in_flight
"""

RETURN = r"""
flow_runs:
  description: The runs that match at the end (after a wait, those still in flight).
  type: list
  elements: dict
  returned: always
timed_out:
  description: A wait ended with runs still matching.
  type: bool
  returned: always
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlexchange.podman_worker.plugins.module_utils.prefect_api import PrefectApiError, api_argument_spec, path, run


def filter_body(params):
    flow_runs = {}
    if params["states"]:
        flow_runs["state"] = {"type": {"any_": [s.upper() for s in params["states"]]}}
    if params["parent_flow_run_id"]:
        flow_runs["parent_flow_run_id"] = {"any_": [params["parent_flow_run_id"]]}
    if params["deployment_ids"]:
        flow_runs["deployment_id"] = {"any_": params["deployment_ids"]}
    body = {"flow_runs": flow_runs, "sort": "EXPECTED_START_TIME_ASC"}
    if params["work_pools"]:
        body["work_pools"] = {"name": {"any_": params["work_pools"]}}
    return body


def flow_runs(module, api):
    p = module.params
    if not p["work_pools"] and not p["deployment_ids"] and not p["parent_flow_run_id"]:
        raise PrefectApiError("name work_pools, deployment_ids or parent_flow_run_id: an empty filter matches every run of the API")
    body = filter_body(p)
    deadline = time.monotonic() + (0 if module.check_mode else p["wait"])
    while True:
        runs = api.expect("POST", "/flow_runs/filter", body=body, read=True)[1]
        if not runs or time.monotonic() >= deadline:
            break
        time.sleep(p["poll"])
    # Check mode reads once: nothing waited, nothing timed out.
    timed_out = bool(runs) and p["wait"] > 0 and not module.check_mode
    result = dict(changed=False, flow_runs=runs, timed_out=timed_out)
    if p["cancel_message"] is not None and runs:
        result["changed"] = True
        if not module.check_mode:
            state = {"type": "CANCELLED", "message": p["cancel_message"]}
            for flow_run in runs:
                api.expect("POST", path("flow_runs", flow_run["id"], "set_state"), ok=(200, 201),
                           body={"state": state, "force": True})
    return result


def main():
    module = AnsibleModule(
        argument_spec=api_argument_spec(
            work_pools=dict(type="list", elements="str"),
            deployment_ids=dict(type="list", elements="str"),
            parent_flow_run_id=dict(type="str"),
            states=dict(type="list", elements="str"),
            wait=dict(type="int", default=0),
            poll=dict(type="int", default=5),
            cancel_message=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    run(module, lambda api: flow_runs(module, api))


if __name__ == "__main__":
    main()
