"""podman-worker-bundle smoke algorithm: reads the job's params file and writes
<output_dir>/<uid_save>.json, so the smoke play can find the output on the host, with
the size of the /dev/shm the container got (the host's job resource defaults).
params.sleep_s (default 0) makes it a long job (tests of draining during a rollback);
params.release_file (a path the container sees) ends that wait as soon as the file
exists, so a test holds a job exactly as long as a play runs, not for a guessed time."""

import json
import os
import socket
import sys
import time

import yaml

with open(sys.argv[1]) as fh:
    params = yaml.safe_load(fh) or {}
io = params.get("io_parameters") or {}
uid = io.get("uid_save") or "no-uid"
deadline = time.monotonic() + float(params.get("sleep_s") or 0)
release = params.get("release_file")
while time.monotonic() < deadline and not (release and os.path.exists(release)):
    time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
out_dir = params.get("output_dir") or "/tmp"
os.makedirs(out_dir, exist_ok=True)
path = os.path.join(out_dir, uid + ".json")
shm = os.statvfs("/dev/shm")
with open(path, "w") as fh:
    json.dump({"uid_save": uid, "uid_retrieve": io.get("uid_retrieve", ""),
               "container": socket.gethostname(), "shm_bytes": shm.f_blocks * shm.f_frsize,
               "params": params}, fh)
print(f"smoke algorithm wrote {path}")
