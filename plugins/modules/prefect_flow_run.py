#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: submit a run of a Prefect deployment and wait for its end."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prefect_flow_run
short_description: Submit a run of a Prefect deployment and wait for it to end
description:
  - Finds the deployment by flow and deployment name, creates a flow run of it and,
    with I(wait), reads it every 2 s until its state is final (COMPLETED, FAILED,
    CRASHED, CANCELLED) or the time is up. A run that ends in another state than
    COMPLETED is returned, not failed (the caller checks it).
  - Always changes the API (a new run); no check mode.
options:
  flow:
    description: Flow name of the deployment.
    type: str
    required: true
  deployment:
    description: Deployment name.
    type: str
    required: true
  run_name:
    description: Name of the run; omitted, Prefect picks one.
    type: str
  tags:
    description: Tags of the run.
    type: list
    elements: str
    default: []
  parameters:
    description: Flow parameters.
    type: dict
    default: {}
  wait:
    description: Seconds to wait for a final state; 0 returns once the run exists.
    type: int
    default: 0
extends_documentation_fragment: [mlexchange.podman_worker.prefect_api]
author: podman-worker-bundle
"""

EXAMPLES = r"""
- name: Run the parent flow and wait up to 5 min
  prefect_flow_run:
    api_url: http://127.0.0.1:4200/api
    flow: Parent flow
    deployment: launch_parent_flow
    parameters: {params_list: []}
    wait: 300
  register: smoke
"""

RETURN = r"""
flow_run:
  description: The run as last read.
  type: dict
  returned: always
final:
  description: Its state is final.
  type: bool
  returned: always
elapsed:
  description: Seconds from the run's creation to its end (null when it has not ended).
  type: float
  returned: always
"""

import time
from datetime import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlexchange.podman_worker.plugins.module_utils.prefect_api import api_argument_spec, path, run

FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def timestamp(value):
    """Seconds since the epoch of Prefect's ISO 8601 UTC stamps ('Z' or an offset)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def submit(module, api):
    p = module.params
    deployment = api.expect("GET", path("deployments", "name", p["flow"], p["deployment"]))[1]
    body = {"tags": p["tags"], "parameters": p["parameters"]}
    if p["run_name"]:
        body["name"] = p["run_name"]
    flow_run = api.expect("POST", path("deployments", deployment["id"], "create_flow_run"), ok=(201,), body=body)[1]
    deadline = time.monotonic() + p["wait"]
    while p["wait"] and flow_run.get("state_type") not in FINAL and time.monotonic() < deadline:
        time.sleep(2)
        flow_run = api.expect("GET", path("flow_runs", flow_run["id"]))[1]
    final = flow_run.get("state_type") in FINAL
    elapsed = None
    if final and flow_run.get("end_time") and flow_run.get("created"):
        elapsed = round(timestamp(flow_run["end_time"]) - timestamp(flow_run["created"]), 1)
    return dict(changed=True, flow_run=flow_run, final=final, elapsed=elapsed)


def main():
    module = AnsibleModule(
        argument_spec=api_argument_spec(
            flow=dict(type="str", required=True),
            deployment=dict(type="str", required=True),
            run_name=dict(type="str"),
            tags=dict(type="list", elements="str", default=[]),
            parameters=dict(type="dict", default={}),
            wait=dict(type="int", default=0),
        ),
        supports_check_mode=False,
    )
    run(module, lambda api: submit(module, api))


if __name__ == "__main__":
    main()
