"""Scale-out (molecule scenario `scale`): one podman_pool, workers on two hosts."""
import sys
import time
from pathlib import Path

import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared" / "tests"))
from pwb_testlib import FINAL, api, deployment  # noqa: E402

HOSTS = ("pwb-scale-a", "pwb-scale-b")
LIMIT = 3  # podman_pool's concurrency_limit (host_vars); each worker takes 2
JOBS = 6
SLEEP_S = 25


def job_params(seq):
    return {"image_name": "localhost/pwb-smoke-algorithm", "image_tag": "latest", "command": "python smoke_train.py",
            "volumes": ["/srv/mlex/tiled_storage:/tiled_storage"], "network": "", "env_vars": {},
            "params": {"io_parameters": {"uid_retrieve": "", "uid_save": ""},
                       "output_dir": "/tiled_storage/pwb-scale", "sleep_s": SLEEP_S, "seq": seq}}


def stamp(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_both_hosts_serve_the_pool(host):
    pool = api(host, "GET", "/work_pools/podman_pool")
    assert (pool["type"], pool["concurrency_limit"]) == ("docker", LIMIT)
    workers = api(host, "POST", "/work_pools/podman_pool/workers/filter", {})
    online = sorted(w["name"] for w in workers if w["status"] == "ONLINE")
    hostnames = [testinfra.get_host(f"podman://{h}").check_output("hostname") for h in HOSTS]
    assert online == sorted(f"{h}-podman_pool" for h in hostnames), workers
    other = testinfra.get_host(f"podman://{HOSTS[1]}")
    assert other.service("prefect-worker@podman_pool.service").is_running
    assert "PREFECT_API_URL=http://pwb-scale-a:4200/api" in other.file("/etc/prefect-worker/worker.env").content_string


def test_jobs_spread_over_both_hosts_within_the_pool_limit(host):
    dep = deployment(host, "Docker flow", "launch_podman")
    ids = [api(host, "POST", f"/deployments/{dep['id']}/create_flow_run",
               {"parameters": {"docker_params": job_params(seq), "prev_flow_run_id": ""}})["id"] for seq in range(JOBS)]
    deadline = time.monotonic() + 600
    while True:
        runs = [api(host, "GET", f"/flow_runs/{i}") for i in ids]
        if all(r["state_type"] in FINAL for r in runs) or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert [r["state_type"] for r in runs] == ["COMPLETED"] * JOBS, [(r["id"], r["state"]) for r in runs]
    # Which host ran each: its flow-run container (kept, auto_remove off) is there.
    ran_on = {}
    for name in HOSTS:
        h = testinfra.get_host(f"podman://{name}")
        for run_id in ids:
            if h.check_output(f"podman ps -a -q --filter label=io.prefect.flow-run-id={run_id}"):
                ran_on[run_id] = name
    assert sorted(ran_on) == sorted(ids), ran_on
    per_host = {name: sum(1 for v in ran_on.values() if v == name) for name in HOSTS}
    # Most runs in RUNNING at one time, from the runs' own start and end times.
    edges = sorted([(stamp(r["start_time"]), 1) for r in runs] + [(stamp(r["end_time"]), -1) for r in runs],
                   key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    span = max(stamp(r["end_time"]) for r in runs) - min(stamp(r["created"]) for r in runs)
    print(f"scale-out: {JOBS} jobs of {SLEEP_S} s, per host {per_host}, at most {peak} running at once"
          f" (pool limit {LIMIT}), all done {span:.0f} s after the first submission")
    assert all(per_host.values()), per_host
    assert 2 <= peak <= LIMIT, peak
