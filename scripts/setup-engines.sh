#!/usr/bin/env bash
# Installs (from Debian packages) and starts the container engines lticontainer runs on:
#   dockerd  with --bridge=none --iptables=false  (no default bridge, no iptables rules; user-defined
#            bridge networks, which the hub creates per server, work; socket /var/run/docker.sock)
#   podman   with runc, explicit ulimits, and its API socket unix:///run/podman/podman.sock (CNI bridge
#            networks, which the hub creates per server, need nothing more: containernetworking-plugins
#            comes with podman, iptables with it)
# The hub's isolated networking needs net.ipv4.ip_forward as the engines leave it and root to turn
# forwarding off per bridge; nothing else is set up for it here.
# Idempotent: an engine that already answers is left alone. Needs root.
#   swarm    dockerd as above, made a single-node Docker Swarm manager (advertised on 127.0.0.1; the
#            swarm's own networks from 10.240.0.0/16, clear of the hub's pools 10.213-10.220); an
#            engine already in a swarm as a manager is left as it is. Plain containers keep working.
# Usage: scripts/setup-engines.sh [docker] [podman] [swarm]   (default: docker podman)
set -euo pipefail

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(docker podman)
log() { printf 'setup-engines: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

state_dir=${LTICONTAINER_STATE_DIR:-/var/lib/lticontainer-test}
mkdir -p "$state_dir"

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ ! -f "$state_dir/apt-updated" ]; then
    apt-get update -qq && touch "$state_dir/apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what did not come up within ${secs}s"
}

start_docker() {
  apt_install docker.io
  if docker version >/dev/null 2>&1; then log "dockerd already answers"; return; fi
  log "starting dockerd (bridge=none, iptables=false; log $state_dir/dockerd.log)"
  # containerd comes with docker.io; dockerd starts its own when none is running.
  # Started in its state directory, not the caller's: files an engine drops in its working
  # directory (Podman's conmon leaves an `oom` file after an OOM kill) stay out of the checkout.
  (cd "$state_dir" && exec nohup dockerd --bridge=none --iptables=false --ip6tables=false \
    --host=unix:///var/run/docker.sock) >"$state_dir/dockerd.log" 2>&1 &
  wait_for 60 "dockerd (see $state_dir/dockerd.log)" docker version
}

start_podman() {
  apt_install podman runc uidmap
  mkdir -p /etc/containers
  local conf=/etc/containers/containers.conf
  if ! grep -q 'events_logfile_max_size' "$conf" 2>/dev/null; then
    log "writing $conf (runtime runc, ulimits under the hard limits, host networking)"
    cat >"$conf" <<'CONF'
# written by lticontainer scripts/setup-engines.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
# Rotating the events file (1m by default) ends every open event stream; the hub subscribes
# again, but a test's stream must not end under it.
events_logfile_max_size = "256m"
CONF
  fi
  if curl -sf --unix-socket /run/podman/podman.sock http://d/_ping >/dev/null 2>&1; then
    log "podman service already answers"; return
  fi
  mkdir -p /run/podman
  log "starting podman system service (log $state_dir/podman.log)"
  (cd "$state_dir" && exec nohup podman system service --time=0 unix:///run/podman/podman.sock) \
    >"$state_dir/podman.log" 2>&1 &
  wait_for 60 "podman service (see $state_dir/podman.log)" \
    curl -sf --unix-socket /run/podman/podman.sock http://d/_ping
}

start_swarm() {
  start_docker
  local state
  state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')
  case "$state" in
    "active true") log "dockerd is a Swarm manager already" ;;
    inactive*)
      log "making dockerd a single-node Swarm manager (advertised on 127.0.0.1)"
      docker swarm init --advertise-addr 127.0.0.1 \
        --default-addr-pool 10.240.0.0/16 --default-addr-pool-mask-length 24 >/dev/null ;;
    *) die "dockerd is in a swarm but not a manager ($state): the swarm tests need a manager" ;;
  esac
}

apt_install curl ca-certificates
for e in "${engines[@]}"; do
  case "$e" in
    docker) start_docker ;;
    podman) start_podman ;;
    swarm) start_swarm ;;
    *) die "unknown engine '$e' (docker, podman or swarm)" ;;
  esac
done
log "ready: ${engines[*]}"
