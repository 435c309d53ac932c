"""DockerParams: defaults and volume validation."""

import pytest
from pydantic import ValidationError

from flows.docker.schema import DockerParams, PodmanParams


def test_defaults():
    job = DockerParams(image_name="img", command="python run.py")
    assert job.image_tag == "latest"
    assert job.volumes == [] and job.network == "" and job.env_vars == {} and job.params == {}


def test_defaults_are_not_shared_between_instances():
    first = DockerParams(image_name="img", command="true")
    first.params["x"] = 1
    assert DockerParams(image_name="img", command="true").params == {}


@pytest.mark.parametrize(
    "volume, message",
    [
        ("/data", "must look like HOST:CONTAINER"),
        (":/data", "empty host or container side"),
        ("/data:", "empty host or container side"),
        ("/a:/b:ro:extra", "must look like HOST:CONTAINER"),
        ("/a:/b:", "names no options"),
    ],
)
def test_rejects_malformed_volume(volume, message):
    with pytest.raises(ValidationError) as err:
        DockerParams(image_name="img", command="true", volumes=["/ok:/ok", volume])
    assert message in str(err.value)
    assert repr(volume) in str(err.value)


@pytest.mark.parametrize("volume", ["/a:/b", "/a:/b:ro", "named:/data", "/a:/b:ro,Z"])
def test_accepts_well_formed_volume(volume):
    assert DockerParams(image_name="img", command="true", volumes=[volume]).volumes == [volume]


def test_podman_params_is_the_same_model():
    assert PodmanParams is DockerParams
