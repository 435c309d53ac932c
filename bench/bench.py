"""make bench: measure the bundle on the demo host and write docs/benchmarks.md and
docs/benchmarks.png. Prints every figure as it goes.

Runs against `pwb-demo` (inventories/demo); it destroys and recreates it to time a
first converge. BENCH_RUNS (default 20) jobs per path. Takes about 26 min on
2 cores. Figures, not pass/fail tests: the targets are reported as met or missed.
"""
from __future__ import annotations

import base64
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API = "http://127.0.0.1:4200/api"
HOST = "pwb-demo"
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
SMOKE_IMAGE = "localhost/pwb-smoke-algorithm"
RESULTS: dict = {}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def checkpoint():
    """Keep what is measured so far: a run that dies late still leaves its figures."""
    (ROOT / "docs/benchmarks.json").write_text(json.dumps(RESULTS, indent=2) + "\n")


@functools.cache
def api_auth_header():
    """The demo API's basic auth, as the converge gave the workers (their env file)."""
    auth = on_host("sed -n 's/^PREFECT_API_AUTH_STRING=//p' /etc/prefect-worker/worker.env").strip()
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}


def api(method, path, body=None, tries=5):
    """One REST call; a read that times out or any 503 is retried (bench runs died on
    both: a poll of the SQLite-backed server that took over 30 s, a locked database)."""
    req = urllib.request.Request(API + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **api_auth_header()})
    for attempt in range(1, tries + 1):
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                data = resp.read()
            return json.loads(data) if data else None
        except (TimeoutError, urllib.error.URLError) as exc:
            # A 503 (HTTPError): the SQLite-backed server rolled back on "database is
            # locked", safe to repeat for any method, as Prefect's own client does.
            # A timeout: only a read is safe to repeat.
            retry = exc.code == 503 if isinstance(exc, urllib.error.HTTPError) else method == "GET"
            if not retry or attempt == tries:
                raise
            log(f"{method} {path}: {exc}; retry {attempt}/{tries - 1}")
            time.sleep(2 * attempt)


def on_host(cmd):
    return subprocess.run(["podman", "exec", HOST, "sh", "-c", cmd], check=True, capture_output=True, text=True).stdout


