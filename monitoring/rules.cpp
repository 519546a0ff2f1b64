#include "monitoring/rules.hpp"

#include "base/number_text.hpp"
#include "monitoring/naming.hpp"

#include "sli/meter.hpp"
#include "sli/slo.hpp"
#include "sli/windows.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

namespace fulcrum::monitoring {

namespace {

using labels = std::vector<std::pair<std::string, std::string>>;

struct rule {
    std::string record; // a recording rule's name, or
    std::string alert;  // an alert's
    std::string expr;
    std::string for_duration;
    labels tags;
    labels annotations;
};

struct group {
    std::string name;
    std::vector<rule> rules;
};

// The windows computed with rate() on the raw counters: every alert window. 30d is derived
// from the recorded 5m rates instead (see "30d" below).
constexpr std::array<sli::window, 7> rate_windows{
    sli::window::m5, sli::window::m30, sli::window::h1, sli::window::h2,
    sli::window::h6, sli::window::d1,  sli::window::d3};
constexpr std::array<sli::window, 5> data_plane_windows{
    sli::window::m5, sli::window::m30, sli::window::h1, sli::window::h6, sli::window::d1};

using base::shortest_text;

rule recording(std::string name, std::string expr, labels tags = {}) {
    return {std::move(name), "", std::move(expr), "", std::move(tags), {}};
}

class rule_writer {
public:
    rule_writer(const config::config& cfg, const rules_options& options)
        : cfg_(cfg), options_(options) {}

    std::vector<group> groups() const;

private:
    // `metric{job="...",<matchers>}`
    std::string select(std::string_view metric, std::string_view matchers = {}) const {
        return std::string(metric) + "{job=\"" + promql_quoted(options_.job) + "\"" +
               (matchers.empty() ? "" : "," + std::string(matchers)) + "}";
    }
    static std::string service_rule(std::string_view what, std::string_view window) {
        return "sli:service:control_plane_services:" + std::string(what) + ":" +
               std::string(window);
    }
    static std::string global_rule(std::string_view what, std::string_view window) {
        return "sli:global:control_plane_services:" + std::string(what) + ":" + std::string(window);
    }
    std::string runbook(std::string_view alert) const {
        std::string anchor(alert);
        for (auto& c : anchor) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return options_.runbook_base + "#" + anchor;
    }

    group objectives() const;
    group availability() const;
    group latency() const;
    group month() const;
    group data_plane() const;
    group slo_alerts() const;
    group fleet_alerts() const;
    bool any_latency() const;

