#include "monitoring/slo_export.hpp"

#include "base/number_text.hpp"
#include "config/values.hpp"
#include "monitoring/naming.hpp"
#include "sli/slo.hpp"
#include "sli/windows.hpp"

#include <yaml-cpp/yaml.h>

#include <map>

namespace fulcrum::monitoring {

namespace {

// Numbers as YAML::Emitter does not write them: "0.999", not 0.99899999999999999.
using base::shortest_text;

// The series of one service that both SLIs are made of (docs/sli.md), the same that `fulcrum
// rules` reads. A service name holds only letters, digits, '_', '.' and '-' (config
// validation), so it goes into a label matcher as it is; the job is any text.
struct series {
    std::string errors; // 5xx responses
    std::string total;  // every response
    std::string fast;   // responses complete within the latency threshold; empty: no latency SLI
};

series series_of(std::string_view service, const config::objectives& o, const std::string& job) {
    const std::string matcher =
        "{job=\"" + promql_quoted(job) + "\",service=\"" + std::string(service) + "\"";
    series s{"fulcrum_http_requests_errors_total" + matcher + "}",
             "fulcrum_http_request_duration_seconds_count" + matcher + "}",
             {}};
    if (o.latency) {
        // The histogram has a bucket at every configured threshold (sli/meter.hpp).
        s.fast = "fulcrum_http_request_duration_seconds_bucket" + matcher + ",le=\"" +
                 le_label(o.latency->threshold) + "\"}";
    }
    return s;
}

std::string availability_text(const config::objectives& o) {
    return shortest_text(o.availability_percent) + " % of responses not 5xx";
}

std::string latency_text(const config::latency_objective& l) {
    return shortest_text(l.percent) + " % of responses complete within " +
           config::format_duration(l.threshold);
}

// What the format cannot carry, or "" when it can.
using name_check = std::string (*)(std::string_view service);

std::vector<std::string> check_names(const std::vector<std::string>& services, name_check check) {
    std::vector<std::string> errors;
    for (const auto& service : services) {
        if (auto error = check(service); !error.empty()) {
            errors.push_back("service '" + service + "': " + error);
        }
    }
    return errors;
}

bool alphanumeric(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ---- OpenSLO v1 (https://github.com/OpenSLO/OpenSLO, README.md "Specification") ----

// OpenSLO names are RFC 1123 labels: lowercase letters, digits and '-', at most 63. The
// service's own name stays in displayName and in the queries.
std::string openslo_name(std::string_view service) {
    std::string out;
    for (const char c : service) {
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a')
               : alphanumeric(c)      ? c
                                      : '-';
    }
    return out;
}

// The longest name made from a service's: "<name>-availability".
constexpr std::string_view longest_suffix = "-availability";

std::string openslo_name_problem(std::string_view service) {
    const std::string name = openslo_name(service);
    if (!alphanumeric(name.front()) || !alphanumeric(name.back())) {
        return "an OpenSLO name starts and ends with a letter or digit";
    }
    if (name.size() + longest_suffix.size() > 63) {
        return "an OpenSLO name has at most 63 characters: at most " +
               std::to_string(63 - longest_suffix.size()) + " for a service";
    }
    return {};
}

// Two services whose names differ only where OpenSLO's cannot ("App" and "app", "a_b" and
// "a-b") would get the same objects.
std::vector<std::string> openslo_name_clashes(const std::vector<std::string>& services) {
    std::vector<std::string> errors;
    std::map<std::string, std::string> seen;
    for (const auto& service : services) {
        const auto [it, added] = seen.emplace(openslo_name(service), service);
        if (!added) {
            errors.push_back("services '" + it->second + "' and '" + service +
                             "' both have the OpenSLO name '" + it->first + "'");
        }
    }
    return errors;
}

// apiVersion, kind and metadata of one document; the caller writes `spec` and ends the map.
void begin_object(YAML::Emitter& e, std::string_view kind, const std::string& name,
                  std::string_view display_name = {}) {
    e << YAML::BeginDoc << YAML::BeginMap;
    e << YAML::Key << "apiVersion" << YAML::Value << "openslo/v1";
    e << YAML::Key << "kind" << YAML::Value << std::string(kind);
    e << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << name;
    if (!display_name.empty()) {
        e << YAML::Key << "displayName" << YAML::Value << YAML::DoubleQuoted
          << std::string(display_name);
    }
    e << YAML::EndMap;
}

// Where page and ticket alerts go: named so that a tool that turns them into Alertmanager
// labels routes them like the `severity` label of fulcrum's own rules.
void notification_targets(YAML::Emitter& e) {
    for (const auto sev : {sli::severity::page, sli::severity::ticket}) {
        const std::string name = "fulcrum-" + std::string(sli::name(sev));
        begin_object(e, "AlertNotificationTarget", name);
        e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
        e << YAML::Key << "description" << YAML::Value
          << (sev == sli::severity::page ? "Wakes the on-call engineer: budget burning fast"
                                         : "A ticket for working hours: budget leaking");
        e << YAML::Key << "target" << YAML::Value << std::string(sli::name(sev));
        e << YAML::EndMap << YAML::EndMap;
    }
}

// fulcrum-burn-fast, ...: after the alerts of `fulcrum rules`, as an OpenSLO name.
std::string policy_name(std::size_t rule) {
    return "fulcrum-burn-" + openslo_name(burn_alert_speeds[rule]);
}

// One condition per policy, as OpenSLO v1 allows. A burn rate is relative to each SLO's own
// budget, so the same four policies serve every objective. OpenSLO has no field for the
// short window of a multiwindow alert: it is written as alertAfter, as the spec's own example
// pairs lookbackWindow 1h with alertAfter 5m (docs/sli.md says what that means).
void alert_condition(YAML::Emitter& e, std::size_t rule_index) {
    const auto& rule = sli::alert_rules[rule_index];
    e << YAML::BeginMap;
    e << YAML::Key << "kind" << YAML::Value << "AlertCondition";
    e << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << policy_name(rule_index) << YAML::EndMap;
    e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "description" << YAML::Value
      << "Burn rate above " + shortest_text(rule.burn) + " over " +
             std::string(name(rule.long_window)) + " and over " +
             std::string(name(rule.short_window));
    e << YAML::Key << "severity" << YAML::Value << std::string(sli::name(rule.sev));
    e << YAML::Key << "condition" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "kind" << YAML::Value << "burnrate";
    // Strictly above, as fulcrum's own alerts (sli/slo.hpp): burning at exactly 1x meets the SLO.
    e << YAML::Key << "op" << YAML::Value << "gt";
    e << YAML::Key << "threshold" << YAML::Value << shortest_text(rule.burn);
    e << YAML::Key << "lookbackWindow" << YAML::Value << std::string(name(rule.long_window));
    e << YAML::Key << "alertAfter" << YAML::Value << std::string(name(rule.short_window));
    e << YAML::EndMap << YAML::EndMap << YAML::EndMap;
}

void alert_policies(YAML::Emitter& e) {
    for (std::size_t r = 0; r < sli::alert_rules.size(); ++r) {
        begin_object(e, "AlertPolicy", policy_name(r));
        e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
        // No data is a quiet service, not a burning one.
        e << YAML::Key << "alertWhenNoData" << YAML::Value << false;
        e << YAML::Key << "alertWhenResolved" << YAML::Value << false;
        e << YAML::Key << "alertWhenBreaching" << YAML::Value << true;
        e << YAML::Key << "conditions" << YAML::Value << YAML::BeginSeq;
        alert_condition(e, r);
        e << YAML::EndSeq;
        e << YAML::Key << "notificationTargets" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
        e << YAML::Key << "targetRef" << YAML::Value
          << "fulcrum-" + std::string(sli::name(sli::alert_rules[r].sev));
        e << YAML::EndMap << YAML::EndSeq << YAML::EndMap << YAML::EndMap;
    }
}

// `role` is "good", "bad" or "total". Rates, summed over fulcrum's instances (`counter:
// false`): rate() takes each instance's counter resets into account before the sum, where a
// reader taking the increase of a summed counter would read one instance's restart as a reset
// of all and count every instance's whole history again. 5m is the rules' shortest window, 4
// scrapes and more at the usual intervals; the ratio of two rates over one window is the ratio
// of the counts.
void prometheus_source(YAML::Emitter& e, std::string_view role, const std::string& counter) {
    e << YAML::Key << std::string(role) << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "metricSource" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "type" << YAML::Value << "Prometheus";
    e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "query" << YAML::Value << "sum(rate(" + counter + "[5m]))";
    e << YAML::EndMap << YAML::EndMap << YAML::EndMap;
}

struct openslo_sli {
    std::string name;           // of both the SLI and its SLO
    std::string description;    // of the SLI
    std::string objective;      // the SLO's objective in words
    double target;              // as a ratio
    std::string_view numerator; // "good" or "bad"
    const std::string& numerator_counter;
    const std::string& total_counter;
};

void sli_and_slo(YAML::Emitter& e, const std::string& service_name, const openslo_sli& s) {
    begin_object(e, "SLI", s.name);
    e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "description" << YAML::Value << s.description;
    e << YAML::Key << "ratioMetric" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "counter" << YAML::Value << false;
    prometheus_source(e, s.numerator, s.numerator_counter);
    prometheus_source(e, "total", s.total_counter);
    e << YAML::EndMap << YAML::EndMap << YAML::EndMap;

    begin_object(e, "SLO", s.name);
    e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "description" << YAML::Value << s.objective + ", over a rolling 30 days";
    e << YAML::Key << "service" << YAML::Value << YAML::DoubleQuoted << service_name;
    e << YAML::Key << "indicatorRef" << YAML::Value << YAML::DoubleQuoted << s.name;
    e << YAML::Key << "timeWindow" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    e << YAML::Key << "duration" << YAML::Value << std::string(name(sli::window::d30));
    e << YAML::Key << "isRolling" << YAML::Value << true << YAML::EndMap << YAML::EndSeq;
    e << YAML::Key << "budgetingMethod" << YAML::Value << "Occurrences";
    e << YAML::Key << "objectives" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    e << YAML::Key << "displayName" << YAML::Value << s.objective;
    e << YAML::Key << "target" << YAML::Value << shortest_text(s.target) << YAML::EndMap
      << YAML::EndSeq;
    e << YAML::Key << "alertPolicies" << YAML::Value << YAML::BeginSeq;
    for (std::size_t r = 0; r < sli::alert_rules.size(); ++r) {
        e << YAML::BeginMap << YAML::Key << "alertPolicyRef" << YAML::Value << policy_name(r)
          << YAML::EndMap;
    }
    e << YAML::EndSeq << YAML::EndMap << YAML::EndMap;
}

void openslo_service(YAML::Emitter& e, const std::string& service, const config::objectives& o,
                     const std::string& job) {
    const std::string name = openslo_name(service);
    const series s = series_of(service, o, job);
    begin_object(e, "Service", name, service);
    e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "description" << YAML::Value
      << "The requests fulcrum routes to service " + service + ", measured at its edge";
    e << YAML::EndMap << YAML::EndMap;
    sli_and_slo(e, name,
                {name + "-availability", "Share of responses that are not 5xx",
                 availability_text(o), sli::objective::from_percent(o.availability_percent).target,
                 "bad", s.errors, s.total});
    if (o.latency) {
        sli_and_slo(
            e, name,
            {name + "-latency",
             "Share of responses complete within " + config::format_duration(o.latency->threshold),
             latency_text(*o.latency), sli::objective::from_percent(o.latency->percent).target,
             "good", s.fast, s.total});
    }
}

std::string openslo(const config::config& cfg, const std::vector<std::string>& services,
                    const std::string& job) {
    YAML::Emitter e;
    notification_targets(e);
    alert_policies(e);
    for (const auto& service : services) {
        openslo_service(e, service, cfg.slo.of(service), job);
    }
    return std::string(e.c_str()) + "\n";
}

// ---- Sloth prometheus/v1 (https://github.com/slok/sloth, pkg/prometheus/api/v1) ----

// Sloth's own rule for service names (internal/prometheus/model.go).
std::string sloth_name_problem(std::string_view service) {
    if (service.size() < 2 || !alphanumeric(service.front()) || !alphanumeric(service.back())) {
        return "a Sloth service name has 2 characters or more and starts and ends with a letter "
               "or digit";
    }
    return {};
}

// Sloth's windows for a 30-day period are fulcrum's four alerts (sli/slo.hpp), so the page
// and ticket alerts it generates burn at the same rates.
void sloth_slo(YAML::Emitter& e, std::string_view kind, double percent,
               const std::string& description, const std::string& error_query,
               const std::string& total_query) {
    const std::string title = kind == "availability" ? "ErrorBudgetBurn" : "LatencyBudgetBurn";
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << "requests-" + std::string(kind);
    e << YAML::Key << "objective" << YAML::Value << shortest_text(percent);
    e << YAML::Key << "description" << YAML::Value << description;
    e << YAML::Key << "sli" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "events" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "error_query" << YAML::Value << error_query;
    e << YAML::Key << "total_query" << YAML::Value << total_query;
    e << YAML::EndMap << YAML::EndMap;
    e << YAML::Key << "alerting" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << "Fulcrum" + title;
    e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "category" << YAML::Value << std::string(kind) << YAML::EndMap;
    e << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "summary" << YAML::Value << description << YAML::EndMap;
    for (const auto sev : {sli::severity::page, sli::severity::ticket}) {
        e << YAML::Key << std::string(sli::name(sev)) + "_alert" << YAML::Value << YAML::BeginMap;
        e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
        e << YAML::Key << "severity" << YAML::Value << std::string(sli::name(sev));
        e << YAML::EndMap << YAML::EndMap;
    }
    e << YAML::EndMap << YAML::EndMap;
}

std::string rate(const std::string& counter) {
    return "sum(rate(" + counter + "[{{.window}}]))";
}

// One spec per fulcrum service: Sloth's `service` is the application the SLOs belong to,
// which its rules carry as sloth_service and its dashboards group by.
void sloth_service(YAML::Emitter& e, const std::string& service, const config::objectives& o,
                   const std::string& job) {
    const series s = series_of(service, o, job);
    e << YAML::BeginDoc << YAML::BeginMap;
    e << YAML::Key << "version" << YAML::Value << "prometheus/v1";
    e << YAML::Key << "service" << YAML::Value << YAML::DoubleQuoted << service;
    e << YAML::Key << "slos" << YAML::Value << YAML::BeginSeq;
    sloth_slo(e, "availability", o.availability_percent, availability_text(o), rate(s.errors),
              rate(s.total));
    if (o.latency) {
        sloth_slo(e, "latency", o.latency->percent, latency_text(*o.latency),
                  "(" + rate(s.total) + " - " + rate(s.fast) + ")", rate(s.total));
    }
    e << YAML::EndSeq << YAML::EndMap;
}

std::string sloth(const config::config& cfg, const std::vector<std::string>& services,
                  const std::string& job) {
    YAML::Emitter e;
    for (const auto& service : services) {
        sloth_service(e, service, cfg.slo.of(service), job);
    }
    return std::string(e.c_str()) + "\n";
}

} // namespace

std::optional<slo_format> parse_slo_format(std::string_view name) {
    if (name == "openslo") {
        return slo_format::openslo;
    }
    if (name == "sloth") {
        return slo_format::sloth;
    }
    return std::nullopt;
}

slo_export export_slos(const config::config& cfg, slo_format format, const std::string& job) {
    const auto services = config::service_names(cfg);
    slo_export out;
    if (format == slo_format::openslo) {
        out.errors = check_names(services, openslo_name_problem);
        auto clashes = openslo_name_clashes(services);
        out.errors.insert(out.errors.end(), clashes.begin(), clashes.end());
    } else {
        out.errors = check_names(services, sloth_name_problem);
    }
    if (out.errors.empty()) {
        out.yaml =
            format == slo_format::openslo ? openslo(cfg, services, job) : sloth(cfg, services, job);
    }
    return out;
}

} // namespace fulcrum::monitoring
