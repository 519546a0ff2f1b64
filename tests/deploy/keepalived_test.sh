#!/usr/bin/env bash
# deploy/keepalived/ with the real keepalived, fulcrum and nginx:
#  1. `keepalived --config-test` accepts both files;
#  2. the pair behaves as the files' comments say: a node whose fulcrum turns unhealthy hands
#     over to its peer, and after a partition of the private network heals, the primary
#     re-asserts (notify_master_rx_lower_pri).
# Each node lives in its own network namespace with an eth1 on a bridge that a third namespace
# holds; the reserved-IP commands are replaced by a recorder, since there is no DigitalOcean
# API here. Usage: keepalived_test.sh FULCRUM_BINARY SOURCE_DIR (as root: namespaces).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || fail "run as root"
command -v keepalived >/dev/null || fail "keepalived missing: scripts/setup installs it"

prefix=fk$$
net_a=$prefix-a
net_b=$prefix-b
net_x=$prefix-x
for ns in "$net_a" "$net_b" "$net_x"; do
    ip netns add "$ns"
    on_exit "ip netns del $ns"
done
ip -n "$net_x" link add br0 type bridge
ip -n "$net_x" link set br0 up
for node in a b; do
    ns=$prefix-$node
    ip link add eth1 netns "$ns" type veth peer name "p$node" netns "$net_x"
    ip -n "$net_x" link set "p$node" master br0
    ip -n "$net_x" link set "p$node" up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth1 up
done
ip -n "$net_a" addr add 10.132.20.10/16 dev eth1
ip -n "$net_b" addr add 10.132.20.11/16 dev eth1

# 1. The files as shipped, but for the binary's path (keepalived checks that scripts exist),
# on a node that has their eth1.
for file in primary secondary; do
    sed "s#/usr/local/bin/fulcrum#$fulcrum#g" "$source_dir/deploy/keepalived/keepalived-$file.conf" \
        >"$work/$file.conf"
done
sed 's/^    interval 1$/    intervall 1/' "$work/primary.conf" >"$work/misspelt.conf"
# keepalived exits 5 for any finding; what it prints tells them apart. A reserved IP is not an
# address keepalived adds to an interface, so the instance has no VIP, which it remarks on.
findings() {
    ip netns exec "$net_a" keepalived --config-test -f "$1" 2>&1 |
        grep -v 'No VIP specified; at least one is sensible' || true
}
for file in primary secondary; do
    found=$(findings "$work/$file.conf")
    [[ -z $found ]] || fail "keepalived --config-test on keepalived-$file.conf: $found"
    pass "keepalived --config-test accepts keepalived-$file.conf"
done
found=$(findings "$work/misspelt.conf")
[[ $found == *"Unknown keyword 'intervall'"* ]] || fail "a misspelt keyword went unnoticed: $found"
pass "keepalived --config-test reports a misspelt keyword"

# 2. The pair. The recorder notes which node ran which notify.
declare -A app_pid
notes=$work/notes
printf '#!/bin/sh\necho "$1 $2" >>%s\n' "$notes" >"$work/record"
chmod 755 "$work/record"
touch "$notes"
for node in a b; do
    ns=$prefix-$node
    file=$([[ $node == a ]] && echo primary || echo secondary)
    start_nginx "app-$node" "$ns"
    app_pid[$node]=$nginx_pid
    fulcrum_config "$work/$node.yaml" 9100 "$nginx_port"
    ip netns exec "$ns" "$fulcrum" -c "$work/$node.yaml" </dev/null >"$work/fulcrum-$node.log" 2>&1 &
    on_exit "kill $! 2>/dev/null"
    sed -e "s#/etc/fulcrum/fulcrum.yaml#$work/$node.yaml#" \
        -e "s#^    notify_master .*#    notify_master \"$work/record $node master\"#" \
        -e "s#^    notify_master_rx_lower_pri .*#    notify_master_rx_lower_pri \"$work/record $node rx_lower_pri\"#" \
        "$work/$file.conf" >"$work/$node.conf"
    ip netns exec "$ns" keepalived --dont-fork --log-console --log-detail \
        --use-file="$work/$node.conf" --pid="$work/$node.pid" \
        --vrrp_pid="$work/$node-vrrp.pid" --checkers_pid="$work/$node-checkers.pid" \
        </dev/null >"$work/keepalived-$node.log" 2>&1 &
    on_exit "kill $! 2>/dev/null; wait $! 2>/dev/null"
done

# noted COUNT LINE: LINE has been recorded COUNT times.
noted() { [[ $(grep -cx "$2" "$notes") -ge $1 ]]; }
logged() { grep -q "$2" "$work/keepalived-$1.log"; }
show() {
    echo "notes:" && cat "$notes"
    echo "keepalived a:" && cat "$work/keepalived-a.log"
    echo "keepalived b:" && cat "$work/keepalived-b.log"
}
trap 'show; run_cleanups' EXIT

eventually 15 noted 1 "a master" || fail "the primary did not become MASTER"
pass "the primary becomes MASTER and runs notify_master"

ip -n "$net_x" link set pa nomaster
eventually 15 noted 1 "b master" || fail "the secondary did not become MASTER during the partition"
pass "partitioned, the secondary becomes MASTER too and runs notify_master"
ip -n "$net_x" link set pa master br0
eventually 15 noted 1 "a rx_lower_pri" || fail "the primary did not re-assert after the heal"
eventually 15 logged b "Master received advert from 10.132.20.10 with higher priority" || fail "the secondary did not step down"
pass "healed, the primary re-asserts (notify_master_rx_lower_pri) and the secondary steps down"

# A stopped (not dead) app server: fulcrum's checks time out, the node is unhealthy.
kill -STOP "${app_pid[a]}"
on_exit "kill -CONT ${app_pid[a]} 2>/dev/null"
eventually 15 noted 2 "b master" || fail "the secondary did not take over from an unhealthy primary"
logged a "Entering FAULT STATE" || fail "the primary did not enter FAULT"
pass "fulcrum health failing on the primary: FAULT there, the secondary becomes MASTER"
kill -CONT "${app_pid[a]}"
eventually 15 noted 2 "a master" || fail "the primary did not take the role back once healthy"
pass "healthy again, the primary takes the role back"
trap run_cleanups EXIT
