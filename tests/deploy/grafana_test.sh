#!/usr/bin/env bash
# deploy/grafana/fulcrum.json against Debian's real Prometheus (Grafana itself is not packaged
# for Debian): a real fulcrum with two services at different objectives (99.9, and 99 with a
# latency SLI), HTTPS beside HTTP, and the built-in failover controller, in front of two nginx
# servers; Prometheus
# scrapes it every second with the rules of `fulcrum rules` for that configuration. With
# traffic flowing (5 % of it 503, and 5 % of api's slower than its latency threshold), every
# query of every panel, and the template variables' label_values(), must return data for both
# services (dashboard_queries.py says how the Grafana variables are replaced).
# Usage: grafana_test.sh FULCRUM_BINARY SOURCE_DIR
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null || fail "prometheus missing (package prometheus)"

start_nginx app-1
app1_port=$nginx_port
start_nginx app-2
app2_port=$nginx_port
admin_port=$(free_port)
# Nothing answers there: the node takes the ACTIVE role after `fall` missed answers, and
# exports fulcrum_failover_role from its start.
peer_port=$(free_port)
"$source_dir/tests/support/test_certs" "$work/certs" >/dev/null || fail "test_certs failed"
config=$work/fulcrum.yaml
servers="[{name: app-1, address: 127.0.0.1:$app1_port},
           {name: app-2, address: 127.0.0.1:$app2_port}]"
cat >"$config" <<EOF
global: {threads: 1, shutdown_grace: 1s}
admin: {bind: 127.0.0.1:$admin_port}
frontends:
  - name: http
    bind: 127.0.0.1:0
    default_backend: web_pool
    routes:
      - {path_prefix: /api/, backend: api_pool}
    tls:
      bind: 127.0.0.1:0
      certificates: [{cert: $work/certs/server.crt, key: $work/certs/server.key}]
defaults:
  health_check: {type: http, interval: 200ms, timeout: 100ms, rise: 1, fall: 2}
backends:
  - {name: web_pool, service: web, servers: $servers}
  - {name: api_pool, service: api, servers: $servers}
slo:
  services:
    web: {objective: 99.9}
    api: {objective: 99, latency: {threshold: 100ms, objective: 99.5}}
failover:
  node: lb-1
  peer: 127.0.0.1:$peer_port
  interval: 200ms
  hooks: {on_active: [/bin/true]}
EOF

"$fulcrum" rules -c "$config" >"$work/rules.yml" || fail "fulcrum rules -c $config"
promtool check rules "$work/rules.yml" >/dev/null || fail "promtool rejects the generated rules"

"$fulcrum" -c "$config" </dev/null >"$work/fulcrum.log" 2>&1 &
fulcrum_pid=$!
on_exit "kill $fulcrum_pid 2>/dev/null; wait $fulcrum_pid 2>/dev/null"
listening() {
    frontend_port=$(sed -n 's/.*frontend http listening on 127.0.0.1:\([0-9]*\)$/\1/p' \
        "$work/fulcrum.log")
    [[ -n $frontend_port ]]
}
eventually 10 listening || fail "fulcrum did not start: $(cat "$work/fulcrum.log")"

prometheus_port=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ['$work/rules.yml']
scrape_configs:
  - job_name: fulcrum
    static_configs: [{targets: ['127.0.0.1:$admin_port']}]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
    --web.listen-address="127.0.0.1:$prometheus_port" </dev/null >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
on_exit "kill $prometheus_pid 2>/dev/null; wait $prometheus_pid 2>/dev/null"

# Both services, one request in 20 a 503 from the server and, for api, one in 20 slower than
# its latency threshold: both budgets burn, as on a bad day.
python3 - "$frontend_port" <<'EOF' >"$work/traffic.log" 2>&1 &
import http.client, itertools, sys, time
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
for i in itertools.count():
    path = ("/api/" if i % 2 else "/") + {0: "fail", 1: "fail", 3: "pause"}.get(i % 40, "x")
    connection.request("GET", path)
    connection.getresponse().read()
    time.sleep(0.002)
EOF
traffic_pid=$!
on_exit "kill $traffic_pid 2>/dev/null; wait $traffic_pid 2>/dev/null"

prometheus_ready() { curl -sf -o /dev/null "http://127.0.0.1:$prometheus_port/-/ready"; }
eventually 20 prometheus_ready || fail "prometheus did not start: $(cat "$work/prometheus.log")"

python3 "$source_dir/tests/deploy/dashboard_queries.py" "$source_dir/deploy/grafana/fulcrum.json" \
    "http://127.0.0.1:$prometheus_port" web,api api 40 ||
    fail "dashboard queries (traffic: $(tail -n 3 "$work/traffic.log"))"
kill -0 "$traffic_pid" || fail "the traffic stopped: $(cat "$work/traffic.log")"
pass "every panel of deploy/grafana/fulcrum.json has data from a real Prometheus"
