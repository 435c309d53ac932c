# -*- coding: utf-8 -*-
"""The bundle's one client of Prefect's REST API, shared by its prefect_* modules.

Auth (Basic auth string or Bearer API key, never both), timeouts, TLS options,
URL-encoded path parts, Prefect's CSRF tokens when the server asks for them, and
retries of what a busy or restarting server answers, nothing else.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import uuid

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url

# A server that answers these did not apply the request (Prefect answers 503 when
# its database is busy, e.g. SQLite under a running flow; a proxy 502/504 while the
# server restarts): asking again is safe for any method.
TRANSIENT = (502, 503, 504)
CHANGING = ("POST", "PUT", "PATCH", "DELETE")

# Connection options every prefect_* module takes (doc fragment prefect_api).
API_ARGUMENT_SPEC = dict(
    api_url=dict(type="str", required=True),
    auth_string=dict(type="str", no_log=True),
    api_key=dict(type="str", no_log=True),
    timeout=dict(type="int", default=30),
    retries=dict(type="int", default=4),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    # Long (a whole bundle), not secret: kept out of the host's journal and -v output.
    ca_pem=dict(type="str", no_log=True),
)


def api_argument_spec(**options):
    """The connection options plus a module's own."""
    return dict(API_ARGUMENT_SPEC, **options)


class PrefectApiError(Exception):
    """The API could not be reached, or answered what the caller cannot use."""

    def __init__(self, msg, status=None, body=None):
        super().__init__(msg)
        self.status = status
        self.body = body


def explain(body):
    """The API's own explanation: "detail" (FastAPI), or the messages of
    "exception_detail" (Prefect's validation errors)."""
    if not isinstance(body, dict):
        return body
    messages = [e.get("msg", "") for e in body.get("exception_detail") or [] if isinstance(e, dict)]
    return body.get("detail") or "; ".join(messages) or body.get("exception_message") or body


def owner_mark(owner):
    """The line a managed object's description carries: on a shared API, the bundle
    changes only what it made (or was told to adopt)."""
    return "managed-by: " + owner


def is_owned(description, owner):
    return owner_mark(owner) in (description or "").splitlines()


def with_owner_mark(description, owner):
    """description with the owner's mark as its last line (once)."""
    lines = [line for line in (description or "").splitlines() if line != owner_mark(owner)]
    return "\n".join(lines + [owner_mark(owner)])


def path(*parts):
    """An API path from raw parts, each URL-encoded (a name may hold '/', ' ', '%')."""
    return "".join("/" + quote(str(p), safe="") for p in parts)


class PrefectApi:
    def __init__(self, params, sleep=time.sleep):
        self.url = params["api_url"].rstrip("/")
        self.timeout = params["timeout"]
        self.retries = params["retries"]
        self.validate_certs = params["validate_certs"]
        self.ca_path = params["ca_path"]
        self.sleep = sleep
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        auth_string, api_key = params.get("auth_string"), params.get("api_key")
        # Empty strings count as unset: module_defaults pass both, one of them empty.
        if auth_string and api_key:
            raise PrefectApiError("auth_string and api_key are mutually exclusive: the API takes one")
        if auth_string:
            self.headers["Authorization"] = "Basic " + base64.b64encode(auth_string.encode()).decode()
        elif api_key:
            self.headers["Authorization"] = "Bearer " + api_key
        self._csrf = None  # headers once fetched; {} when the server does not use CSRF tokens

    def call(self, method, api_path, body=None, query=None, read=None):
        """(status, decoded body) of one request. HTTP errors are answers, not
        exceptions. Retried: TRANSIENT answers and refused connections (nothing was
        applied); timeouts and resets only for reads (GET, or read=True for POST
        filters), since a change may have been applied before the connection broke."""
        read = method == "GET" if read is None else read
        url = self.url + api_path + ("?" + urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if method in CHANGING:
            headers.update(self._csrf_headers())
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                status, text = self._send(method, url, data, headers)
            except (URLError, socket.timeout, ConnectionError) as err:
                reason = getattr(err, "reason", err)
                if not last and (read or isinstance(reason, ConnectionRefusedError)):
                    self.sleep(2 ** (attempt + 1))
                    continue
                raise PrefectApiError("cannot reach the Prefect API at %s (%s %s): %s"
                                      % (self.url, method, api_path, reason))
            if status == 403 and b"Invalid CSRF token" in text and method in CHANGING and not last:
                self._csrf = None  # expired: a new one, like Prefect's own client
                headers.update(self._csrf_headers())
                continue
            if status not in TRANSIENT or last:
                break
            self.sleep(2 ** (attempt + 1))
        try:
            return status, (json.loads(text) if text else None)
        except ValueError:  # e.g. a proxy's HTML error page
            return status, text.decode(errors="replace")

    def expect(self, method, api_path, ok=(200,), **kw):
        """(status, body) when the status is one of ok, else PrefectApiError with the
        API's explanation."""
        status, body = self.call(method, api_path, **kw)
        if status not in ok:
            raise PrefectApiError("Prefect API answered %s to %s %s: %s (%s)"
                                  % (status, method, api_path, explain(body), self.url), status, body)
        return status, body

    def _send(self, method, url, data, headers):
        try:
            resp = open_url(url, method=method, data=data, headers=headers, timeout=self.timeout,
                            follow_redirects="safe", validate_certs=self.validate_certs,
                            ca_path=self.ca_path)
            return resp.getcode(), resp.read()
        except HTTPError as err:
            return err.code, err.read()

    def _csrf_headers(self):
        """Prefect-Csrf-Token/-Client for a changing request when the server has CSRF
        protection on (PREFECT_SERVER_CSRF_PROTECTION_ENABLED); a server with it off
        answers 422, one without the endpoint 404."""
        if self._csrf is None:
            client = str(uuid.uuid4())
            status, body = self.call("GET", "/csrf-token", query={"client": client})
            if status in (404, 422):
                self._csrf = {}
            elif status == 200 and isinstance(body, dict) and body.get("token"):
                self._csrf = {"Prefect-Csrf-Token": body["token"], "Prefect-Csrf-Client": client}
            else:
                raise PrefectApiError("Prefect API answered %s to its CSRF token request: %s"
                                      % (status, explain(body)), status, body)
        return self._csrf


def run(module, work):
    """Run work(api) -> result dict and exit the module with it; API errors end
    the module with a message, not a traceback."""
    try:
        params = dict(module.params)
        if params.get("ca_pem"):
            if params.get("ca_path"):
                raise PrefectApiError("ca_path and ca_pem are mutually exclusive: give the CA bundle once")
            params["ca_path"] = os.path.join(module.tmpdir, "prefect-api-ca.pem")
            with open(params["ca_path"], "w") as pem:
                pem.write(params["ca_pem"])
        api = PrefectApi(params)
        module.exit_json(**work(api))
    except PrefectApiError as err:
        extra = {"status": err.status, "body": err.body} if err.status is not None else {}
        module.fail_json(msg=str(err), **extra)
