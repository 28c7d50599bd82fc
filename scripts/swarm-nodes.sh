#!/usr/bin/env bash
# A two-node Docker Swarm on this machine for crates/docker/tests/swarm_nodes.rs: two Docker
# engines, each in a network namespace of its own (ltcs-m, ltcs-w) with its own data root, exec
# root and socket (/run/ltcs-m.sock, /run/ltcs-w.sock), joined by a veth pair 10.241.7.1/30 ↔
# 10.241.7.2/30; the first is the manager, the second a worker; the busybox test image is
# copied into both. The machine's own engine is not touched. Needs root.
# Usage: scripts/swarm-nodes.sh up | stop-worker | down
set -euo pipefail
log() { printf 'swarm-nodes: %s\n' "$*" >&2; }
engine() { nsenter --net="/run/netns/ltcs-$1" dockerd --data-root "/var/lib/ltcs-$1" --exec-root "/run/ltcs-$1" \
  -H "unix:///run/ltcs-$1.sock" --pidfile "/run/ltcs-$1.pid" --bridge=none --iptables=false --ip6tables=false \
  >"/tmp/ltcs-$1.log" 2>&1 & }
wait_engine() {
  for _ in $(seq 150); do docker -H "unix:///run/ltcs-$1.sock" version >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "engine $1 did not come up (/tmp/ltcs-$1.log)"; exit 1
}
case "${1:-}" in
  up)
    for n in m w; do ip netns add "ltcs-$n"; mkdir -p "/var/lib/ltcs-$n" "/run/ltcs-$n"; done
    ip link add ltcs-vm type veth peer name ltcs-vw
    ip link set ltcs-vm netns ltcs-m
    ip link set ltcs-vw netns ltcs-w
    ip -n ltcs-m addr add 10.241.7.1/30 dev ltcs-vm
    ip -n ltcs-w addr add 10.241.7.2/30 dev ltcs-vw
    for n in m w; do ip -n "ltcs-$n" link set lo up; done
    ip -n ltcs-m link set ltcs-vm up
    ip -n ltcs-w link set ltcs-vw up
    # nsenter, not `ip netns exec`: that remounts /sys, and dockerd then finds no cgroups.
    for n in m w; do engine "$n"; done
    for n in m w; do wait_engine "$n"; done
    docker -H unix:///run/ltcs-m.sock swarm init --advertise-addr 10.241.7.1 --default-addr-pool 10.242.0.0/16 >/dev/null
    docker -H unix:///run/ltcs-w.sock swarm join --token \
      "$(docker -H unix:///run/ltcs-m.sock swarm join-token -q worker)" 10.241.7.1:2377 >/dev/null
    for n in m w; do docker save lticontainer-test/busybox:latest | docker -H "unix:///run/ltcs-$n.sock" load >/dev/null; done
    log "up: manager unix:///run/ltcs-m.sock, worker unix:///run/ltcs-w.sock" ;;
  stop-worker)
    kill "$(cat /run/ltcs-w.pid)"; log "worker engine stopped" ;;
  down)
    for n in w m; do
      if [ -f "/run/ltcs-$n.pid" ]; then kill "$(cat "/run/ltcs-$n.pid")" 2>/dev/null || true; fi
    done
    sleep 3
    for n in m w; do
      ip netns del "ltcs-$n" 2>/dev/null || true
      # The engines' own mounts (netns files, overlay layers) go before their directories.
      awk -v n="$n" '$2 ~ "^/(run|var/lib)/ltcs-" n "/" {print $2}' /proc/mounts | sort -r | xargs -r umount -l
      rm -rf "/var/lib/ltcs-$n" "/run/ltcs-$n" "/run/ltcs-$n.sock" "/run/ltcs-$n.pid"
    done
    log "down" ;;
  *) echo "usage: $0 up | stop-worker | down" >&2; exit 2 ;;
esac
