"""Helpers for testinfra tests of scenarios that run the whole site play (e2e, rootless, scale):
the Prefect REST API through curl on the test host, and the smoke job."""
import json
import os
import shlex
import subprocess
import time
from pathlib import Path

API = "http://127.0.0.1:4200/api"
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
SMOKE_OUT = "/srv/mlex/tiled_storage/pwb-smoke"
# The e2e host's registry (molecule/e2e/prepare.yml) as an inventory names it.
REGISTRY = {"registry": "127.0.0.1:5000", "username": "pwb-test", "password": "pwb-test-password",
            "ca_file": f"{os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', '')}/pwb-registry-ca.crt"}


# Prints, on the test host, the API's credential as the converge gave the workers (a
# server beyond loopback, like the demo's, requires it; nothing when there is none),
# from their 0600 env file: in a pipe or $(...), so it is on no command line.
API_AUTH = "sed -n 's/^PREFECT_API_AUTH_STRING=//p' /etc/prefect-worker/worker.env 2>/dev/null"
# Prefix of a curl command that sends it (curl's config, on stdin).
WITH_API_AUTH = f"{API_AUTH} | sed 's/^/user = /' | curl -K - "


def curl(host, args):
    """curl on the test host, with the API's credential. --retry: a busy SQLite-backed
    server answers 503 ("database is locked") and rolls back; Prefect's own client
    retries those too."""
    return host.check_output(f"{WITH_API_AUTH}-s --retry 5 --retry-delay 3 --max-time 20 {args}")


def api(host, method, path, body=None):
    data = f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}" if body is not None else ""
    out = curl(host, f"-f -X {method} {data} {API}{path}")
    return json.loads(out) if out else None


def deployment(host, flow, name):
    """The deployment, or None when the API answers 404 (one request)."""
    out = curl(host, f"-w '\\n%{{http_code}}' '{API}/deployments/name/{flow.replace(' ', '%20')}/{name}'")
    body, _, code = out.rpartition("\n")
    if code == "404":
        return None
    assert code == "200", out
    return json.loads(body)


def submit_smoke_job(host, sleep_s=0, release=None):
    """The guide's Step 4 run of the parent flow with the smoke algorithm; returns the run.
    With `release` (a name), its algorithm ends once release_smoke_job(host, release)
    ran, or after sleep_s: a test holds a job for as long as a play runs, not a guess."""
    dep = deployment(host, "Parent flow", "launch_parent_flow")
    job = {"io_parameters": {"uid_retrieve": "", "uid_save": ""}, "output_dir": "/tiled_storage/pwb-smoke", "sleep_s": sleep_s}
    if release:
        job["release_file"] = f"{job['output_dir']}/{release}.release"
    params = {"params_list": [{"model_name": "pwb_smoke", "task_name": "train", "params": job}]}
    return api(host, "POST", f"/deployments/{dep['id']}/create_flow_run", {"parameters": params})


def release_smoke_job(host, release, after_s=0, once_paused=None):
    """Ends the smoke jobs submitted with `release`, in the background on the host so a
    play can run meanwhile: after_s seconds from now or, with once_paused (a pool's
    name), as soon as that pool is paused (a drain began), after_s at the latest. The
    release file holds the time it was written (unix seconds): release_time(). SMOKE_OUT
    is the jobs' output_dir as the host sees it; a job's first run made it."""
    wait = f"sleep {after_s}"
    if once_paused:
        paused = f"{WITH_API_AUTH}-s --max-time 5 {API}/work_pools/{once_paused} | grep -Eq '\"is_paused\": ?true'"
        wait = f"end=$(( $(date +%s) + {after_s} )); while [ $(date +%s) -lt $end ] && ! {paused}; do sleep 1; done"
    host.run_test(f"({wait}; date +%s > {SMOKE_OUT}/{release}.tmp; mv {SMOKE_OUT}/{release}.tmp {SMOKE_OUT}/{release}.release)"
                  " >/dev/null 2>&1 &")


def release_time(host, release):
    """When release_smoke_job released the jobs of `release` (unix seconds)."""
    return int(host.file(f"{SMOKE_OUT}/{release}.release").content_string)


def wait_final(host, run_id, timeout=300):
    deadline = time.monotonic() + timeout
    while True:
        run = api(host, "GET", f"/flow_runs/{run_id}")
        if run["state_type"] in FINAL or time.monotonic() > deadline:
            return run
        time.sleep(2)


