"""Filter: which deployments `prefect deploy` must (re)register.

`prefect deploy` always says "created", so the role reads each deployment back
(GET /api/deployments/name/{flow}/{name}) and compares the fields deploy stores.
"""

from __future__ import annotations

# Fields of a role entry that the API returns under the same name.
COMPARED_FIELDS = (
    "entrypoint",
    "description",
    "work_pool_name",
    "work_queue_name",
    "job_variables",
    "pull_steps",
    "version",
)


def deployment_drift(results):
    """From a looped uri result list (item = entry), the entries to deploy.

    Each returned dict is the entry plus `reasons`: "missing" or the names of the
    fields whose stored value differs.
    """
    stale = []
    for result in results:
        entry = dict(result["item"])
        if result.get("status") != 200:
            stale.append(dict(entry, reasons=["missing"]))
            continue
        remote = result.get("json") or {}
        reasons = [f for f in COMPARED_FIELDS if _norm(remote.get(f)) != _norm(entry.get(f))]
        if reasons:
            stale.append(dict(entry, reasons=reasons))
    return stale


def _norm(value):
    """None and empty values compare equal (the API stores "" as null and back)."""
    if value in (None, "", [], {}):
        return None
    return value


class FilterModule:
    def filters(self):
        return {"prefect_deployment_drift": deployment_drift}
