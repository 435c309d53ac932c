#!/usr/bin/env bash
# Build the Molecule platform images locally: no container registry is needed.
#
#   localhost/pwb-base:<distro>     minimal Debian root filesystem
#   localhost/pwb-systemd:<distro>  + systemd and python3: what Molecule converges
#
# distro: debian12 (bookworm), debian13 (trixie). Images that exist are skipped
# (TESTBED_REBUILD=1 forces). TESTBED_BASE=auto|pull|debootstrap picks where the
# base comes from; auto tries a registry pull first and falls back to debootstrap.
# Host podman is configured only where its plain defaults fail (see fix_host_podman).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
distros=("${@:-debian12}")
base_mode=${TESTBED_BASE:-auto}
rebuild=${TESTBED_REBUILD:-0}

log() { printf 'testbed: %s\n' "$*" >&2; }

suite_of() {
  case "$1" in
    debian12) echo bookworm ;;
    debian13) echo trixie ;;
    *) log "unknown distro '$1' (expected debian12 or debian13)"; exit 2 ;;
  esac
}

image_exists() { podman image exists "$1"; }

# The Debian mirror this machine already uses, so no mirror name is baked in here.
apt_mirror() {
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')
  if [ -z "$uri" ]; then
    uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')
  fi
  [ -n "$uri" ] || { log "no Debian mirror found in /etc/apt sources; set TESTBED_MIRROR"; exit 2; }
  echo "${TESTBED_MIRROR:-$uri}"
}

ensure_host_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman runc crun uidmap slirp4netns fuse-overlayfs)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

build_base() {
  local distro=$1 suite tag=localhost/pwb-base:$1 rootfs
  suite=$(suite_of "$distro")
  if image_exists "$tag" && [ "$rebuild" != 1 ]; then log "$tag exists"; return; fi
  if [ "$base_mode" != debootstrap ]; then
    if podman pull -q "docker.io/library/debian:$suite" >/dev/null 2>&1; then
      podman tag "docker.io/library/debian:$suite" "$tag"
      log "$tag from registry"; return
    fi
    [ "$base_mode" = pull ] && { log "pull of debian:$suite failed and TESTBED_BASE=pull"; exit 1; }
  fi
  rootfs=$(mktemp -d)
  log "debootstrap $suite (minbase)"
  debootstrap --variant=minbase "$suite" "$rootfs" "$(apt_mirror)" >/dev/null
  tar -C "$rootfs" -c . | podman import -q - "$tag" >/dev/null
  rm -rf "$rootfs"
  log "$tag imported"
}

# docs/testbed.md: on cgroup-v1-hybrid hosts crun refuses and the default rlimits are
# refused. Probe first; write a drop-in only when the plain defaults fail.
fix_host_podman() {
  local probe=localhost/pwb-base:${distros[0]} conf=/etc/containers/containers.conf.d/50-pwb-testbed.conf
  if podman run --rm "$probe" true >/dev/null 2>&1; then return; fi
  log "podman run fails with defaults; writing $conf (runtime runc, ulimits 4096)"
  command -v runc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc >/dev/null
  mkdir -p "$(dirname "$conf")"
  cat >"$conf" <<'CONF'
# Written by molecule/testbed/build-images.sh: this host's podman defaults failed.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
  podman run --rm "$probe" true || { log "podman run still fails after configuring"; exit 1; }
}

# Rebuilt when the Containerfile or the base image changes (a digest label), so a
# machine that kept older images does not test against a stale host.
build_systemd() {
  local distro=$1 tag=localhost/pwb-systemd:$1 digest have
  digest=$( { cat "$here/Containerfile.systemd"; podman image inspect --format '{{.Id}}' "localhost/pwb-base:$distro"; } | sha256sum | cut -c1-16)
  have=$(podman image inspect --format '{{ index .Labels "pwb.testbed.digest" }}' "$tag" 2>/dev/null || true)
  if [ "$have" = "$digest" ] && [ "$rebuild" != 1 ]; then log "$tag is current"; return; fi
  log "building $tag"
  podman build -q --network host --build-arg "BASE=localhost/pwb-base:$distro" \
    --label "pwb.testbed.digest=$digest" \
    -t "$tag" -f "$here/Containerfile.systemd" "$here" >/dev/null
  log "$tag built"
}

ensure_host_tools
for d in "${distros[@]}"; do suite_of "$d" >/dev/null; build_base "$d"; done
fix_host_podman
for d in "${distros[@]}"; do build_systemd "$d"; done
