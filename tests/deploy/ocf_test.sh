#!/usr/bin/env bash
# deploy/pacemaker/fulcrum against the real binary and real nginx app servers: ocf-tester
# (resource-agents), then what ocf-tester does not look at: the monitor's verdict when the
# servers are gone, stop's SIGKILL when a drain outlasts the stop timeout, the user parameter,
# a start that fails, validate-all's codes.
# Usage: ocf_test.sh FULCRUM_BINARY SOURCE_DIR (as root: ocf-tester checks permissions as
# user nobody, and the user parameter switches users).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || fail "run as root"
command -v ocf-tester >/dev/null || fail "ocf-tester missing: scripts/setup installs resource-agents"

# fulcrum reads its configuration as user nobody below, and ocf-tester runs the agent as
# nobody: a copy here works wherever the checkout is (a home directory nobody cannot enter).
chmod 755 "$work"
[[ -x $source_dir/deploy/pacemaker/fulcrum ]] || fail "deploy/pacemaker/fulcrum is not executable"
mkdir "$work/ocf"
agent=$work/ocf/fulcrum
cp "$source_dir/deploy/pacemaker/fulcrum" "$agent"

start_nginx app-1
app1_pid=$nginx_pid
app1_port=$nginx_port
start_nginx app-2
app2_pid=$nginx_pid
admin_port=$(free_port)
config=$work/fulcrum.yaml
fulcrum_config "$config" "$admin_port" "$app1_port" "$nginx_port"

export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=fulcrum-test
export OCF_RESKEY_binary=$fulcrum OCF_RESKEY_config=$config
export OCF_RESKEY_pidfile=$work/fulcrum.pid OCF_RESKEY_logfile=$work/fulcrum.log
# Whatever happens, no fulcrum is left running.
on_exit "'$agent' stop >/dev/null 2>&1"

# agent ACTION: the agent's exit code in $rc, its output in $out.
agent() {
    rc=0
    out=$("$agent" "$1" 2>&1) || rc=$?
}
expect() {
    [[ $rc == "$1" ]] || fail "$2: exit $rc, expected $1: $out"
    pass "$2 (exit $rc)"
    [[ -z $out ]] || sed 's/^/    /' <<<"$out"
}

out=$(ocf-tester -n fulcrum -o binary="$fulcrum" -o config="$config" \
    -o pidfile="$work/fulcrum.pid" -o logfile="$work/fulcrum.log" "$agent" 2>&1) ||
    fail "ocf-tester: $out"
echo "$out"
[[ $out == *"passed all tests"* ]] || fail "ocf-tester did not pass: $out"

agent validate-all
expect 0 "validate-all with a valid configuration"
OCF_RESKEY_binary=$work/missing agent validate-all
expect 5 "validate-all without the binary: OCF_ERR_INSTALLED"
echo "frontends: [" >"$work/bad.yaml"
OCF_RESKEY_config=$work/bad.yaml agent validate-all
expect 6 "validate-all with a configuration that does not load: OCF_ERR_CONFIGURED"
OCF_RESKEY_user=no-such-user-here agent validate-all
expect 6 "validate-all with an unknown user: OCF_ERR_CONFIGURED"

agent start
expect 0 "start"
agent monitor
expect 0 "monitor with both servers up"
kill "$app1_pid" "$app2_pid"
monitor_fails() { agent monitor && [[ $rc != 0 ]]; }
eventually 10 monitor_fails || fail "monitor stayed $rc after the servers stopped: $out"
expect 1 "monitor with no server up: OCF_ERR_GENERIC"
[[ $out == *"unhealthy: frontend http has no server up"* ]] || fail "monitor's reason: $out"
agent stop
expect 0 "stop"
agent monitor
expect 7 "monitor after stop: OCF_NOT_RUNNING"

# A request that takes 30 s holds fulcrum's drain open for its 60 s grace; the stop action,
# given 6 s, must not wait for it.
start_nginx slow
fulcrum_config "$config" "$admin_port" "$nginx_port"
sed -i 's/shutdown_grace: 5s/shutdown_grace: 60s/' "$config"
agent start
expect 0 "start with a 60 s shutdown grace"
frontend_port=$(sed -n 's/.*frontend http listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/fulcrum.log" | tail -n 1)
curl -s -o /dev/null "http://127.0.0.1:$frontend_port/slow" &
on_exit "kill $! 2>/dev/null"
# The request is in flight once fulcrum has a client connection to drain.
request_in_flight() { ss -Htn state established "( sport = :$frontend_port )" | grep -q .; }
eventually 10 request_in_flight || fail "the slow request did not reach fulcrum"
started=$SECONDS
OCF_RESKEY_CRM_meta_timeout=6000 agent stop
expect 0 "stop while a drain is held open"
[[ $out == *"sending SIGKILL"* ]] || fail "stop did not escalate: $out"
((SECONDS - started < 6)) || fail "stop took $((SECONDS - started)) s of its 6"
agent monitor
expect 7 "monitor after the SIGKILL: OCF_NOT_RUNNING"
fulcrum_config "$config" "$admin_port" "$nginx_port"

OCF_RESKEY_user=nobody agent start
expect 0 "start as user nobody"
user=$(ps -o user= -p "$(cat "$work/fulcrum.pid")")
[[ $user == nobody ]] || fail "fulcrum runs as $user, not nobody"
pass "fulcrum runs as nobody"
agent stop
expect 0 "stop"

# Another process holds the admin port: fulcrum exits at once, and start says why.
python3 -c 'import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", '"$admin_port"')); s.listen(); time.sleep(60)' &
holder=$!
on_exit "kill $holder 2>/dev/null"
admin_port_taken() { ss -Hltn "( sport = :$admin_port )" | grep -q .; }
eventually 10 admin_port_taken || fail "the port holder did not listen"
agent start
expect 1 "start with the admin port taken: OCF_ERR_GENERIC"
[[ $out == *"exited during start"*"Address already in use"* ]] || fail "start's reason: $out"
agent monitor
expect 7 "monitor after the failed start: OCF_NOT_RUNNING"
