"""Parameters of one container job, shared by the docker and the podman flows."""

from pydantic import BaseModel, Field, field_validator


def split_volume(spec: str) -> tuple[str, str, str]:
    """Split "HOST:CONTAINER[:OPTIONS]" into (host, container, options).

    `options` is "" when absent. Raises ValueError with a readable message when the
    spec has no ':' or an empty host or container side.
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"volume {spec!r} must look like HOST:CONTAINER or HOST:CONTAINER:OPTIONS")
    host, container = parts[0], parts[1]
    options = parts[2] if len(parts) == 3 else ""
    if not host or not container:
        raise ValueError(f"volume {spec!r} has an empty host or container side")
    if len(parts) == 3 and not options:
        raise ValueError(f"volume {spec!r} ends with ':' but names no options")
    return host, container, options


class DockerParams(BaseModel):
    """What to run: image, command, mounts, network, environment and job params.

    `params` is written to a YAML file that the container receives as its last
    argument (see flows/container_job.py).
    """

    image_name: str
    image_tag: str = "latest"
    command: str
    volumes: list[str] = Field(default_factory=list)
    network: str = ""
    env_vars: dict[str, str] = Field(default_factory=dict)
    params: dict = Field(default_factory=dict)

    @field_validator("volumes")
    @classmethod
    def _volumes_have_two_sides(cls, volumes: list[str]) -> list[str]:
        for spec in volumes:
            split_volume(spec)
        return volumes


# The process-based podman flow takes the same parameters.
PodmanParams = DockerParams
