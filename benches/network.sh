#!/usr/bin/env bash
# Issue 12's figures: what isolated networking (the default) costs against host networking —
# launch-to-ready and proxy throughput/latency, side by side, on each engine. Builds the release
# binaries and the test image (cached), the upstream image lticontainer-bench/upstream (the Jupyter
# image + bench-upstream) on each engine, then runs benches/network_bench.py, which prints a Markdown
# section for BENCHMARKS.md ("Networking: the cost of isolation"). Needs root, Docker and/or Podman.
# Sends load to 127.0.0.1 only (the hubs); every run is bounded in count and time.
# Usage: benches/network.sh [--engines docker,podman] [--launches 5] [--connections 1,10] [--seconds 5]
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/.."
engines=docker,podman
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = --engines ] && engines=${args[$((i + 1))]}
done
IFS=, read -r -a engine_list <<<"$engines"
scripts/setup-engines.sh "${engine_list[@]}"
scripts/build-jupyter-image.sh "${engine_list[@]}"
cargo build --release --locked -p lticontainer -p lticontainer-benches --bins >&2
# Absolute: the Python driver runs from another directory (a relative target dir was not found).
target=$(realpath "${CARGO_TARGET_DIR:-target}")/release
export LTICONTAINER_BIN="$target/lticontainer"

upstream=lticontainer-bench/upstream:latest
jupyter=${LTICONTAINER_JUPYTER_IMAGE:-lticontainer-test/jupyter:latest}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
install -m 0755 "$target/bench-upstream" "$ctx/bench-upstream"
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $jupyter
COPY bench-upstream /usr/local/bin/bench-upstream
CMD ["/usr/local/bin/bench-upstream"]
DOCKERFILE
for e in "${engine_list[@]}"; do
  case "$e" in
    docker) DOCKER_BUILDKIT=0 docker build -q -t "$upstream" "$ctx" >/dev/null ;;
    podman) podman build -q -t "$upstream" "$ctx" >/dev/null ;;
    *) echo "network.sh: unknown engine $e" >&2; exit 2 ;;
  esac
done

venv=$(tests/e2e/run --print-venv)
exec "$venv/bin/python" benches/network_bench.py --command "benches/network.sh${*:+ $*}" \
  --http-tool "$target/http-get-load" --ws-tool "$target/ws-echo-load" --upstream-image "$upstream" "$@"
