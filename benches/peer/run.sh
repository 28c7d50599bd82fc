#!/usr/bin/env bash
# Issue 5's harness: lticontainer side by side with the stack it replaces — JupyterHub 5 +
# jupyterhub-ltiauthenticator + DockerSpawner + configurable-http-proxy — and with the floor (the same
# containers started straight on the engine), on the same Docker engine, image, limits and machine,
# alternating, in one run. Prints the Markdown section "Side by side with JupyterHub" for
# BENCHMARKS.md on stdout (progress on stderr). Needs root and Docker; sends traffic to 127.0.0.1 only.
#
# Installs, cached in $LTICONTAINER_CACHE_DIR (default /var/cache/lticontainer):
#   peer-venv/  PyPI: jupyterhub 5.x, jupyterhub-ltiauthenticator, dockerspawner, oauthlib (+ the e2e
#               client's requests and websocket-client)
#   peer-npm/   npm: configurable-http-proxy 5.x
# Builds: the Jupyter test image (scripts/build-jupyter-image.sh, cached), `lticontainer` and the load
# tools (release), and the upstream image lticontainer-bench/upstream (FROM the Jupyter image + the
# bench-upstream binary).
#
# Usage: benches/peer/run.sh [--systems ours,peer,floor] [--workloads single,class,proxy]
#                            [--students 10,30] [--repeats 3] [--connections 1,10,50] [--seconds 10]
#                            [--memory 1g]  (each server's memory limit, the same on every side)
# One student against the floor only, the cheap way to follow that ratio (the split of each launch is
# printed below the table): --systems ours,floor --workloads single --repeats 5
# Two runs on one engine at once need different LTICONTAINER_PEERBENCH_PREFIX values (default
# `peerbench-`): a run removes the leftover containers of its own prefix only.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/../.."
log() { printf 'peerbench: %s\n' "$*" >&2; }

cache=${LTICONTAINER_CACHE_DIR:-/var/cache/lticontainer}
venv="$cache/peer-venv"
npm_dir="$cache/peer-npm"
PY_SPECS=("jupyterhub==5.*" "jupyterhub-ltiauthenticator" "dockerspawner" "oauthlib" "requests" "websocket-client")
NPM_SPEC="configurable-http-proxy@5"
UPSTREAM_IMAGE=lticontainer-bench/upstream:latest
JUPYTER_IMAGE=${LTICONTAINER_JUPYTER_IMAGE:-lticontainer-test/jupyter:latest}

for tool in wrk node npm python3 docker cargo; do
  command -v "$tool" >/dev/null || { log "ERROR: $tool is not installed"; exit 1; }
done

py_stamp="$venv/.specs-$(printf '%s\n' "${PY_SPECS[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$py_stamp" ]; then
  log "installing the peer's Python packages into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${PY_SPECS[@]}"
  touch "$py_stamp"
fi
npm_stamp="$npm_dir/.spec-$(printf '%s' "$NPM_SPEC" | sha256sum | cut -c1-16)"
if [ ! -f "$npm_stamp" ]; then
  log "installing $NPM_SPEC into $npm_dir"
  rm -rf "$npm_dir"
  mkdir -p "$npm_dir"
  npm install --silent --no-audit --no-fund --prefix "$npm_dir" "$NPM_SPEC" >&2
  touch "$npm_stamp"
fi
chp="$npm_dir/node_modules/.bin/configurable-http-proxy"

scripts/setup-engines.sh docker
scripts/build-jupyter-image.sh docker

systems=ours,peer,floor
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = --systems ] && systems=${args[$((i + 1))]:-}
done
packages=(-p lticontainer-benches)
case ",$systems," in *,ours,*) packages+=(-p lticontainer) ;; esac
log "building ${packages[*]} (release)"
cargo build --release --locked "${packages[@]}" --bins >&2
# Absolute: the Python driver runs from another directory (a relative target dir was not found).
target=$(realpath "${CARGO_TARGET_DIR:-target}")/release
# LTICONTAINER_BIN, when set, names another hub binary to measure (e.g. an older commit's build).
export LTICONTAINER_BIN="${LTICONTAINER_BIN:-$target/lticontainer}"

# The upstream image: the Jupyter image (so no registry is needed) with bench-upstream as its command.
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
install -m 0755 "$target/bench-upstream" "$ctx/bench-upstream"
cat >"$ctx/Dockerfile" <<EOF
FROM $JUPYTER_IMAGE
COPY bench-upstream /usr/local/bin/bench-upstream
CMD ["/usr/local/bin/bench-upstream"]
EOF
DOCKER_BUILDKIT=0 docker build -q -t "$UPSTREAM_IMAGE" "$ctx" >/dev/null

"$venv/bin/python" benches/peer/bench.py --command "benches/peer/run.sh $*" \
  --venv "$venv" --chp "$chp" --ws-tool "$target/ws-echo-load" \
  --image "$JUPYTER_IMAGE" --upstream-image "$UPSTREAM_IMAGE" "$@"