def children(host, run_id):
    return api(host, "POST", "/flow_runs/filter", {"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}})


def running_child(host, run_id, timeout=120):
    """The first child run of run_id once it is RUNNING (a job in flight)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = children(host, run_id)
        if kids and kids[0]["state_type"] == "RUNNING":
            return kids[0]
        time.sleep(2)
    raise AssertionError(f"no running child of {run_id} after {timeout} s")


def smoke_output(host, child_id):
    return json.loads(host.file(f"{SMOKE_OUT}/{child_id}.json").content_string)


def run_playbook(name, *args):
    """ansible-playbook on this scenario's instance, as Molecule's converge runs it:
    playbooks/<name>, or a path from the project root. Returns (returncode, output, seconds)."""
    ephemeral = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
    project = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
    playbook = project / name if "/" in name else project / "playbooks" / name
    env = dict(os.environ, ANSIBLE_CONFIG=f"{ephemeral}/ansible.cfg", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    start = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(playbook), *args],
        env=env, capture_output=True, text=True, cwd=project)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def recap_changed(output):
    """The changed= count of the test host's PLAY RECAP line."""
    import re
    counts = re.findall(r"^pwb-\S+\s*:\s*ok=\d+\s+changed=(\d+)", output, re.M)
    assert counts, output[-2000:]
    return int(counts[-1])


# A facility's own worker code, in the upstream repository's style (e2e).
FACILITY_CODE = "tests/fixtures/facility_worker"
# A git repository of it on the test host (tests/test_facility_code.py creates it).
FACILITY_GIT = "/srv/git/facility_worker.git"


def worker_code_args(which, git_version="v1"):
    """Extra vars of molecule/e2e/worker_code.yml: the "facility" fixture or the
    "reference" worker shipped from the controller, or "git": the fixture from the
    test host's repository FACILITY_GIT at git_version."""
    if which == "git":
        return ["-e", "mlex_worker_code_source=git", "-e", f"mlex_worker_code_git_repo=file://{FACILITY_GIT}",
                "-e", f"mlex_worker_code_git_version={git_version}"]
    bundle_dir = str(Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / FACILITY_CODE) if which == "facility" else ""
    return ["-e", "mlex_worker_code_source=bundle", "-e", f"mlex_worker_code_bundle_dir={bundle_dir}"]


def use_worker_code(which, worker_mode="docker", **kwargs):
    """Converge the host's worker code to `which` (worker_code_args) in worker_mode
    (its config.yml names that mode's child); returns the play's output."""
    code, out, _ = run_playbook("molecule/e2e/worker_code.yml", *worker_code_args(which, **kwargs),
                                "-e", f"pwb_worker_mode={worker_mode}")
    assert code == 0, out[-3000:]
    return out


def code_version(output):
    """The mlex_worker_code_version that molecule/e2e/worker_code.yml reports."""
    import re
    found = re.findall(r"worker code version: ([\w.-]+)", output)
    assert found, output[-2000:]
    return found[-1]


def facility_job(host, dep, param_key, job_variables=None, image=("localhost/pwb-smoke-algorithm", "latest")):
    """A run of `dep` with the smoke algorithm (image: name and tag), in the upstream
    flows' parameter shape ({param_key: {image_name, image_tag, command, params, volumes}})."""
    job = {"image_name": image[0], "image_tag": image[1], "command": "python smoke_train.py",
           "params": {"io_parameters": {"uid_retrieve": "", "uid_save": ""}, "output_dir": "/tiled_storage/pwb-smoke"},
           "volumes": ["/srv/mlex/tiled_storage:/tiled_storage"]}
    body = {"parameters": {param_key: job}}
    if job_variables:
        body["job_variables"] = job_variables
    return api(host, "POST", f"/deployments/{dep['id']}/create_flow_run", body)


BASE_JOB_TEMPLATES = Path(__file__).resolve().parents[3] / "roles/prefect_registration/files/base-job-templates"


def published_and_shipped_templates(host, python, version):
    """The base job templates a Prefect's own workers publish (run with `python` on
    the test host) and those registration ships for that version, per pool type."""
    code = ("import json; from prefect.workers.process import ProcessWorker; from prefect_docker.worker import DockerWorker; "
            "print(json.dumps({'docker': DockerWorker.get_default_base_job_template(), "
            "'process': ProcessWorker.get_default_base_job_template()}))")
    published = json.loads(host.check_output(f"{python} -c {shlex.quote(code)}"))
    shipped = {t: json.loads((BASE_JOB_TEMPLATES / version / f"{t}.json").read_text()) for t in ("docker", "process")}
    return published, shipped
