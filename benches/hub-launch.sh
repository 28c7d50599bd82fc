#!/usr/bin/env bash
# Issue 6's figures, from one command and one run: launch-to-JupyterLab-ready for 1 student and for a
# class launching at the same moment, and the hub's resident memory with the class's servers running.
# Builds the release binary and the test image (cached), then runs benches/hub_launch.py, which prints
# a Markdown section for BENCHMARKS.md ("Hub: launch to ready"). Needs root, Docker and/or Podman.
# (--engines swarm: the hub on a single-node Swarm, beside plain docker for the cost of the orchestrator)
# Usage: benches/hub-launch.sh [--engines docker,podman] [--students 10] [--repeats 3]
#                              [--network isolated|host]   (the hub's networking; default isolated)
set -euo pipefail
cd "$(dirname "$0")/.."
engines=docker,podman
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = --engines ] && engines=${args[$((i + 1))]}
done
IFS=, read -r -a engine_list <<<"$engines"
scripts/setup-engines.sh "${engine_list[@]}"
# A Swarm runs its services on the node's dockerd: the image goes to docker.
image_engines=()
for e in "${engine_list[@]}"; do
  [ "$e" = swarm ] && e=docker
  [[ " ${image_engines[*]} " == *" $e "* ]] || image_engines+=("$e")
done
scripts/build-jupyter-image.sh "${image_engines[@]}"
cargo build --release --locked -p lticontainer >&2
target=$(realpath "${CARGO_TARGET_DIR:-target}")
export LTICONTAINER_BIN="$target/release/lticontainer"
venv=$(tests/e2e/run --print-venv)
exec "$venv/bin/python" benches/hub_launch.py --command "benches/hub-launch.sh${*:+ $*}" "$@"
