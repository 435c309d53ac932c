"""Filter systemd_env_value: a value as systemd's EnvironmentFile= reads it back unchanged.

systemd drops a backslash in an unquoted value ("pa\\ss" arrives as "pass") and
strips trailing blanks; a newline would start another variable. A value made only
of safe characters is written as is; any other is double-quoted with the four
characters systemd unescapes there (backslash, double quote, dollar, backtick)
escaped. Control characters cannot be written safely and are refused, naming the
variable, never the value (it may be a secret).
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

SAFE = re.compile(r"[A-Za-z0-9_./:@%+,=-]*")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def systemd_env_value(value, name="a value"):
    text = str(value)
    if CONTROL.search(text):
        raise AnsibleFilterError(f"{name}: contains a control character (e.g. a newline), which an environment file cannot hold")
    if SAFE.fullmatch(text):
        return text
    return '"' + re.sub(r'(["\\$`])', r"\\\1", text) + '"'


class FilterModule:
    def filters(self):
        return {"systemd_env_value": systemd_env_value}
