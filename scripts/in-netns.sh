#!/usr/bin/env bash
# Runs a command in a private network namespace: loopback plus one veth pair (10.77.0.1/2)
# with a default route, so Chromium gathers WebRTC host candidates (it gathers none on
# loopback alone) while no packet can leave this machine. Falls back to the host network
# only if namespaces are not permitted here.
set -euo pipefail
if [[ "${LIGHTCAFE_IN_NETNS:-}" == 1 ]]; then exec "$@"; fi
if unshare -n true 2>/dev/null; then
  exec unshare -n bash -c '
    set -e
    ip link set lo up
    ip link add lc0 type veth peer name lc1
    ip addr add 10.77.0.1/24 dev lc0
    ip addr add 10.77.0.2/24 dev lc1
    ip link set lc0 up
    ip link set lc1 up
    ip route add default dev lc0
    export LIGHTCAFE_IN_NETNS=1
    exec "$@"' bash "$@"
fi
echo "in-netns: network namespaces are not permitted here; running on the host network" >&2
exec "$@"