    const config::config& cfg_;
    const rules_options& options_;
};

bool rule_writer::any_latency() const {
    for (const auto& service : config::service_names(cfg_)) {
        if (cfg_.slo.of(service).latency) {
            return true;
        }
    }
    return false;
}

// Each service's error budgets as constants labelled with the service: the objectives come
// from the configuration that fulcrum itself runs, so the fleet's burn rates divide by the
// same budget as fulcrum's gauges.
group rule_writer::objectives() const {
    group g{"fulcrum-slo-objectives", {}};
    for (const auto& service : config::service_names(cfg_)) {
        const auto& o = cfg_.slo.of(service);
        g.rules.push_back(recording(
            service_rule("error_budget", "constant"),
            "vector(" +
                shortest_text(sli::objective::from_percent(o.availability_percent).budget()) + ")",
            {{"service", service}}));
        if (o.latency) {
            g.rules.push_back(recording(
                service_rule("latency_error_budget", "constant"),
                "vector(" +
                    shortest_text(sli::objective::from_percent(o.latency->percent).budget()) + ")",
                {{"service", service}}));
        }
    }
    return g;
}

// Both counters exist from start at 0 (fulcrum_http_requests_errors_total and the latency
// histogram's _count, which counts every response), so rate() sees a service's first errors.
group rule_writer::availability() const {
    group g{"fulcrum-sli-availability", {}};
    const auto errors = select("fulcrum_http_requests_errors_total");
    const auto responses = select("fulcrum_http_request_duration_seconds_count");
    for (const auto w : rate_windows) {
        const std::string range = "[" + std::string(sli::name(w)) + "]";
        const std::string op = "rate" + std::string(sli::name(w));
        g.rules.push_back(
            recording(service_rule("error_ratio", op), "sum by (service) (rate(" + errors + range +
                                                           "))\n/\n(sum by (service) (rate(" +
                                                           responses + range + ")) > 0)"));
        g.rules.push_back(
            recording(service_rule("availability", op), "1 - " + service_rule("error_ratio", op)));
        g.rules.push_back(recording(service_rule("burn_rate", op),
                                    service_rule("error_ratio", op) + "\n/ on (service)\n" +
                                        service_rule("error_budget", "constant")));
        g.rules.push_back(recording(global_rule("error_ratio", op),
                                    "sum(rate(" + errors + range + "))\n/\n(sum(rate(" + responses +
                                        range + ")) > 0)"));
        g.rules.push_back(
            recording(global_rule("availability", op), "1 - " + global_rule("error_ratio", op)));
    }
    return g;
}

// Good = the histogram's bucket at the service's threshold (every threshold is a bucket
// bound), total = its _count: one rule per service, as each has its own `le`.
group rule_writer::latency() const {
    group g{"fulcrum-sli-latency", {}};
    for (const auto w : rate_windows) {
        const std::string range = "[" + std::string(sli::name(w)) + "]";
        const std::string op = "rate" + std::string(sli::name(w));
        for (const auto& service : config::service_names(cfg_)) {
            const auto& o = cfg_.slo.of(service);
            if (!o.latency) {
                continue;
            }
            const std::string of_service = "service=\"" + service + "\"";
            g.rules.push_back(recording(
                service_rule("latency_ratio", op),
                "sum by (service) (rate(" +
                    select("fulcrum_http_request_duration_seconds_bucket",
                           of_service + ",le=\"" + le_label(o.latency->threshold) + "\"") +
                    range + "))\n/\n(sum by (service) (rate(" +
                    select("fulcrum_http_request_duration_seconds_count", of_service) + range +
                    ")) > 0)",
                // The label is in the result already; set, it tells promtool that the rules
                // of one name are for different series.
                {{"service", service}}));
        }
        g.rules.push_back(recording(service_rule("latency_slow_ratio", op),
                                    "1 - " + service_rule("latency_ratio", op)));
        g.rules.push_back(recording(service_rule("latency_burn_rate", op),
                                    service_rule("latency_slow_ratio", op) + "\n/ on (service)\n" +
                                        service_rule("latency_error_budget", "constant")));
    }
    return g;
}

// 30d from the recorded per-service 5m rates, numerator and denominator summed apart (still
// traffic-weighted): rate(...[30d]) on the raw counters would read 30 days of every instance's
// samples at each evaluation. Approximate at 5m granularity; used for the budget and the time
// to exhaustion, never for an alert.
group rule_writer::month() const {
    group g{"fulcrum-sli-30d", {}};
    const auto errors = select("fulcrum_http_requests_errors_total");
    const auto responses = select("fulcrum_http_request_duration_seconds_count");
    for (const auto& [scope, sum] :
         {std::pair<std::string, std::string>{"service", "sum by (service) "},
          std::pair<std::string, std::string>{"global", "sum"}}) {
        const auto name = [&](std::string_view what, std::string_view op) {
            return scope == "service" ? service_rule(what, op) : global_rule(what, op);
        };
        g.rules.push_back(
            recording(name("requests", "rate5m"), sum + "(rate(" + responses + "[5m]))"));
        g.rules.push_back(recording(name("errors", "rate5m"), sum + "(rate(" + errors + "[5m]))"));
        g.rules.push_back(recording(name("error_ratio", "rate30d"),
                                    "sum_over_time(" + name("errors", "rate5m") +
                                        "[30d])\n/\n(sum_over_time(" + name("requests", "rate5m") +
                                        "[30d]) > 0)"));
        g.rules.push_back(
            recording(name("availability", "rate30d"), "1 - " + name("error_ratio", "rate30d")));
    }
    g.rules.push_back(recording(service_rule("error_budget_remaining", "rate30d"),
                                "1 - " + service_rule("error_ratio", "rate30d") +
                                    "\n/ on (service)\n" +
                                    service_rule("error_budget", "constant")));
    const auto month_seconds = std::to_string(sli::length(sli::window::d30).count());
    for (const auto w : sli::exhaustion_windows) {
        const std::string op = "rate" + std::string(sli::name(w));
        g.rules.push_back(recording(
            service_rule("error_budget_exhaustion_seconds", op),
            "clamp_min(" + service_rule("error_budget_remaining", "rate30d") + ", 0) * " +
                month_seconds + "\n/ on (service)\n(" + service_rule("burn_rate", op) + " > 0)"));
    }
    return g;
}

// Resource-minutes of the servers: up samples over all samples of every server of the backend
// seen by every instance, summed before dividing.
group rule_writer::data_plane() const {
    group g{"fulcrum-sli-data-plane", {}};
    const auto up = select("fulcrum_server_up");
    for (const auto w : data_plane_windows) {
        const std::string range = "[" + std::string(sli::name(w)) + "]";
        g.rules.push_back(recording(
            "sli:backend:data_plane:availability:avg_over_time" + std::string(sli::name(w)),
            "sum by (backend) (sum_over_time(" + up + range +
                "))\n/\n(sum by (backend) (count_over_time(" + up + range + ")) > 0)"));
    }
    return g;
}

struct burn_alert_kind {
    std::string_view prefix;   // FulcrumErrorBudgetBurn
    std::string_view burn;     // burn_rate
    std::string_view slo;      // availability
    std::string_view spending; // "error budget"
};

group rule_writer::slo_alerts() const {
    group g{"fulcrum-slo-alerts", {}};
    std::vector<burn_alert_kind> kinds{
        {"FulcrumErrorBudgetBurn", "burn_rate", "availability", "error budget"}};
    if (any_latency()) {
        kinds.push_back(
            {"FulcrumLatencyBudgetBurn", "latency_burn_rate", "latency", "latency budget"});
    }
    for (const auto& kind : kinds) {
        for (std::size_t i = 0; i < sli::alert_rules.size(); ++i) {
            const auto& r = sli::alert_rules[i];
            const std::string name = std::string(kind.prefix) + std::string(burn_alert_speeds[i]);
            const std::string factor = shortest_text(r.burn);
            const std::string long_w(sli::name(r.long_window));
            const std::string short_w(sli::name(r.short_window));
            // The share of the 30-day budget the long window spends at this burn rate.
            const double share = r.burn * static_cast<double>(sli::length(r.long_window).count()) /
                                 static_cast<double>(sli::length(sli::window::d30).count());
            const bool page = r.sev == sli::severity::page;
            g.rules.push_back(
                {"",
                 name,
                 service_rule(kind.burn, "rate" + long_w) + " > " + factor + "\nand\n" +
                     service_rule(kind.burn, "rate" + short_w) + " > " + factor,
                 // A page rides over one odd evaluation (2 minutes at 14.4x cost 0.07 % of the
                 // budget); a ticket waits out churn at its threshold.
                 page ? "2m" : "15m",
                 {{"severity", std::string(sli::name(r.sev))},
                  {"slo", std::string(kind.slo)},
                  {"burn_windows", long_w + "/" + short_w}},
                 {{"summary",
                   "Service {{ $labels.service }} spends its " + std::string(kind.spending) +
                       " at more than " + factor + "x over " + long_w + " and " + short_w + " (" +
                       shortest_text(share * 100) + " % of the 30-day budget in " + long_w + ")"},
                  {"description", "Burn rate over " + long_w +
                                      ": {{ $value | humanize }}. fulcrum's own view: GET /sli "
                                      "on each instance's admin listener."},
                  {"runbook_url", runbook(name)}}});
        }
    }
    return g;
}

group rule_writer::fleet_alerts() const {
    group g{"fulcrum-fleet-alerts", {}};
    const auto alert = [&](std::string name, std::string expr, std::string for_duration,
                           std::string severity, std::string summary) {
        g.rules.push_back({"",
                           name,
                           std::move(expr),
                           std::move(for_duration),
                           {{"severity", std::move(severity)}},
                           {{"summary", std::move(summary)}, {"runbook_url", runbook(name)}}});
    };
    // A server an operator put in maintenance is down on purpose; one in drain takes no new
    // client, so a backend with only such servers up answers 503 as one with none.
    const auto server = "on (job, instance, backend, server)";
    alert("FulcrumServerDown",
          select("fulcrum_server_up") + " == 0\nunless " + server + "\n" +
              select("fulcrum_server_admin_state", "state=\"maint\"") + " == 1",
          "5m", "ticket",
          "Server {{ $labels.server }} of backend {{ $labels.backend }} has been DOWN for 5 "
          "minutes, seen from {{ $labels.instance }}");
    alert("FulcrumBackendNoServerUp",
          "sum by (job, instance, backend) (\n  " + select("fulcrum_server_up") + "\n  * " +
              server + "\n  " + select("fulcrum_server_admin_state", "state=\"ready\"") +
              "\n) == 0",
          "1m", "page",
          "Backend {{ $labels.backend }} has no server UP and ready on {{ $labels.instance }}: "
          "its requests get 503");
    alert("FulcrumInstanceDown", select("up") + " == 0", "1m", "page",
          "fulcrum instance {{ $labels.instance }} does not answer Prometheus's scrape");
    alert("FulcrumInstanceAbsent", "absent(" + select("up") + ")", "5m", "page",
          "Prometheus scrapes no fulcrum instance in job " + options_.job +
              ": no SLI, no alert above can fire");
    alert("FulcrumStateSaveFailing",
          "increase(" + select("fulcrum_sli_state_saves_total", "result=\"failed\"") + "[15m]) > 0",
          "", "ticket",
          "{{ $labels.instance }} cannot save its SLI windows: a restart would lose them");
    const bool tls = std::any_of(cfg_.frontends.begin(), cfg_.frontends.end(),
                                 [](const config::frontend& f) { return f.tls.has_value(); });
    if (tls) {
        // Two weeks leave room for a renewal that failed (certbot tries twice a day) to be
        // noticed and fixed in working hours; three days is the last call.
        const auto expiry = "(" + select("fulcrum_tls_certificate_expiry_timestamp_seconds") +
                            " - time()) / 86400";
        const auto summary = std::string(
            "Certificate {{ $labels.name }} ({{ $labels.key_type }}) of frontend "
            "{{ $labels.frontend }} on {{ $labels.instance }} expires in {{ $value | printf "
            "\"%.1f\" }} days");
        alert("FulcrumCertificateExpiresSoon", expiry + " < 14", "1h", "ticket", summary);
        alert("FulcrumCertificateExpiresVerySoon", expiry + " < 3", "10m", "page", summary);
        alert("FulcrumCertificateReloadFailing",
              "increase(" +
                  select("fulcrum_tls_certificate_reloads_total", "result=\"failure\"") +
                  "[15m]) > 0",
              "", "ticket",
              "{{ $labels.instance }} could not load its certificates again on SIGHUP: it "
              "serves the previous ones");
    }
    if (cfg_.failover && cfg_.failover->controller) {
        const auto active = select("fulcrum_failover_role", "role=\"active\"");
        // `or on ()`: vector(0) has no job label, so a plain `or` would add it beside the sum
        // every time and the alert would always fire; on () adds it only when there is no sum
        // at all (no node reports a role).
        alert("FulcrumNoActiveNode", "(sum by (job) (" + active + ") or on () vector(0)) < 1", "1m",
              "page", "No fulcrum node of the pair is ACTIVE: nothing holds the reserved IP");
        alert("FulcrumTwoActiveNodes", "sum by (job) (" + active + ") > 1", "1m", "page",
              "{{ $value }} fulcrum nodes are ACTIVE at once: split brain");
        if (cfg_.failover->reserved_ip) {
            alert("FulcrumReservedIpNotOnActive",
                  active + " == 1\nunless on (job, instance)\n" +
                      select("fulcrum_reserved_ip_holder_is_self") + " == 1",
                  "2m", "page",
                  "{{ $labels.instance }} is ACTIVE but does not hold the reserved IP");
        }
    }
    return g;
}

std::vector<group> rule_writer::groups() const {
    std::vector<group> out{objectives(), availability()};
    if (any_latency()) {
        out.push_back(latency());
    }
    out.push_back(month());
    out.push_back(data_plane());
    out.push_back(slo_alerts());
    out.push_back(fleet_alerts());
    return out;
}

void emit(YAML::Emitter& out, const labels& map) {
    out << YAML::BeginMap;
    for (const auto& [key, value] : map) {
        out << YAML::Key << key << YAML::Value << value;
    }
    out << YAML::EndMap;
}

} // namespace

std::string prometheus_rules(const config::config& cfg, const rules_options& options) {
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
    for (const auto& g : rule_writer(cfg, options).groups()) {
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << g.name << YAML::Key
            << "rules" << YAML::Value << YAML::BeginSeq;
        for (const auto& r : g.rules) {
            out << YAML::BeginMap;
            if (!r.record.empty()) {
                out << YAML::Key << "record" << YAML::Value << r.record;
            } else {
                out << YAML::Key << "alert" << YAML::Value << r.alert;
            }
            out << YAML::Key << "expr" << YAML::Value;
            if (r.expr.find('\n') != std::string::npos) {
                out << YAML::Literal;
            }
            out << r.expr;
            if (!r.for_duration.empty()) {
                out << YAML::Key << "for" << YAML::Value << r.for_duration;
            }
            if (!r.tags.empty()) {
                out << YAML::Key << "labels" << YAML::Value;
                emit(out, r.tags);
            }
            if (!r.annotations.empty()) {
                out << YAML::Key << "annotations" << YAML::Value;
                emit(out, r.annotations);
            }
            out << YAML::EndMap;
        }
        out << YAML::EndSeq << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return "# Generated by `fulcrum rules -c " + options.source +
           "`: the fleet view of fulcrum's SLIs with\n# this configuration's objectives. "
           "Regenerate it when an objective changes; do not edit.\n# See "
           "deploy/prometheus/README.md.\n" +
           std::string(out.c_str()) + "\n";
}

} // namespace fulcrum::monitoring
