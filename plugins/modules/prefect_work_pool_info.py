#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: read Prefect work pools by name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prefect_work_pool_info
short_description: Read Prefect work pools by name
description:
  - Reads C(GET /work_pools/{name}) for each name. Changes nothing; runs in check mode.
options:
  names:
    description: Work pool names.
    type: list
    elements: str
    required: true
  managed_by:
    description: Owner whose C(managed-by) mark the pools' descriptions are checked for (see M(prefect_work_pool)).
    type: str
extends_documentation_fragment: [mlexchange.podman_worker.prefect_api]
author: podman-worker-bundle
"""

EXAMPLES = r"""
- name: Read the bundle's pools
  prefect_work_pool_info:
    api_url: http://127.0.0.1:4200/api
    names: [podman_pool, mlex_flow_pool]
  register: pools_now
"""

RETURN = r"""
pools:
  description: The pools that exist, in the order of I(names), as the API returns them.
  type: list
  elements: dict
  returned: always
unmanaged:
  description: The names of pools that exist without the I(managed_by) mark (empty without I(managed_by)).
  type: list
  elements: str
  returned: always
missing:
  description: The names with no pool.
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlexchange.podman_worker.plugins.module_utils.prefect_api import api_argument_spec, is_owned, path, run


def read_pools(module, api):
    pools, missing = [], []
    for name in module.params["names"]:
        status, pool = api.expect("GET", path("work_pools", name), ok=(200, 404))
        if status == 404:
            missing.append(name)
        else:
            pools.append(pool)
    owner = module.params["managed_by"]
    unmanaged = [p["name"] for p in pools if owner and not is_owned(p.get("description"), owner)]
    return dict(changed=False, pools=pools, missing=missing, unmanaged=unmanaged)


def main():
    module = AnsibleModule(argument_spec=api_argument_spec(names=dict(type="list", elements="str", required=True),
                                                           managed_by=dict(type="str")),
                           supports_check_mode=True)
    run(module, lambda api: read_pools(module, api))


if __name__ == "__main__":
    main()
