#!/usr/bin/env bash
# Creates or deletes one test network namespace joined to the host by a veth pair (iproute2).
# Used by test/env/netns.ts, which picks unique names and addresses from 10.213.0.0/24; this
# script touches only the names and addresses it is given.
#
#   netns.sh create <netns> <host-if> <ns-if> <host-cidr> <ns-cidr> [<extra-ns-cidr>...]
#   netns.sh delete <netns> <host-if>
#
# create: the namespace, the pair (host end on the host, namespace end inside), the host
# address on the host end, the namespace address and the extra ones (one per replica) on the
# namespace end, loopback up. A failure part-way removes what was created. delete is idempotent.
set -euo pipefail

delete() { # <netns> <host-if>
  # Deleting one end of a veth pair deletes both; the namespace goes when its last process does.
  ip link del "$2" 2>/dev/null || true
  ip netns del "$1" 2>/dev/null || true
}

case "${1:-}" in
  create)
    [[ $# -ge 6 ]] || { echo "usage: $0 create <netns> <host-if> <ns-if> <host-cidr> <ns-cidr> [cidr...]" >&2; exit 2; }
    ns=$2 host_if=$3 ns_if=$4 host_cidr=$5 ns_cidr=$6
    shift 6
    trap 'delete "$ns" "$host_if"' ERR
    ip netns add "$ns"
    ip link add "$host_if" type veth peer name "$ns_if" netns "$ns"
    ip addr add "$host_cidr" dev "$host_if"
    ip link set "$host_if" up
    {
      echo "link set lo up"
      echo "address add $ns_cidr dev $ns_if"
      for cidr in "$@"; do echo "address add $cidr dev $ns_if"; done
      echo "link set $ns_if up"
    } | ip -n "$ns" -batch -
    ;;
  delete)
    [[ $# -eq 3 ]] || { echo "usage: $0 delete <netns> <host-if>" >&2; exit 2; }
    delete "$2" "$3"
    ;;
  *)
    echo "usage: $0 create|delete ..." >&2
    exit 2
    ;;
esac
