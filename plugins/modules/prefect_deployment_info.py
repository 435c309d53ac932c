#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: read Prefect deployments by flow and deployment name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prefect_deployment_info
short_description: Read Prefect deployments by flow and deployment name
description:
  - Reads C(GET /deployments/name/{flow}/{name}) for each entry of I(deployments), or
    every deployment of the I(work_pools) (C(POST /deployments/filter)). Changes
    nothing; runs in check mode.
options:
  deployments:
    description:
      - The deployments to read, each with C(flow) and C(name); other keys of each
        entry are returned as given.
    type: list
    elements: dict
  work_pools:
    description: Read every deployment of these work pools instead.
    type: list
    elements: str
extends_documentation_fragment: [mlexchange.podman_worker.prefect_api]
author: podman-worker-bundle
"""

EXAMPLES = r"""
- name: Read the podman deployment
  prefect_deployment_info:
    api_url: http://127.0.0.1:4200/api
    deployments: [{flow: podman_flow, name: podman_deployment}]
  register: remote
"""

RETURN = r"""
deployments:
  description:
    - One per entry, in order; the entry plus C(deployment), the API's deployment or
      null when there is none.
    - By I(work_pools), one per deployment found, sorted by flow and name, with
      C(flow), C(name) and C(deployment).
  type: list
  elements: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlexchange.podman_worker.plugins.module_utils.prefect_api import PrefectApiError, api_argument_spec, path, run


def read_deployments(module, api):
    found = []
    for entry in module.params["deployments"]:
        if not entry.get("flow") or not entry.get("name"):
            raise PrefectApiError("each deployment needs a flow and a name, got %s" % entry)
        status, deployment = api.expect("GET", path("deployments", "name", entry["flow"], entry["name"]),
                                        ok=(200, 404))
        found.append(dict(entry, deployment=deployment if status == 200 else None))
    return dict(changed=False, deployments=found)


def pool_deployments(module, api):
    body = {"work_pools": {"name": {"any_": module.params["work_pools"]}}}
    deployments = api.expect("POST", "/deployments/filter", body=body, read=True)[1]
    flow_ids = sorted({d["flow_id"] for d in deployments})
    flows = {}
    if flow_ids:
        body = {"flows": {"id": {"any_": flow_ids}}}
        flows = {f["id"]: f["name"] for f in api.expect("POST", "/flows/filter", body=body, read=True)[1]}
    found = [dict(flow=flows.get(d["flow_id"], d["flow_id"]), name=d["name"], deployment=d) for d in deployments]
    return dict(changed=False, deployments=sorted(found, key=lambda f: (f["flow"], f["name"])))


def main():
    module = AnsibleModule(
        argument_spec=api_argument_spec(
            deployments=dict(type="list", elements="dict"),
            work_pools=dict(type="list", elements="str"),
        ),
        required_one_of=[("deployments", "work_pools")],
        mutually_exclusive=[("deployments", "work_pools")],
        supports_check_mode=True,
    )
    by_pool = module.params["work_pools"] is not None
    run(module, lambda api: (pool_deployments if by_pool else read_deployments)(module, api))


if __name__ == "__main__":
    main()
