"""Container job launched with the podman CLI on the host (process worker)."""
