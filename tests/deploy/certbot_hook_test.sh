#!/usr/bin/env bash
# deploy/certbot/certbot-deploy-hook as certbot runs it after a renewal (certbot itself needs
# Let's Encrypt): a lineage directory with the renewed fullchain.pem and privkey.pem, the hook
# with RENEWED_LINEAGE set, and a real fulcrum serving the previous certificate from the
# hook's target directory. Afterwards fulcrum serves the renewed one, the key is mode 600, and
# a connection opened before the renewal still gets answers.
# Usage: certbot_hook_test.sh FULCRUM_BINARY SOURCE_DIR
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
hook=$source_dir/deploy/certbot/certbot-deploy-hook
"$source_dir/tests/support/test_certs" "$work/certs" >/dev/null || fail "test_certs failed"
tls=$work/tls
mkdir -p "$tls" "$work/live/example.com"
install -m 0644 "$work/certs/a.crt" "$tls/example.com.crt"
install -m 0600 "$work/certs/a.key" "$tls/example.com.key"
start_nginx app-1
admin_port=$(free_port)
cat >"$work/fulcrum.yaml" <<YAML
global: {threads: 1, shutdown_grace: 1s}
admin: {bind: 127.0.0.1:$admin_port}
frontends:
  - name: https
    default_backend: app
    tls:
      bind: 127.0.0.1:0
      certificates: [{cert: $tls/example.com.crt, key: $tls/example.com.key}]
backends:
  - {name: app, servers: [{name: app-1, address: 127.0.0.1:$nginx_port}]}
YAML
"$fulcrum" -c "$work/fulcrum.yaml" </dev/null >"$work/fulcrum.log" 2>&1 &
fulcrum_pid=$!
on_exit "kill $fulcrum_pid 2>/dev/null; wait $fulcrum_pid 2>/dev/null"
listening() {
    port=$(sed -n 's/.*frontend https listening on 127.0.0.1:\([0-9]*\) with TLS$/\1/p' \
        "$work/fulcrum.log")
    [[ -n $port ]]
}
eventually 10 listening || fail "fulcrum did not start: $(cat "$work/fulcrum.log")"
subject() {
    openssl s_client -connect "127.0.0.1:$port" -noservername </dev/null 2>/dev/null |
        sed -n 's/^subject=CN = //p'
}
[[ $(subject) == a ]] || fail "before the renewal fulcrum serves '$(subject)', not a"

# A client holding a connection across the renewal: one request now, one after.
python3 - "$port" "$work/go" <<'PY' >"$work/client.log" 2>&1 &
import http.client, os, ssl, sys, time
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=context)
for step in ("before", "after"):
    deadline = time.time() + 20
    while step == "after" and not os.path.exists(sys.argv[2]) and time.time() < deadline:
        time.sleep(0.05)
    c.request("GET", "/")
    r = c.getresponse()
    print(step, r.status, r.read().decode().strip(), flush=True)
PY
client_pid=$!
on_exit "kill $client_pid 2>/dev/null"
said_before() { grep -q "before 200 app-1" "$work/client.log"; }
eventually 10 said_before || fail "the client got no answer: $(cat "$work/client.log")"

# certbot's renewal: the lineage holds the new files, as root's, the key 600.
install -m 0644 "$work/certs/b.crt" "$work/live/example.com/fullchain.pem"
install -m 0600 "$work/certs/b.key" "$work/live/example.com/privkey.pem"
RENEWED_LINEAGE=$work/live/example.com FULCRUM_TLS_DIR=$tls FULCRUM_USER=$(id -un) \
    FULCRUM_RELOAD="kill -HUP $fulcrum_pid" "$hook" >"$work/hook.log" 2>&1 ||
    fail "the hook failed: $(cat "$work/hook.log")"
[[ $(stat -c %a "$tls/example.com.key") == 600 ]] || fail "the key is mode $(stat -c %a "$tls/example.com.key")"
renewed() { [[ $(subject) == b ]]; }
eventually 10 renewed || fail "fulcrum serves '$(subject)' after the hook: $(cat "$work/fulcrum.log")"
grep -q "SIGHUP: 1 TLS certificates reloaded" "$work/fulcrum.log" || fail "no reload line"
touch "$work/go"
said_after() { grep -q "after 200 app-1" "$work/client.log"; }
eventually 10 said_after || fail "the connection from before the renewal: $(cat "$work/client.log")"
pass "certbot's deploy hook installs the renewed certificate and fulcrum serves it without a restart"
