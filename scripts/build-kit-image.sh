#!/usr/bin/env bash
# Builds `lticontainer-test/jupyter-kit:latest`: the offline Jupyter test image
# (scripts/build-jupyter-image.sh) plus images/start.sh and the statically linked
# lticontainer-tools binary, with `docker build` / `podman build` (offline: the base is local).
# Skipped for an engine whose image already carries the same inputs (label lticontainer.kit.inputs:
# a hash of start.sh, Dockerfile.test, the binary and the base image id).
# Usage: scripts/build-kit-image.sh [docker] [podman]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(docker podman)
IMAGE=${LTICONTAINER_KIT_IMAGE:-lticontainer-test/jupyter-kit:latest}
BASE=${LTICONTAINER_JUPYTER_IMAGE:-lticontainer-test/jupyter:latest}
log() { printf 'kit-image: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# The tools, statically linked (musl when its target is installed, else static glibc).
target=x86_64-unknown-linux-gnu
flags="-C target-feature=+crt-static"
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  target=x86_64-unknown-linux-musl
  flags=""
fi
log "building lticontainer-tools for $target (static)"
RUSTFLAGS="${RUSTFLAGS:-} $flags" cargo build --quiet --release --locked -p lticontainer-tools --target "$target"
bin="${CARGO_TARGET_DIR:-target}/$target/release/lticontainer-tools"
[ -x "$bin" ] || die "no binary at $bin"
# ldd (libc-bin, in every Debian) says so for static and static-pie executables.
ldd "$bin" 2>&1 | grep -Eq 'statically linked|not a dynamic executable' ||
  die "$bin is not statically linked: $(ldd "$bin" 2>&1 | head -n 3)"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp images/start.sh images/Dockerfile.test "$ctx/"
cp "$bin" "$ctx/lticontainer-tools"

for e in "${engines[@]}"; do
  case "$e" in docker | podman) ;; *) die "unknown engine '$e' (docker or podman)" ;; esac
  base_id=$("$e" image inspect --format '{{.Id}}' "$BASE" 2>/dev/null) ||
    die "$e has no $BASE (run scripts/build-jupyter-image.sh $e first)"
  inputs=$(cd "$ctx" && sha256sum start.sh Dockerfile.test lticontainer-tools | sha256sum | cut -c1-16)
  inputs="$inputs-${base_id#sha256:}"
  inputs=${inputs:0:40}
  have=$("$e" image inspect --format '{{index .Config.Labels "lticontainer.kit.inputs"}}' "$IMAGE" 2>/dev/null || true)
  if [ "$have" = "$inputs" ]; then
    log "$e already has $IMAGE up to date"
    continue
  fi
  log "building $IMAGE with $e"
  pull=(--pull=false)
  [ "$e" = podman ] && pull=(--pull=never)
  "$e" build --quiet "${pull[@]}" --network host --build-arg "BASE=$BASE" \
    --label "lticontainer.kit.inputs=$inputs" -f "$ctx/Dockerfile.test" -t "$IMAGE" "$ctx" >/dev/null ||
    die "$e build of $IMAGE failed"
  "$e" run --rm --network host --entrypoint /usr/local/bin/lticontainer-tools "$IMAGE" --version >/dev/null ||
    die "$IMAGE does not run lticontainer-tools on $e"
  log "ready: $IMAGE in $e"
done