def playbook(name, *args):
    """Run a playbook on the demo inventory; (seconds, changed count of the demo host)."""
    start = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", "inventories/demo", f"playbooks/{name}", *args],
                          cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    seconds = time.monotonic() - start
    if proc.returncode:
        sys.exit(f"{name} {' '.join(args)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    changed = [int(c) for c in re.findall(rf"^{HOST}\s*:\s*ok=\d+\s+changed=(\d+)", proc.stdout, re.M)]
    return seconds, changed[-1] if changed else None


def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def job_params(seq):
    return {"image_name": SMOKE_IMAGE, "image_tag": "latest", "command": "python smoke_train.py",
            "volumes": ["/srv/mlex/tiled_storage:/tiled_storage"], "network": "", "env_vars": {},
            "params": {"io_parameters": {"uid_retrieve": "", "uid_save": ""},
                       "output_dir": "/tiled_storage/pwb-bench", "seq": seq}}


def launch_latency(name, flow, key, runs):
    """Submission to completion of the podman child deployment, run after run (seconds)."""
    dep = api("GET", f"/deployments/name/{flow.replace(' ', '%20')}/launch_podman")
    out = []
    for seq in range(runs):
        run = api("POST", f"/deployments/{dep['id']}/create_flow_run",
                  {"parameters": {key: job_params(seq), "prev_flow_run_id": ""}})
        deadline = time.monotonic() + 300
        while True:
            run = api("GET", f"/flow_runs/{run['id']}")
            if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            if time.monotonic() > deadline:
                sys.exit(f"run {run['id']} did not finish in 300 s")
            time.sleep(0.5)
        if run["state_type"] != "COMPLETED":
            sys.exit(f"{flow} run {run['id']} ended {run['state_type']}: {run['state'].get('message')}")
        out.append(stamp(run["end_time"]) - stamp(run["created"]))
        # Where the time goes: until the flow run starts (poll wait, flow-run container
        # or process start) and the run itself (the algorithm container inside).
        split = RESULTS.setdefault("split", {}).setdefault(name, {"to_start": [], "running": []})
        split["to_start"].append(stamp(run["start_time"]) - stamp(run["created"]))
        split["running"].append(stamp(run["end_time"]) - stamp(run["start_time"]))
    return out


def bare_podman(runs):
    """The same algorithm container with `podman run` on the host (seconds)."""
    script = (
        "mkdir -p /tmp/bench && printf 'io_parameters: {uid_save: bare}\\noutput_dir: /tmp/out\\n' > /tmp/bench/p.yaml;"
        f" for i in $(seq {runs}); do s=$(date +%s%N); podman run --rm -v /tmp/bench/p.yaml:/app/work/params.yaml:ro"
        f" {SMOKE_IMAGE}:latest python smoke_train.py /app/work/params.yaml >/dev/null; e=$(date +%s%N);"
        " echo $(( (e - s) / 1000000 )); done")
    return [int(ms) / 1000 for ms in on_host(script).split()]


def measure(name, flow, key, runs):
    """Launch latency of one path, summarised under `name`."""
    return summary(name, launch_latency(name, flow, key, runs))


def pct(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summary(name, values):
    s = {"n": len(values), "p50": pct(values, 50), "p90": pct(values, 90), "mean": statistics.mean(values)}
    RESULTS.setdefault("latency", {})[name] = s
    log(f"{name}: n={s['n']} p50={s['p50']:.2f} s p90={s['p90']:.2f} s")
    checkpoint()
    return s


def image_figures():
    tag = "--tags=image"
    on_host("podman rmi -f localhost/prefect-with-podman:latest localhost/prefect-with-podman:previous >/dev/null 2>&1 || true")
    cold, _ = playbook("site.yml", tag)
    nochange, changed = playbook("site.yml", tag)
    shim, _ = playbook("site.yml", tag, "-e", "pwb_job_socket=/var/run/docker-bench.sock")
    back, _ = playbook("site.yml", tag)
    RESULTS["image"] = {"cold_s": cold, "no_change_s": nochange, "no_change_changed": changed,
                        "shim_only_s": shim, "revert_s": back}
    log(f"image: cold {cold:.0f} s, no-change {nochange:.0f} s (changed={changed}), shim-only {shim:.0f} s, revert {back:.0f} s")


def main():
    os.chdir(ROOT)
    log("fresh demo host")
    subprocess.run(["podman", "rm", "-f", HOST], capture_output=True)
    playbook("demo-host.yml")
    first, first_changed = playbook("site.yml")
    again, again_changed = playbook("site.yml")
    RESULTS["converge"] = {"first_s": first, "first_changed": first_changed, "again_s": again, "again_changed": again_changed}
    log(f"converge: first {first:.0f} s changed={first_changed}; again {again:.0f} s changed={again_changed}")
    checkpoint()

    docker = measure("docker pool (poll 5 s)", "Docker flow", "docker_params", RUNS)
    bare = summary("bare podman run", bare_podman(RUNS))

    playbook("site.yml", "--tags=workers", "-e", "prefect_worker_services_query_seconds=2")
    measure("docker pool (poll 2 s)", "Docker flow", "docker_params", max(RUNS // 2, 5))
    playbook("site.yml", "--tags=workers")

    seconds, _ = playbook("rollback.yml")
    RESULTS["rollback_s"] = seconds
    log(f"rollback: {seconds:.0f} s")
    process = measure("process pool (poll 5 s)", "Podman flow", "podman_params", RUNS)
    seconds, _ = playbook("site.yml")
    RESULTS["roll_forward_s"] = seconds
    log(f"roll forward: {seconds:.0f} s")

    image_figures()

    RESULTS["targets"] = {
        "docker p50 <= 1.5 x process p50": docker["p50"] <= 1.5 * process["p50"],
        "docker p50 within 5 s of bare podman": docker["p50"] - bare["p50"] <= 5,
        "re-converge changed=0": RESULTS["converge"]["again_changed"] == 0,
        "re-converge <= 25% of first": again <= 0.25 * first,
        "no-change image converge does not build": RESULTS["image"]["no_change_changed"] == 0,
    }
    for name, ok in RESULTS["targets"].items():
        log(f"target {name}: {'met' if ok else 'MISSED'}")
    write_docs()


def write_docs():
    lat = RESULTS["latency"]
    checkpoint()
    c, i = RESULTS["converge"], RESULTS["image"]
    docker, process, bare = lat["docker pool (poll 5 s)"], lat["process pool (poll 5 s)"], lat["bare podman run"]
    lines = [
        "# Benchmarks (`make bench`)", "",
        f"Measured by `bench/bench.py` on the demo host (a systemd container on a 2-core machine),"
        f" {time.strftime('%Y-%m-%d')}. Raw figures: `docs/benchmarks.json`.", "",
        "## Job launch latency", "",
        "Submission to completion of the podman child deployment (Prefect's `created` to `end_time`),"
        " jobs one after another; the bare run is `podman run --rm` of the same algorithm image on the host.", "",
        "| Path | n | p50 (s) | p90 (s) |", "| --- | --- | --- | --- |",
        *[f"| {name} | {s['n']} | {s['p50']:.2f} | {s['p90']:.2f} |" for name, s in lat.items()], "",
        f"Ratios (p50): docker / process = {docker['p50'] / process['p50']:.2f};"
        f" docker - bare podman = {docker['p50'] - bare['p50']:.2f} s.", "",
        "Where the time goes (p50, s): submission to flow-run start / flow run itself:", "",
        *[f"- {name}: {pct(v['to_start'], 50):.2f} / {pct(v['running'], 50):.2f} (n={len(v['running'])})"
          for name, v in RESULTS.get("split", {}).items()], "",
        "![latency](benchmarks.png)", "",
        "## Converge", "",
        "| Run | Wall (s) | changed |", "| --- | --- | --- |",
        f"| first converge (fresh host, site.yml incl. image build and smoke run) | {c['first_s']:.0f} | {c['first_changed']} |",
        f"| re-converge | {c['again_s']:.0f} | {c['again_changed']} |",
        f"| rollback (playbooks/rollback.yml) | {RESULTS['rollback_s']:.0f} | |",
        f"| roll forward (site.yml) | {RESULTS['roll_forward_s']:.0f} | |", "",
        "## Image (`site.yml --tags image`)", "",
        "| Run | Wall (s) |", "| --- | --- |",
        f"| cold build | {i['cold_s']:.0f} |", f"| no change (changed={i['no_change_changed']}) | {i['no_change_s']:.0f} |",
        f"| shim-only change | {i['shim_only_s']:.0f} |", f"| shim back | {i['revert_s']:.0f} |", "",
        "## Targets", "", "| Target | |", "| --- | --- |",
        *[f"| {name} | {'met' if ok else '**missed**'} |" for name, ok in RESULTS["targets"].items()], "",
    ]
    (ROOT / "docs/benchmarks.md").write_text("\n".join(lines))
    plot(lat)
    log("wrote docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks.png")


def plot(lat):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(lat)
    fig, ax = plt.subplots(figsize=(7, 3))
    y = range(len(names))
    ax.barh([v - 0.2 for v in y], [lat[n]["p50"] for n in names], height=0.4, label="p50")
    ax.barh([v + 0.2 for v in y], [lat[n]["p90"] for n in names], height=0.4, label="p90")
    ax.set_yticks(list(y), names)
    ax.set_xlabel("submission to completion (s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(ROOT / "docs/benchmarks.png", dpi=100)


if __name__ == "__main__":
    main()
