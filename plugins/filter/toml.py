"""Filter to_toml: a dict as TOML text, written by a TOML library (tomli-w).

containers.conf and registries.conf hold nested tables ([engine.runtimes]) and arrays
of tables ([[registry]] with its mirrors); a hand-written template cannot tell them
from arrays and loses them. Keys are sorted, so the same settings give the same file.
"""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError

try:
    import tomli_w
except ImportError:  # reported when the filter is used, with the fix
    tomli_w = None


def _sorted(value):
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def to_toml(settings):
    if tomli_w is None:
        raise AnsibleFilterError("to_toml needs the Python package tomli-w on the controller "
                                 "(it is in requirements/tools.txt: pip install -r requirements/tools.txt)")
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"to_toml: expected a dict of settings, got {type(settings).__name__}")
    # Plain Python types (Ansible hands over its own str/dict subclasses).
    plain = json.loads(json.dumps(settings))
    try:
        return tomli_w.dumps(_sorted(plain))
    except (TypeError, ValueError) as err:  # e.g. a null value: TOML has none
        raise AnsibleFilterError(f"to_toml: cannot write these settings as TOML: {err}") from err


class FilterModule:
    def filters(self):
        return {"to_toml": to_toml}
