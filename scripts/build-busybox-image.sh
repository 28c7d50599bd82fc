#!/usr/bin/env bash
# Builds the small test image `lticontainer-test/busybox:latest` offline from Debian's busybox-static
# and imports it into each running engine that lacks it. Fast when the image already exists.
# Usage: scripts/build-busybox-image.sh [docker] [podman]   (default: both)
set -euo pipefail
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(docker podman)
IMAGE=${LTICONTAINER_BUSYBOX_IMAGE:-lticontainer-test/busybox:latest}
cache=${LTICONTAINER_CACHE_DIR:-/var/cache/lticontainer}
log() { printf 'busybox-image: %s\n' "$*" >&2; }

tarball="$cache/busybox-rootfs.tar"
build_tarball() {
  [ -s "$tarball" ] && return 0
  dpkg -s busybox-static >/dev/null 2>&1 || {
    log "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
  }
  mkdir -p "$cache"
  local root; root=$(mktemp -d)
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,proc,sys,dev,run,var/tmp}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # One link per applet, so `sh`, `sleep`, `id`, `cat`, `httpd`, `nc`… exist.
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  log "built $tarball"
}

for e in "${engines[@]}"; do
  if "$e" image inspect "$IMAGE" >/dev/null 2>&1; then log "$e already has $IMAGE"; continue; fi
  build_tarball
  log "importing $IMAGE into $e"
  "$e" import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' "$tarball" "$IMAGE" >/dev/null
done
