"""Filter pwb_api_hosts: the hosts that serve one Prefect API, however its URL is spelled.

Registration and the smoke run happen once per API (its first host leads), and hosts
of one API must agree on what it holds: "https://Prefect.example.org:443/api/" and
"https://prefect.example.org./api" are the same API and must not count as two.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def api_key(url):
    """A canonical form of a Prefect API URL: scheme and host lower case, no trailing
    dot on the host, no default port, no trailing slash."""
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    port = parts.port
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else "%s:%d" % (host, port)
    if ":" in host:  # IPv6 literal
        netloc = "[%s]" % host if port in (None, DEFAULT_PORTS.get(scheme)) else "[%s]:%d" % (host, port)
    return "%s://%s%s" % (scheme, netloc, parts.path.rstrip("/"))


def api_hosts(hosts, hostvars, url, var):
    """The hosts, in order, whose `var` (an API URL) names the same API as url;
    hosts without it are left out."""
    want = api_key(url)
    return [h for h in hosts if var in hostvars[h] and api_key(hostvars[h][var]) == want]


class FilterModule:
    def filters(self):
        return {"pwb_api_hosts": api_hosts, "pwb_api_key": api_key}
