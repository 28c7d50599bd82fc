#!/usr/bin/env bash
# Issue 15's launch storm, from one command and one run: a class whose servers already run launches
# again, 300 signed launches within one second; prints a Markdown section for BENCHMARKS.md ("A launch
# storm"). Builds the release binary, the launch-storm tool and the test image (cached), then runs
# benches/launch_storm.py. Needs root and Docker and/or Podman; sends traffic to 127.0.0.1 only.
# Usage: benches/launch-storm.sh [--engines docker,podman] [--students 20] [--launches 300]
#                                [--spread-ms 1000]
set -euo pipefail
cd "$(dirname "$0")/.."
engines=docker
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = --engines ] && engines=${args[$((i + 1))]}
done
IFS=, read -r -a engine_list <<<"$engines"
scripts/setup-engines.sh "${engine_list[@]}"
scripts/build-jupyter-image.sh "${engine_list[@]}"
cargo build --release --locked -p lticontainer -p lticontainer-benches --bins >&2
target=$(realpath "${CARGO_TARGET_DIR:-target}")
export LTICONTAINER_BIN="$target/release/lticontainer"
venv=$(tests/e2e/run --print-venv)
exec "$venv/bin/python" benches/launch_storm.py --tool "$target/release/launch-storm" \
  --command "benches/launch-storm.sh${*:+ $*}" "$@"
