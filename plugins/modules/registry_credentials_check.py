#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: does a container registry take these credentials?"""

from __future__ import annotations

DOCUMENTATION = r"""
module: registry_credentials_check
short_description: Check that a container registry accepts a username and password
description:
  - Asks the registry's API (C(GET /v2/)) over HTTPS the way a container engine logs in, with
    HTTP basic authentication or the token service the registry names in its
    C(WWW-Authenticate) Bearer challenge. Writes nothing (no auth file) and runs in
    check mode, so a wrong password stops a run before any host changes.
  - Needs only Python's standard library on the host; the engine need not be installed yet.
options:
  registry:
    description: Registry host, with port if not 443, e.g. C(registry.example.org:5000).
    type: str
    required: true
  username:
    description: User name.
    type: str
    required: true
  password:
    description: Password or token. Never logged.
    type: str
    required: true
  ca_pem:
    description: PEM text of CA certificates to trust besides the host's trust store.
    type: str
    default: ""
  timeout:
    description: Seconds per request.
    type: int
    default: 10
author: podman-worker-bundle
"""

EXAMPLES = r"""
- name: Check the facility registry's credentials
  registry_credentials_check:
    registry: registry.example.org
    username: mlex-pull
    password: "{{ vault_registry_password }}"
"""

RETURN = r"""
scheme:
  description: How the registry authenticates (C(basic), C(bearer) or C(none)).
  type: str
  returned: always
"""

import base64
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request

from ansible.module_utils.basic import AnsibleModule


class Refused(Exception):
    pass


def _challenge(header):
    """('basic'|'bearer', {param: value}) from a WWW-Authenticate header."""
    scheme, _, rest = (header or "").strip().partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


def _get(url, context, timeout, auth=None):
    request = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as err:
        return err.code, err.headers


def check(registry, username, password, ca_pem="", timeout=10):
    context = ssl.create_default_context()
    if ca_pem:
        context.load_verify_locations(cadata=ca_pem)
    basic = "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
    base = "https://%s/v2/" % registry
    status, headers = _get(base, context, timeout)
    if status == 200:
        return "none"
    if status != 401:
        raise Refused("%s answered HTTP %d to GET /v2/ (not a container registry?)" % (registry, status))
    scheme, params = _challenge(headers.get("WWW-Authenticate"))
    if scheme == "basic":
        status, _ = _get(base, context, timeout, basic)
    elif scheme == "bearer" and params.get("realm"):
        query = urllib.parse.urlencode({k: v for k, v in (("service", params.get("service")), ("account", username)) if v})
        status, _ = _get(params["realm"] + ("&" if "?" in params["realm"] else "?") + query, context, timeout, basic)
    else:
        raise Refused("%s asks for an authentication scheme this check does not know: %r" % (registry, scheme))
    if status != 200:
        raise Refused("%s refused the credentials of %s (HTTP %d)" % (registry, username, status))
    return scheme


def main():
    module = AnsibleModule(
        argument_spec=dict(
            registry=dict(type="str", required=True),
            username=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            ca_pem=dict(type="str", default="", no_log=True),  # not secret: kept out of logs for length
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        scheme = check(p["registry"], p["username"], p["password"], p["ca_pem"], p["timeout"])
    except Refused as err:
        module.fail_json(msg=str(err))
    except (urllib.error.URLError, ssl.SSLError, OSError) as err:
        module.fail_json(msg="%s did not answer over HTTPS: %s" % (p["registry"], getattr(err, "reason", err)))
    module.exit_json(changed=False, scheme=scheme)


if __name__ == "__main__":
    main()
