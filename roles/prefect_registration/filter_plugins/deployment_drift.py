"""Filter: which deployments `prefect deploy` must (re)register.

`prefect deploy` always says "created", so the role reads each deployment back
(module prefect_deployment_info) and compares the fields deploy stores.
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


def deployment_drift(found):
    """From prefect_deployment_info's `deployments` (each entry plus `deployment`, the
    API's or None), the entries to deploy.

    Each returned dict is the entry plus `reasons`: "missing" or the names of the
    fields whose stored value differs.
    """
    stale = []
    for result in found:
        entry = dict(result)
        remote = entry.pop("deployment", None)
        if remote is None:
            stale.append(dict(entry, reasons=["missing"]))
            continue
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
