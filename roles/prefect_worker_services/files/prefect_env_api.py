"""The Prefect API as the workers reach it, for the bundle's host scripts: URL and
credentials from the workers' environment (worker.env, read by the scripts' units)."""
import base64
import json
import os
import urllib.request


def request(path, body=None, timeout=10):
    """urlopen() of PREFECT_API_URL + path (a POST of body as JSON when given), with the
    workers' credentials; raises OSError/ValueError/KeyError when it cannot."""
    headers = {"Content-Type": "application/json"}
    if os.environ.get("PREFECT_API_AUTH_STRING"):
        headers["Authorization"] = "Basic " + base64.b64encode(os.environ["PREFECT_API_AUTH_STRING"].encode()).decode()
    elif os.environ.get("PREFECT_API_KEY"):
        headers["Authorization"] = "Bearer " + os.environ["PREFECT_API_KEY"]
    data = json.dumps(body).encode() if body is not None else None
    return urllib.request.urlopen(
        urllib.request.Request(os.environ["PREFECT_API_URL"].rstrip("/") + path, data=data, headers=headers,
                                method="POST" if data is not None else "GET"),
        timeout=timeout)
