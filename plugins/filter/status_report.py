"""Filters of playbooks/status.yml: what a host and a Prefect API have, as report lines."""

from __future__ import annotations

import json
from collections import Counter

PREFECT_VERSION_LABEL = "org.mlexchange.pwb.prefect-version"


def host_status(podman, socket, image_inspect, units, health, socket_path, image):
    """Lines for one worker host from the registered results of status.yml's tasks."""
    lines = ["podman: " + (podman.get("stdout") or "not installed")]
    answered = socket.get("status") == 200
    lines.append("socket %s: %s" % (socket_path, "answers" if answered else "no answer (%s)" % socket.get("msg", "")))
    if image_inspect.get("rc") == 0:
        found = json.loads(image_inspect["stdout"])[0]
        labels = found.get("Labels") or {}
        lines.append("image %s: digest %s, Prefect %s, built %s"
                     % (image, found.get("Digest"), labels.get(PREFECT_VERSION_LABEL, "?"), found.get("Created")))
    else:
        lines.append("image %s: missing" % image)
    for unit, probe in zip(units["results"], health["results"]):
        props = dict(line.split("=", 1) for line in unit.get("stdout_lines", []) if "=" in line)
        pool = unit["item"]
        lines.append("worker %s: %s/%s, restarts %s, health %s (127.0.0.1:%s)"
                     % (pool["name"], props.get("ActiveState", "?"), props.get("SubState", "?"),
                        props.get("NRestarts", "?"), "ok" if probe.get("status") == 200 else "no answer",
                        pool["health_port"]))
    return lines


def api_status(api_url, api, pools, deployments, runs):
    """Lines for one Prefect API from prefect_api_info, prefect_work_pool_info,
    prefect_deployment_info (by pool) and prefect_flow_runs."""
    lines = ["Prefect API %s: server %s" % (api_url, api["version"])]
    for pool in pools["pools"]:
        limit = pool.get("concurrency_limit")
        lines.append("pool %s: type %s, limit %s, %s" % (pool["name"], pool["type"], "none" if limit is None else limit,
                                                         "PAUSED" if pool.get("is_paused") else "taking runs"))
    lines += ["pool %s: missing" % name for name in pools["missing"]]
    for found in deployments["deployments"]:
        lines.append("deployment %s/%s: pool %s, version %s"
                     % (found["flow"], found["name"], found["deployment"].get("work_pool_name"),
                        found["deployment"].get("version")))
    states = Counter(run["state_type"] for run in runs["flow_runs"])
    lines.append("runs not yet final: " + (", ".join("%s %d" % s for s in sorted(states.items())) or "none"))
    return lines


class FilterModule:
    def filters(self):
        return {"pwb_host_status": host_status, "pwb_api_status": api_status}
