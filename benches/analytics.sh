#!/usr/bin/env bash
# Issue 13's figures, from one command and one run: the proxy's capture cost (capture on vs off,
# side by side on one hub), the delivery's lag and rate for a class, and the drain rate after an
# outage, against a loopback Moodle endpoint with the plugin's behaviour. Builds the release
# binary; prints a Markdown section. Needs root and the engine with the test image.
# Usage: benches/analytics.sh [--engine docker|podman] [--class-size 10] [--rounds 6] [--cells 100] [--seconds 20]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p lticontainer >&2
target=$(realpath "${CARGO_TARGET_DIR:-target}")
export LTICONTAINER_BIN="$target/release/lticontainer"
venv=$(tests/e2e/run --print-venv)
exec "$venv/bin/python" benches/analytics_bench.py --command "benches/analytics.sh${*:+ $*}" "$@"
