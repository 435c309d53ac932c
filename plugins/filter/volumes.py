"""Filters on the host paths that jobs get: volume_problems and system_path.

Every flow-run and algorithm container of a job gets the inventory's volumes, and
the code that runs there is chosen by anyone who may create a flow run. A system
directory of the host mounted there (/, /etc, /root, /usr, /var, /boot, /proc,
/sys, /dev, /run, the engine's storage) or a podman socket is root on the host in
rootful mode; the z/Z options relabel the host tree for SELinux, which can break
every other service using it. Work and code directories must not be system
directories either. volume_host_paths lists the host paths that must exist on a
worker host before it is changed (playbooks/host-checks.yml).
"""

from __future__ import annotations

import posixpath
import re

SPEC = re.compile(r"(?P<host>[^: ]+):(?P<container>/[^: ]*)(?::(?P<options>[a-zA-Z0-9,=]+))?")
# Refused as such (a subdirectory such as /etc/ssl/certs may be shared read-only)...
SYSTEM_DIRS = {"/", "/etc", "/usr", "/var", "/var/lib"}
# ...and refused with everything under them.
SYSTEM_TREES = ("/root", "/boot", "/proc", "/sys", "/dev", "/run", "/var/run", "/var/lib/containers")


def _normal(path):
    return posixpath.normpath(re.sub("/+", "/", path))


def system_path(path):
    """True when path is a system directory or inside a system tree, or a socket."""
    path = _normal(str(path))
    return (path in SYSTEM_DIRS or path.endswith(".sock")
            or any(path == tree or path.startswith(tree + "/") for tree in SYSTEM_TREES))


def volume_problems(volumes, relabel_allowed=False):
    """One "<spec>: <reason>" per problem in a list of HOST:CONTAINER[:OPTIONS]; [] = fine.
    A HOST without a leading / is a named volume of the engine, not a host path."""
    problems = []
    for spec in volumes:
        spec = str(spec)
        match = SPEC.fullmatch(spec)
        if not match:
            problems.append(f"{spec}: not HOST:CONTAINER[:OPTIONS] with an absolute container path")
            continue
        if match["host"].startswith("/") and system_path(match["host"]):
            problems.append(f"{spec}: {_normal(match['host'])} is a system directory or socket of the host")
        options = (match["options"] or "").split(",")
        if ("z" in options or "Z" in options) and not relabel_allowed:
            problems.append(f"{spec}: z/Z relabel the host path for SELinux (set pwb_volume_relabel to allow)")
    return problems


def volume_host_paths(volumes):
    """The host paths (absolute, normalised, each once) of a list of volume specs;
    named volumes and malformed specs (volume_problems reports those) are left out."""
    paths = []
    for spec in volumes:
        match = SPEC.fullmatch(str(spec))
        if match and match["host"].startswith("/") and _normal(match["host"]) not in paths:
            paths.append(_normal(match["host"]))
    return paths


class FilterModule:
    def filters(self):
        return {"volume_problems": volume_problems, "system_path": system_path, "volume_host_paths": volume_host_paths}
