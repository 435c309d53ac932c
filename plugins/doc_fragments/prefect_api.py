# -*- coding: utf-8 -*-
"""Documentation of the connection options every prefect_* module takes
(plugins/module_utils/prefect_api.py: API_ARGUMENT_SPEC)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  api_url:
    description: Prefect API URL, e.g. http://127.0.0.1:4200/api.
    type: str
    required: true
  auth_string:
    description:
      - HTTP Basic "user:password" (PREFECT_API_AUTH_STRING). Empty means none.
      - Mutually exclusive with I(api_key) (both may be passed, one empty, as module_defaults do).
    type: str
  api_key:
    description: Bearer API key (PREFECT_API_KEY). Empty means none.
    type: str
  timeout:
    description: Seconds per HTTP request.
    type: int
    default: 30
  retries:
    description:
      - Extra attempts of a request the server answers 502, 503 or 504 (Prefect answers
        503 when its database is busy), or whose connection is refused, 2, 4, 8 ... s
        apart; reads are also retried after a timeout or a reset connection. Other
        answers are not retried.
    type: int
    default: 4
  validate_certs:
    description: Verify the API's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM bundle of the CA(s) that sign the API's certificate (a site CA).
    type: path
  ca_pem:
    description:
      - The same as PEM text, for a host that does not hold the bundle yet (the
        controller's C(pwb_extra_ca_bundle), read before any host is changed). Written
        to the module's temporary directory only. Mutually exclusive with C(ca_path).
    type: str
notes:
  - Changing requests carry Prefect's CSRF token when the server has CSRF protection on.
"""
