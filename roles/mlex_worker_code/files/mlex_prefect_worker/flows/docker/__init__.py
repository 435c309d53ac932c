"""Container job launched with the docker CLI (or a docker shim that reaches podman)."""
