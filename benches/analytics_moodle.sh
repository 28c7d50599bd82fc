#!/usr/bin/env bash
# Issue 13's delivery lag against the real Moodle (the Moodle tier, scripts/setup-moodle.sh, must
# be up): a class of N students with real Jupyter servers runs cells through the hub's proxy; the
# lag from each execute_reply to its row in mod_lticontainer's table (read through
# tests/e2e/moodle.py's db_rows), p50/p99,
# and the records per second Moodle stored. Reads the activity's analytics parameters from
# Moodle's database and changes nothing in Moodle's configuration. Prints a Markdown section.
# Needs root, the engine with the test image, and the Moodle tier's MariaDB database.
# Usage: benches/analytics_moodle.sh [--engine docker|podman] [--class-size 30] [--seconds 20]
# The binary: $LTICONTAINER_BIN, else the release build (built here).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/.."
if [ -z "${LTICONTAINER_BIN:-}" ]; then
  cargo build --release --locked -p lticontainer >&2
  target=$(realpath "${CARGO_TARGET_DIR:-target}")
  export LTICONTAINER_BIN="$target/release/lticontainer"
fi
scripts/setup-moodle.sh status >&2
venv=$(tests/e2e/run --print-venv)
exec "$venv/bin/python" benches/analytics_moodle_bench.py --command "benches/analytics_moodle.sh${*:+ $*}" "$@"
