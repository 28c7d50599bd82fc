#!/usr/bin/env bash
# Builds `lticontainer-test/jupyter:latest`, a plain JupyterHub single-user image like docker-stacks'
# (user jovyan uid 1000 gid 100, ENTRYPOINT tini -g --, CMD jupyterhub-singleuser), without any image
# registry: debootstrap a Debian rootfs from the mirror apt uses, pip-install jupyterhub 5 + jupyterlab
# into /opt/jupyter from PyPI, then `docker import` / `podman import` it into each engine that lacks it.
# The rootfs tarball is cached in $LTICONTAINER_CACHE_DIR (default /var/cache/lticontainer), keyed by a
# hash of the package lists below, so a rebuild after `docker rmi` takes seconds. Needs root.
# Usage: scripts/build-jupyter-image.sh [docker] [podman]   (default: both)
set -euo pipefail
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(docker podman)
IMAGE=${LTICONTAINER_JUPYTER_IMAGE:-lticontainer-test/jupyter:latest}
cache=${LTICONTAINER_CACHE_DIR:-/var/cache/lticontainer}
SUITE=bookworm
DEBS=(python3 python3-venv ca-certificates util-linux passwd sudo tini procps bash)
PIP_SPECS=("jupyterhub==5.*" "jupyterlab==4.*")
log() { printf 'jupyter-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, image import)"
for e in "${engines[@]}"; do
  case "$e" in docker | podman) ;; *) die "unknown engine '$e' (docker or podman)" ;; esac
  "$e" version >/dev/null 2>&1 || die "$e does not answer (run scripts/setup-engines.sh $e first)"
done

missing=()
for e in "${engines[@]}"; do
  if "$e" image inspect "$IMAGE" >/dev/null 2>&1; then log "$e already has $IMAGE"; else missing+=("$e"); fi
done
[ ${#missing[@]} -gt 0 ] || exit 0

# The Debian mirror apt uses on this machine (deb822 `URIs:` or one-line `deb` format).
debian_mirror() {
  local m
  m=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  [ -n "$m" ] || m=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -E '/debian/?$' |
    head -n1 || true)
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

key=$(printf '%s\n' "$SUITE" "${DEBS[@]}" "${PIP_SPECS[@]}" "$(uname -m)" | sha256sum | cut -c1-16)
tarball="$cache/jupyter-rootfs-$key.tar.zst"

build_tarball() {
  for tool in debootstrap zstd; do
    command -v "$tool" >/dev/null || {
      log "installing $tool"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$tool" >/dev/null
    }
  done
  mkdir -p "$cache"
  local root mirror started
  started=$(date +%s)
  root=$(mktemp -d "$cache/jupyter-rootfs.XXXXXX")
  # Unmount anything left mounted and remove the half-built root on any exit.
  trap 'for m in proc dev/pts dev; do umount -l "'"$root"'/$m" 2>/dev/null || true; done; rm -rf "'"$root"'"' EXIT
  mirror=$(debian_mirror)
  log "debootstrap $SUITE from $mirror into $root"
  local include
  include=$(
    IFS=,
    echo "${DEBS[*]}"
  )
  debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
    {
      tail -n 30 "$root.debootstrap.log" >&2
      die "debootstrap failed (log above)"
    }
  rm -f "$root.debootstrap.log"

  # pip in the chroot reaches PyPI with the host's resolver and CA bundle (the host may trust an
  # egress proxy's CA that the image must not keep); both are removed again below.
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/tmp/host-ca.crt"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  log "pip install ${PIP_SPECS[*]} into /opt/jupyter"
  # shellcheck disable=SC2016 # the script runs inside the chroot and expands "$@" there
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root PIP_CERT=/tmp/host-ca.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 /bin/sh -ec '
      python3 -m venv /opt/jupyter
      /opt/jupyter/bin/pip install -q "$@"
      for b in jupyterhub-singleuser jupyter jupyter-lab jupyter-server; do
        ln -sf /opt/jupyter/bin/$b /usr/local/bin/$b
      done
      /opt/jupyter/bin/jupyterhub-singleuser --version >/dev/null
      groupadd -f -g 100 users
      useradd -m -s /bin/bash -u 1000 -g 100 -N jovyan
      chown -R 1000:100 /home/jovyan
    ' sh "${PIP_SPECS[@]}" || die "installing Jupyter into the rootfs failed (output above)"
  umount "$root/dev" "$root/proc"
  rm -f "$root/tmp/host-ca.crt"
  : >"$root/etc/resolv.conf"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/root/.cache
  tar --numeric-owner -C "$root" -cf - . | zstd -q -T0 -o "$tarball.tmp" || die "packing the rootfs failed"
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  trap - EXIT
  log "built $tarball ($(du -h "$tarball" | cut -f1)) in $(($(date +%s) - started))s"
}

[ -s "$tarball" ] || build_tarball
for e in "${missing[@]}"; do
  log "importing $IMAGE into $e"
  out=$(zstd -dc "$tarball" | "$e" import \
    --change 'ENV PATH=/opt/jupyter/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SHELL=/bin/bash' --change 'ENV NB_USER=jovyan' --change 'ENV NB_UID=1000' \
    --change 'ENV NB_GID=100' --change 'ENV HOME=/home/jovyan' --change 'ENV LANG=C.UTF-8' \
    --change 'USER 1000' --change 'WORKDIR /home/jovyan' \
    --change 'ENTRYPOINT ["tini", "-g", "--"]' --change 'CMD ["jupyterhub-singleuser"]' \
    - "$IMAGE" 2>&1) || die "$e import of $IMAGE failed: $out"
  "$e" run --rm --network host "$IMAGE" jupyterhub-singleuser --version >/dev/null ||
    die "$IMAGE does not run jupyterhub-singleuser on $e"
done
log "ready: $IMAGE in ${missing[*]}"
