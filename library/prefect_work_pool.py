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
  api_url:
    description: Prefect API URL, e.g. http://127.0.0.1:4200/api.
    type: str
    required: true
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
    description: Delete and recreate an existing pool whose type differs, instead of failing.
    type: bool
    default: false
  state:
    description: Whether the pool exists.
    type: str
    choices: [present, absent]
    default: present
  auth_string:
    description: HTTP Basic "user:password" (PREFECT_API_AUTH_STRING).
    type: str
  api_key:
    description: Bearer API key (PREFECT_API_KEY).
    type: str
  timeout:
    description: Seconds per HTTP request.
    type: int
    default: 30
  retries:
    description:
      - Extra attempts of a request the server answers 502, 503 or 504 (Prefect answers
        503 when its database is busy, e.g. SQLite under a running flow), 2, 4, 8 ... s
        apart. Other errors are not retried.
    type: int
    default: 4
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

import base64
import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.urls import open_url

COMPARED = ("type", "concurrency_limit", "is_paused", "base_job_template")
TRANSIENT = (502, 503, 504)


class PrefectApi:
    def __init__(self, module):
        p = module.params
        self.url = p["api_url"].rstrip("/")
        self.timeout = p["timeout"]
        self.retries = p["retries"]
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if p["auth_string"]:
            token = base64.b64encode(p["auth_string"].encode()).decode()
            self.headers["Authorization"] = "Basic " + token
        elif p["api_key"]:
            self.headers["Authorization"] = "Bearer " + p["api_key"]

    def call(self, method, path, body=None):
        """(status, decoded JSON or None); HTTP errors are returned, not raised.
        A transient answer (TRANSIENT) is retried: the server did not apply the request."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(self.retries + 1):
            try:
                resp = open_url(self.url + path, method=method, data=data, headers=self.headers,
                                timeout=self.timeout, follow_redirects="safe")
                status, text = resp.getcode(), resp.read()
            except HTTPError as err:
                status, text = err.code, err.read()
            if status not in TRANSIENT or attempt == self.retries:
                break
            time.sleep(2 ** (attempt + 1))
        try:
            return status, (json.loads(text) if text else None)
        except ValueError:  # e.g. a proxy's HTML error page
            return status, text.decode(errors="replace")


def fail_api(module, what, status, body):
    """Fail with the API's own explanation: "detail" (FastAPI), or the messages of
    "exception_detail" (Prefect's validation errors)."""
    detail = body
    if isinstance(body, dict):
        messages = [e.get("msg", "") for e in body.get("exception_detail") or [] if isinstance(e, dict)]
        detail = body.get("detail") or "; ".join(messages) or body.get("exception_message")
    module.fail_json(msg="Prefect API answered %s to %s: %s" % (status, what, detail), body=body)


def wanted_state(params, current):
    paused = params["paused"]
    if paused is None:  # keep what the pool has; a new (or recreated) pool runs
        same_pool = current is not None and current.get("type") == params["type"]
        paused = bool(current.get("is_paused")) if same_pool else False
    want = {"type": params["type"], "concurrency_limit": params["concurrency_limit"], "is_paused": paused}
    if params["base_job_template"] is not None or current is None:
        want["base_job_template"] = params["base_job_template"] or {}
    return want


def main():
    module = AnsibleModule(
        argument_spec=dict(
            api_url=dict(type="str", required=True),
            name=dict(type="str", required=True),
            type=dict(type="str", default="process"),
            concurrency_limit=dict(type="int"),
            paused=dict(type="bool"),
            base_job_template=dict(type="dict"),
            replace_on_type_change=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            auth_string=dict(type="str", no_log=True),
            api_key=dict(type="str", no_log=True),
            timeout=dict(type="int", default=30),
            retries=dict(type="int", default=4),
        ),
        mutually_exclusive=[("auth_string", "api_key")],
        supports_check_mode=True,
    )
    p = module.params
    if p["concurrency_limit"] is not None and p["concurrency_limit"] < 0:
        module.fail_json(msg="concurrency_limit must be >= 0 (omit it for no limit)")
    api = PrefectApi(module)
    path = "/work_pools/" + p["name"]

    status, current = api.call("GET", path)
    if status == 404:
        current = None
    elif status != 200:
        fail_api(module, "GET " + api.url + path, status, current)

    before = {k: current.get(k) for k in COMPARED} if current else {}
    result = dict(changed=False, pool=current or {})

    if p["state"] == "absent":
        if current is not None:
            result["changed"] = True
            if not module.check_mode:
                status, body = api.call("DELETE", path)
                if status not in (200, 204, 404):
                    fail_api(module, "DELETE " + path, status, body)
            result["pool"] = {}
        result["diff"] = {"before": before, "after": {}}
        module.exit_json(**result)

    want = wanted_state(p, current)
    recreate = current is not None and current.get("type") != p["type"]
    if recreate and not p["replace_on_type_change"]:
        module.fail_json(msg="work pool %s has type %s, not %s; set replace_on_type_change to recreate it"
                         % (p["name"], current.get("type"), p["type"]))

    if current is None or recreate:
        changes = want
    else:
        changes = {k: v for k, v in want.items() if k != "type" and current.get(k) != v}
    after = dict(before, **changes)
    result["diff"] = {"before": before, "after": after}
    if not changes:
        module.exit_json(**result)

    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)

    if recreate:
        status, body = api.call("DELETE", path)
        if status not in (200, 204):
            fail_api(module, "DELETE " + path, status, body)
    if current is None or recreate:
        body = dict(name=p["name"], **want)
        status, created = api.call("POST", "/work_pools/", body)
        if status != 201:
            fail_api(module, "POST /work_pools/", status, created)
    else:
        status, body = api.call("PATCH", path, changes)
        if status != 204:
            fail_api(module, "PATCH " + path, status, body)
    status, result["pool"] = api.call("GET", path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
