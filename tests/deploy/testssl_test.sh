#!/usr/bin/env bash
# fulcrum's HTTPS frontend through an external scanner, Debian's testssl.sh: a real fulcrum
# with an ECDSA P-256 and an RSA 2048 certificate (tests/support/test_certs) and the default
# TLS settings, in front of an nginx server. testssl checks the protocols, every cipher it
# knows per protocol (its own sockets, not only what the local OpenSSL offers) and the
# vulnerabilities; testssl_verdict.py fails the test on a finding rated HIGH or CRITICAL, a
# protocol other than TLS 1.2 and 1.3, or a cipher offered outside the documented profile (or
# one of it missing). fulcrum must still answer over TLS after the scan's odd handshakes, and
# count the ones it refused in fulcrum_tls_handshake_failures_total.
# Usage: testssl_test.sh FULCRUM_BINARY SOURCE_DIR
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v testssl >/dev/null || fail "testssl missing (package testssl.sh)"
python3 "$source_dir/tests/deploy/testssl_verdict.py" --self-test ||
    fail "testssl_verdict.py judges made-up scans wrongly"

start_nginx app-1
pki=$work/pki
"$source_dir/tests/support/test_certs" "$pki" >/dev/null || fail "tests/support/test_certs $pki"
config=$work/fulcrum.yaml
admin_port=$(free_port)
cat >"$config" <<EOF
global: {threads: 1, shutdown_grace: 1s}
admin: {bind: 127.0.0.1:$admin_port}
frontends:
  - name: web
    default_backend: app_pool
    tls:
      bind: [127.0.0.1:0]
      certificates:
        - {cert: $pki/server.crt, key: $pki/server.key}
        - {cert: $pki/server_rsa.crt, key: $pki/server_rsa.key}
backends:
  - name: app_pool
    servers: [{name: app-1, address: 127.0.0.1:$nginx_port}]
EOF

"$fulcrum" -c "$config" </dev/null >"$work/fulcrum.log" 2>&1 &
fulcrum_pid=$!
on_exit "kill $fulcrum_pid 2>/dev/null; wait $fulcrum_pid 2>/dev/null"
# The frontend has no plain bind: its one listening line is the TLS listener.
listening() {
    tls_port=$(sed -n 's/.*frontend web listening on 127.0.0.1:\([0-9]*\).*/\1/p' \
        "$work/fulcrum.log")
    [[ -n $tls_port ]]
}
eventually 10 listening || fail "fulcrum did not start: $(cat "$work/fulcrum.log")"

# answers_over_tls: GET / over HTTPS, the certificate checked against the test CA, reaches
# app-1.
answers_over_tls() {
    [[ $(curl -sS --max-time 5 --cacert "$pki/ca.crt" "https://localhost:$tls_port/" \
        --resolve "localhost:$tls_port:127.0.0.1") == app-1 ]]
}
answers_over_tls || fail "GET https://localhost:$tls_port/ did not reach app-1"
pass "fulcrum serves HTTPS on 127.0.0.1:$tls_port"

# SNI localhost (a name of both certificates), connections to 127.0.0.1, no DNS at all.
started=$SECONDS
testssl --quiet --color 0 --warnings off --nodns none --connect-timeout 5 \
    --openssl-timeout 5 --protocols --cipher-per-proto --vulnerable \
    --jsonfile "$work/testssl.json" --ip 127.0.0.1 "localhost:$tls_port" \
    >"$work/testssl.log" 2>&1 || true    # its status counts findings; the verdict judges them
echo "testssl took $((SECONDS - started)) s"
[[ -s $work/testssl.json ]] || fail "testssl wrote no findings: $(tail -n 20 "$work/testssl.log")"
if ! python3 "$source_dir/tests/deploy/testssl_verdict.py" "$work/testssl.json"; then
    cat "$work/testssl.log"
    fail "testssl's findings on fulcrum's HTTPS frontend (above)"
fi
pass "testssl: TLS 1.2 and 1.3 only, the profile's ciphers only, nothing rated HIGH or CRITICAL"

kill -0 "$fulcrum_pid" 2>/dev/null ||
    fail "fulcrum exited during the scan: $(cat "$work/fulcrum.log")"
answers_over_tls || fail "fulcrum no longer answers over TLS after the scan"
pass "fulcrum still serves HTTPS after the scan"

# The scan's refused handshakes are counted apart, by reason: its TLS 1.0 and 1.1 hellos, and
# its hellos with one cipher outside the profile each.
curl -sS --max-time 5 "http://127.0.0.1:$admin_port/metrics" >"$work/metrics" ||
    fail "GET /metrics on the admin listener"
failures() { # REASON: fulcrum_tls_handshake_failures_total of the frontend for that reason
    local series="fulcrum_tls_handshake_failures_total{frontend=\"web\",reason=\"$1\"}"
    sed -n "s/^$series \([0-9]*\)$/\1/p" "$work/metrics"
}
for reason in protocol_version no_shared_cipher; do
    count=$(failures "$reason")
    ((${count:-0} > 0)) || fail "no handshake failure counted as $reason after the scan:" \
        "$(grep tls_handshake "$work/metrics")"
    pass "$count handshake failures counted as $reason"
done
