"""plugins/test/devices.py: which CDI kinds and job device names the roles take."""
import pytest

from conftest import load_plugin

t = load_plugin("plugins/test/devices.py")


@pytest.mark.parametrize("kind, ok", [
    ("nvidia.com/gpu", True),
    ("pwb.test/device", True),
    ("nvidia.com", False),
    ("nvidia.com/gpu=all", False),
    ("Nvidia.com/gpu", False),
    ("/dev/fuse", False),
    (None, False),
])
def test_cdi_kind(kind, ok):
    assert t.cdi_kind(kind) is ok


@pytest.mark.parametrize("device, ok", [
    ("nvidia.com/gpu=all", True),
    ("nvidia.com/gpu=0", True),
    ("nvidia.com/gpu=GPU-4a1c:0", True),
    ("/dev/fuse", True),
    ("/dev/dri/renderD128", True),
    ("nvidia.com/gpu", False),
    ("gpu", False),
    ("nvidia.com/gpu=all --privileged", False),
    ("/etc/shadow", False),
    ("/dev/", False),
])
def test_job_device(device, ok):
    assert t.job_device(device) is ok
