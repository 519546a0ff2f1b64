#!/usr/bin/env bash
# deploy/prometheus/ with the real binary and the real promtool: the committed rules are what
# `fulcrum rules` generates from example.yaml today, they pass promtool's checks (lint
# included) and its unit tests (fulcrum.rules.test.yml); rules generated for another
# configuration (one objective, no latency SLI, no failover) are valid and carry only what that
# configuration has; a bad configuration is refused with its location.
# Usage: prometheus_rules_test.sh FULCRUM_BINARY SOURCE_DIR
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || fail "promtool missing (package prometheus)"
prom=$source_dir/deploy/prometheus

# check_rules FILE: promtool check rules with every lint; anything but its success lines fails.
check_rules() {
    local rc=0 out noise
    out=$(promtool check rules --lint=all --lint-fatal "$1" 2>&1) || rc=$?
    noise=$(grep -Ev '^(Checking .*|  SUCCESS: [0-9]+ rules found|)$' <<<"$out" || true)
    [[ $rc == 0 && -z $noise ]] || fail "promtool check rules $1 (exit $rc): $out"
}

# The header names the path given to -c, so generate from the source tree with that path.
(cd "$source_dir" && "$fulcrum" rules -c deploy/prometheus/example.yaml) >"$work/fulcrum.rules.yml" ||
    fail "fulcrum rules -c deploy/prometheus/example.yaml failed"
diff -u "$prom/fulcrum.rules.yml" "$work/fulcrum.rules.yml" >&2 ||
    fail "deploy/prometheus/fulcrum.rules.yml is not what fulcrum generates (diff above); regenerate it from the source directory with: build/app/fulcrum rules -c deploy/prometheus/example.yaml > deploy/prometheus/fulcrum.rules.yml"
pass "deploy/prometheus/fulcrum.rules.yml is what fulcrum rules generates from example.yaml"

check_rules "$work/fulcrum.rules.yml"
pass "promtool check rules (lint: all) accepts the generated rules"

# The unit tests name fulcrum.rules.yml beside them: run them on the generated file.
cp "$prom/fulcrum.rules.test.yml" "$work/"
out=$(cd "$work" && promtool test rules fulcrum.rules.test.yml 2>&1) ||
    fail "promtool test rules fulcrum.rules.test.yml: $out"
pass "promtool test rules: the unit tests pass"

# Another configuration: one objective for every service, no latency SLI, no failover section,
# another scrape job and a published runbook.
cat >"$work/single.yaml" <<'EOF'
admin: {bind: 127.0.0.1:9100}
frontends:
  - {name: http, bind: "127.0.0.1:8080", default_backend: shop}
backends:
  - name: shop
    servers:
      - {name: shop-1, address: 127.0.0.1:8081}
slo: {objective: 99.5}
EOF
"$fulcrum" rules -c "$work/single.yaml" --job lb --runbook-base https://runbooks.example/fulcrum \
    >"$work/single.rules.yml" || fail "fulcrum rules -c single.yaml failed"
check_rules "$work/single.rules.yml"
rules=$(<"$work/single.rules.yml")
found=$(grep -E 'alert: Fulcrum(NoActiveNode|TwoActiveNodes|ReservedIpNotOnActive|Latency)|latency' \
    <<<"$rules" || true)
[[ -z $found ]] || fail "rules for a configuration without failover or latency SLI have: $found"
[[ $rules == *'expr: vector(0.005)'* ]] || fail "no error budget of 0.005 (99.5 %) in: $rules"
found=$(grep -oE '[a-z_:]+\{[^}]*\}' <<<"$rules" | grep -v 'job="lb"' || true)
[[ -z $found ]] || fail "selectors without job=\"lb\": $found"
found=$(grep 'runbook_url:' <<<"$rules" | grep -v 'runbook_url: https://runbooks.example/fulcrum#' || true)
[[ -z $found ]] || fail "runbook links not under --runbook-base: $found"
pass "rules for 99.5 % without latency or failover: valid, budget 0.005, no failover or latency alert, job and runbook base applied"

# The objective reaches the burn rate: 1 % of errors is a burn of 2 at 99.5 %.
cat >"$work/single.test.yml" <<'EOF'
rule_files: [single.rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'fulcrum_http_request_duration_seconds_count{job="lb",instance="lb-1:9100",service="shop"}'
        values: '0+1000x20'
      - series: 'fulcrum_http_requests_errors_total{job="lb",instance="lb-1:9100",service="shop"}'
        values: '0+10x20'
    promql_expr_test:
      - expr: round(sli:service:control_plane_services:burn_rate:rate5m, 0.001)
        eval_time: 20m
        exp_samples:
          - labels: '{service="shop"}'
            value: 2
EOF
out=$(cd "$work" && promtool test rules single.test.yml 2>&1) || fail "promtool test rules single.test.yml: $out"
pass "at 99.5 %, 1 % of errors burns the budget at 2x"

# A bad configuration: exit 2, the error located as file:line:col, no rules on stdout.
sed 's/{objective: 99.5}/{services: {shopp: {objective: 99}}}/' "$work/single.yaml" >"$work/bad.yaml"
rc=0
"$fulcrum" rules -c "$work/bad.yaml" >"$work/bad.out" 2>"$work/bad.err" || rc=$?
[[ $rc == 2 ]] || fail "fulcrum rules on a bad config exited $rc, not 2: $(cat "$work/bad.err")"
grep -qE "^$work/bad\.yaml:[0-9]+:[0-9]+: .*unknown service 'shopp'" "$work/bad.err" ||
    fail "no file:line:col error for the unknown service: $(cat "$work/bad.err")"
[[ ! -s $work/bad.out ]] || fail "rules printed for a bad config: $(cat "$work/bad.out")"
pass "fulcrum rules on a bad config: exit 2, $(head -n1 "$work/bad.err")"
