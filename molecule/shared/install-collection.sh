#!/usr/bin/env bash
# Build this checkout as the collection mlexchange.podman_worker and install the
# tarball into an empty collections path (DEST), as a facility does: no Galaxy
# (--offline); the dependencies come from the "ansible" package (--no-deps).
set -euo pipefail
dest=${1:?usage: install-collection.sh DEST}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
ansible-galaxy collection build --output-path "$build" "$root" >/dev/null
rm -rf "$dest"
mkdir -p "$dest"
# Only DEST counts: a checkout's ansible.cfg links the collection already.
ANSIBLE_COLLECTIONS_PATH=$dest ansible-galaxy collection install --offline --no-deps -p "$dest" "$build"/*.tar.gz
