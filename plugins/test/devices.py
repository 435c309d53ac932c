"""Jinja tests for device names, defined once for the two roles that use them.

A CDI (Container Device Interface) kind is "vendor/class" (e.g. nvidia.com/gpu):
role podman writes specs of that kind to /etc/cdi; role prefect_podman_image's
docker shim gives job containers devices by their CDI name "vendor/class=name"
(e.g. nvidia.com/gpu=all) or by a host device path (/dev/fuse). Anything else would
reach `podman run --device` as an option of the shim's choosing.
"""

from __future__ import annotations

import re

_KIND = r"[a-z0-9][a-z0-9.-]*/[a-zA-Z0-9][a-zA-Z0-9._-]*"
KIND = re.compile(rf"^{_KIND}$")
JOB_DEVICE = re.compile(rf"^({_KIND}=[a-zA-Z0-9][a-zA-Z0-9._:-]*|/dev/[a-zA-Z0-9][a-zA-Z0-9/._-]*)$")


def cdi_kind(value) -> bool:
    return isinstance(value, str) and KIND.match(value) is not None


def job_device(value) -> bool:
    return isinstance(value, str) and JOB_DEVICE.match(value) is not None


class TestModule:
    def tests(self):
        return {"cdi_kind": cdi_kind, "job_device": job_device}
