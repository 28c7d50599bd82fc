#!/usr/bin/env bash
# A two-node Docker Swarm on this machine for crates/docker/tests/swarm_nodes.rs and
# tests/e2e/test_swarm_nodes.py: two Docker engines, each in a network namespace of its own
# (ltcs-m, ltcs-w) with its own data root, exec root and socket (/run/ltcs-m.sock,
# /run/ltcs-w.sock), joined by a veth pair 10.241.7.1/30 ↔ 10.241.7.2/30; the first is the
# manager, the second a worker. Each namespace also has a veth pair to the machine's own
# namespace, where 10.241.7.254 stands for the hub: the machine reaches the nodes at 10.241.7.1
# and 10.241.7.2, the nodes reach it at 10.241.7.254 (point-to-point routes, no bridge, so
# nothing is forwarded). The images named (default: the busybox test image) are copied into both
# engines. The machine's own engine is not touched. Needs root.
# Usage: scripts/swarm-nodes.sh up [image…] | stop-worker | start-worker | down
set -euo pipefail
HUB=10.241.7.254
log() { printf 'swarm-nodes: %s\n' "$*" >&2; }
engine() { nsenter --net="/run/netns/ltcs-$1" dockerd --data-root "/var/lib/ltcs-$1" --exec-root "/run/ltcs-$1" \
  -H "unix:///run/ltcs-$1.sock" --pidfile "/run/ltcs-$1.pid" --bridge=none --iptables=false --ip6tables=false \
  >>"/tmp/ltcs-$1.log" 2>&1 & }
wait_engine() {
  for _ in $(seq 150); do docker -H "unix:///run/ltcs-$1.sock" version >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "engine $1 did not come up (/tmp/ltcs-$1.log)"; exit 1
}
# link <node> <its address>: a veth pair from the machine's namespace to the node's.
link() {
  ip link add "ltcs-r$1" type veth peer name "ltcs-h$1" netns "ltcs-$1"
  ip addr add "$HUB/32" dev "ltcs-r$1"
  ip link set "ltcs-r$1" up
  ip route add "$2/32" dev "ltcs-r$1"
  ip -n "ltcs-$1" link set "ltcs-h$1" up
  ip -n "ltcs-$1" route add "$HUB/32" dev "ltcs-h$1"
}
case "${1:-}" in
  up)
    shift
    images=("$@")
    [ ${#images[@]} -gt 0 ] || images=(lticontainer-test/busybox:latest)
    for n in m w; do ip netns add "ltcs-$n"; mkdir -p "/var/lib/ltcs-$n" "/run/ltcs-$n"; done
    ip link add ltcs-vm type veth peer name ltcs-vw
    ip link set ltcs-vm netns ltcs-m
    ip link set ltcs-vw netns ltcs-w
    ip -n ltcs-m addr add 10.241.7.1/30 dev ltcs-vm
    ip -n ltcs-w addr add 10.241.7.2/30 dev ltcs-vw
    for n in m w; do ip -n "ltcs-$n" link set lo up; done
    ip -n ltcs-m link set ltcs-vm up
    ip -n ltcs-w link set ltcs-vw up
    link m 10.241.7.1
    link w 10.241.7.2
    # nsenter, not `ip netns exec`: that remounts /sys, and dockerd then finds no cgroups.
    for n in m w; do : >"/tmp/ltcs-$n.log"; engine "$n"; done
    for n in m w; do wait_engine "$n"; done
    docker -H unix:///run/ltcs-m.sock swarm init --advertise-addr 10.241.7.1 --default-addr-pool 10.242.0.0/16 >/dev/null
    docker -H unix:///run/ltcs-w.sock swarm join --token \
      "$(docker -H unix:///run/ltcs-m.sock swarm join-token -q worker)" 10.241.7.1:2377 >/dev/null
    tar=$(mktemp /tmp/ltcs-images.XXXXXX)
    docker save "${images[@]}" >"$tar"
    pids=()
    for n in m w; do docker -H "unix:///run/ltcs-$n.sock" load -q -i "$tar" >/dev/null & pids+=($!); done
    status=0
    for p in "${pids[@]}"; do wait "$p" || status=$?; done
    rm -f "$tar"
    [ "$status" = 0 ] || { log "loading ${images[*]} failed"; exit 1; }
    log "up: manager unix:///run/ltcs-m.sock, worker unix:///run/ltcs-w.sock, hub side $HUB" ;;
  stop-worker)
    kill "$(cat /run/ltcs-w.pid)"
    for _ in $(seq 150); do [ -e /run/ltcs-w.pid ] || break; sleep 0.2; done
    log "worker engine stopped" ;;
  start-worker)
    # The engine keeps its swarm membership in its data root: it rejoins as the worker it was.
    engine w; wait_engine w; log "worker engine started" ;;
  down)
    for n in w m; do
      if [ -f "/run/ltcs-$n.pid" ]; then kill "$(cat "/run/ltcs-$n.pid")" 2>/dev/null || true; fi
    done
    sleep 3
    for n in m w; do
      ip link del "ltcs-r$n" 2>/dev/null || true
      ip netns del "ltcs-$n" 2>/dev/null || true
      # The engines' own mounts (netns files, overlay layers) go before their directories.
      awk -v n="$n" '$2 ~ "^/(run|var/lib)/ltcs-" n "/" {print $2}' /proc/mounts | sort -r | xargs -r umount -l
      rm -rf "/var/lib/ltcs-$n" "/run/ltcs-$n" "/run/ltcs-$n.sock" "/run/ltcs-$n.pid"
    done
    log "down" ;;
  *) echo "usage: $0 up [image…] | stop-worker | start-worker | down" >&2; exit 2 ;;
esac
