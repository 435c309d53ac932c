#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: is a Prefect API up, and which server version answers."""

from __future__ import annotations

DOCUMENTATION = r"""
module: prefect_api_info
short_description: Health and version of a Prefect API, optionally waiting for it
description:
  - Reads C(GET /health) and C(GET /admin/version). Changes nothing; runs in check mode.
options:
  wait:
    description:
      - Seconds to wait for the API to answer healthy (a server that is starting);
        0 asks once.
    type: int
    default: 0
extends_documentation_fragment: [mlexchange.podman_worker.prefect_api]
author: podman-worker-bundle
"""

EXAMPLES = r"""
- name: Wait for the local server
  prefect_api_info:
    api_url: http://127.0.0.1:4200/api
    wait: 60
"""

RETURN = r"""
version:
  description: The server's Prefect version.
  type: str
  returned: always
waited:
  description: Seconds spent waiting for the API to become healthy.
  type: float
  returned: always
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlexchange.podman_worker.plugins.module_utils.prefect_api import PrefectApiError, api_argument_spec, run


def api_info(module, api):
    start = time.monotonic()
    deadline = start + module.params["wait"]
    retries, api.retries = api.retries, 0  # this loop is the wait
    while True:
        try:
            api.expect("GET", "/health")
            break
        except PrefectApiError as err:
            if time.monotonic() >= deadline:
                raise PrefectApiError("Prefect API not healthy after %d s: %s" % (module.params["wait"], err),
                                      err.status, err.body)
            time.sleep(2)
    waited = round(time.monotonic() - start, 1)
    api.retries = retries
    return dict(changed=False, version=api.expect("GET", "/admin/version")[1], waited=waited)


def main():
    module = AnsibleModule(argument_spec=api_argument_spec(wait=dict(type="int", default=0)),
                           supports_check_mode=True)
    run(module, lambda api: api_info(module, api))


if __name__ == "__main__":
    main()
