// What `fulcrum rules` writes for a configuration: each service's own budget, a latency rule
// whose `le` is the bucket fulcrum exports, and only the alerts the configuration can feed.
// promtool runs the rules themselves (deploy/prometheus/fulcrum.rules.test.yml).

#include "monitoring/rules.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono_literals;

std::string rules_for(const std::string& slo_and_more) {
    const auto loaded = fulcrum::config::load_string("admin: {bind: 127.0.0.1:9100}\n"
                                                     "frontends:\n"
                                                     "  - name: http\n"
                                                     "    bind: [127.0.0.1:8080]\n"
                                                     "    default_backend: web\n"
                                                     "    routes: [{host: api, backend: api}]\n"
                                                     "backends:\n"
                                                     "  - {name: web, servers: [{name: w, "
                                                     "address: 127.0.0.1:8081}]}\n"
                                                     "  - {name: api, servers: [{name: a, "
                                                     "address: 127.0.0.1:8082}]}\n" +
                                                         slo_and_more,
                                                     "test.yaml");
    EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
    return fulcrum::monitoring::prometheus_rules(loaded.value, {});
}

// How fulcrum's /metrics (prometheus-cpp) writes a histogram bucket bound of `seconds`.
std::string exported_le(double seconds) {
    prometheus::MetricFamily family{"h", "", prometheus::MetricType::Histogram, {}};
    prometheus::ClientMetric metric;
    metric.histogram.bucket.push_back({0, seconds});
    family.metric.push_back(metric);
    const auto text = prometheus::TextSerializer().Serialize({family});
    const auto start = text.find("le=\"") + 4;
    return text.substr(start, text.find('"', start) - start);
}

TEST(rules, each_service_is_divided_by_its_own_budget) {
    const auto rules = rules_for("slo:\n  objective: 99.95\n  services:\n"
                                 "    web: {objective: 99.9}\n    api: {objective: 99}\n");
    EXPECT_NE(rules.find("expr: vector(0.001)\n        labels:\n          service: web"),
              std::string::npos)
        << rules;
    EXPECT_NE(rules.find("expr: vector(0.01)\n        labels:\n          service: api"),
              std::string::npos);
    EXPECT_EQ(rules.find("0.0005"), std::string::npos) << "no service keeps the default";
}

TEST(rules, the_latency_rule_selects_the_bucket_fulcrum_exports_for_the_threshold) {
    for (const auto threshold : {300ms, 250ms, 123ms, 1000ms, 1500ms, 10ms, 33ms, 2500ms}) {
        const auto rules =
            rules_for("slo:\n  latency: {threshold: " + std::to_string(threshold.count()) +
                      "ms, objective: 99}\n");
        const auto le = exported_le(std::chrono::duration<double>(threshold).count());
        EXPECT_NE(rules.find("service=\"web\",le=\"" + le + "\"}"), std::string::npos)
            << threshold.count() << " ms: /metrics writes le=\"" << le << "\"";
    }
}

TEST(rules, alerts_come_only_for_what_the_configuration_has) {
    const auto plain = rules_for("");
    EXPECT_NE(plain.find("alert: FulcrumErrorBudgetBurnFast"), std::string::npos);
    EXPECT_NE(plain.find("alert: FulcrumInstanceAbsent"), std::string::npos);
    for (const auto* absent : {"Latency", "latency_ratio", "FulcrumNoActiveNode",
                               "FulcrumTwoActiveNodes", "FulcrumReservedIpNotOnActive"}) {
        EXPECT_EQ(plain.find(absent), std::string::npos) << absent;
    }
    const auto pair = rules_for(
        "failover: {node: lb-1, peer: 127.0.0.1:9200, hooks: {on_active: [/bin/true]}}\n");
    EXPECT_NE(pair.find("alert: FulcrumTwoActiveNodes"), std::string::npos);
    EXPECT_EQ(pair.find("FulcrumReservedIpNotOnActive"), std::string::npos)
        << "no reserved IP configured";
}

TEST(rules, selectors_name_the_job_and_alerts_link_the_runbook_base) {
    const auto loaded = fulcrum::config::load_string(
        "admin: {bind: 127.0.0.1:9100}\nfrontends: [{name: http, bind: [127.0.0.1:8080], "
        "default_backend: web}]\nbackends: [{name: web, servers: [{name: w, address: "
        "127.0.0.1:8081}]}]\n",
        "test.yaml");
    ASSERT_TRUE(loaded.ok());
    const auto rules = fulcrum::monitoring::prometheus_rules(
        loaded.value,
        {.job = "edge", .runbook_base = "https://wiki.example.com/rb", .source = "x"});
    EXPECT_NE(rules.find("fulcrum_http_requests_errors_total{job=\"edge\"}"), std::string::npos);
    EXPECT_EQ(rules.find("job=\"fulcrum\""), std::string::npos);
    EXPECT_NE(rules.find("runbook_url: https://wiki.example.com/rb#fulcrumserverdown"),
              std::string::npos);
}

} // namespace
