#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: remove a Prefect deployment by flow and deployment name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prefect_deployment
short_description: Remove a Prefect deployment by flow and deployment name
description:
  - Deletes the deployment when it exists. Creating one is C(prefect deploy)'s work
    (it reads the flow's parameters and pull steps from the code); compare with
    M(prefect_deployment_info).
  - Supports check mode and diff mode.
options:
  flow:
    description: Flow name.
    type: str
    required: true
  name:
    description: Deployment name.
    type: str
    required: true
  state:
    description: Only C(absent).
    type: str
    choices: [absent]
    default: absent
extends_documentation_fragment: [mlexchange.podman_worker.prefect_api]
author: podman-worker-bundle
"""

EXAMPLES = r"""
- name: Retire the process-path deployment after a roll forward
  prefect_deployment:
    api_url: http://127.0.0.1:4200/api
    flow: podman_flow_process
    name: podman_deployment
    state: absent
"""

RETURN = r"""
deployment:
  description: The deployment as it was before (empty when there was none).
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlexchange.podman_worker.plugins.module_utils.prefect_api import api_argument_spec, path, run


def remove(module, api):
    p = module.params
    status, current = api.expect("GET", path("deployments", "name", p["flow"], p["name"]), ok=(200, 404))
    if status == 404:
        return dict(changed=False, deployment={}, diff={"before": {}, "after": {}})
    before = {k: current.get(k) for k in ("id", "name", "work_pool_name", "version")}
    if not module.check_mode:
        api.expect("DELETE", path("deployments", current["id"]), ok=(200, 204, 404))
    return dict(changed=True, deployment=current, diff={"before": before, "after": {}})


def main():
    module = AnsibleModule(
        argument_spec=api_argument_spec(
            flow=dict(type="str", required=True),
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["absent"], default="absent"),
        ),
        supports_check_mode=True,
    )
    run(module, lambda api: remove(module, api))


if __name__ == "__main__":
    main()
