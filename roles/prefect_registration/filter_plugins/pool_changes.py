"""Filter: which existing pools the inventory gives another type (they are drained and replaced)."""

from __future__ import annotations


def pools_changing_type(found, wanted):
    """The pools of `found` (as the API has them) whose type differs from the entry of
    the same name in `wanted` (the inventory's pools)."""
    types = {entry["name"]: entry["type"] for entry in wanted}
    return [pool for pool in found if pool["name"] in types and pool["type"] != types[pool["name"]]]


class FilterModule:
    def filters(self):
        return {"prefect_pools_changing_type": pools_changing_type}
