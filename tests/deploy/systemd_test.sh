#!/usr/bin/env bash
# deploy/systemd/fulcrum.service through `systemd-analyze verify`, which needs no running
# systemd. The unit is checked as shipped but for the binary's path (verify wants the
# executables to exist). systemd-analyze exits 0 on unknown keys and unparsable values and only
# prints them, so any output is a failure. What verify cannot show is how the sandboxing
# options treat a running fulcrum, or that systemd starts it again after an unexpected end:
# that needs systemd as PID 1, which CI containers and this test's machines do not have. The
# restart policy is therefore checked as written (docs/operations.md, "Signals").
# Usage: systemd_test.sh FULCRUM_BINARY SOURCE_DIR
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (package systemd)"

mkdir -p "$work/shipped" "$work/misspelt"
sed "s#/usr/local/bin/fulcrum#$fulcrum#g" "$source_dir/deploy/systemd/fulcrum.service" \
    >"$work/shipped/fulcrum.service"
sed 's/^ProtectSystem=/ProtectSystm=/' "$work/shipped/fulcrum.service" \
    >"$work/misspelt/fulcrum.service"

rc=0
found=$(systemd-analyze verify "$work/shipped/fulcrum.service" 2>&1) || rc=$?
[[ $rc == 0 && -z $found ]] || fail "systemd-analyze verify (exit $rc): $found"
pass "systemd-analyze verify accepts fulcrum.service"

found=$(systemd-analyze verify "$work/misspelt/fulcrum.service" 2>&1) || true
[[ $found == *"Unknown key 'ProtectSystm'"* ]] || fail "a misspelt key went unnoticed: $found"
pass "systemd-analyze verify reports a misspelt key"

# Restart=on-failure would leave fulcrum stopped after an end by SIGHUP, SIGINT, SIGTERM or
# SIGPIPE (clean to systemd); Restart=always starts it again after anything but systemctl stop.
restart=$(sed -n 's/^Restart=//p' "$source_dir/deploy/systemd/fulcrum.service")
[[ $restart == always ]] || fail "Restart=$restart: an end by a signal would not be restarted"
pass "fulcrum.service restarts fulcrum after any end that systemctl stop did not ask for"
