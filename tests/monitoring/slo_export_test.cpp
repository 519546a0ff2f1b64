#include "monitoring/slo_export.hpp"

#include "../config/config_loading.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace fulcrum::monitoring {
namespace {

using config::loading::load_ok;

// Two services at different objectives, one with a latency SLI; "app_pool" has a name that
// OpenSLO's names cannot carry as it is.
constexpr std::string_view two_services = R"(frontends:
  - name: http
    bind: [127.0.0.1:80]
    default_backend: app_pool
    routes:
      - {path_prefix: /search, backend: search}
backends:
  - name: app_pool
    servers:
      - {name: a, address: 127.0.0.1:81}
  - name: search
    servers:
      - {name: a, address: 127.0.0.1:82}
slo:
  objective: 99.9
  services:
    search:
      objective: 99
      latency: {threshold: 250ms, objective: 99.5}
)";

std::vector<YAML::Node> exported(std::string_view config_text, slo_format format) {
    const auto out = export_slos(load_ok(config_text), format, "fulcrum");
    for (const auto& error : out.errors) {
        ADD_FAILURE() << error;
    }
    return YAML::LoadAll(out.yaml);
}

std::vector<YAML::Node> of_kind(const std::vector<YAML::Node>& docs, const std::string& kind) {
    std::vector<YAML::Node> out;
    for (const auto& d : docs) {
        if (d["kind"].as<std::string>() == kind) {
            out.push_back(d);
        }
    }
    return out;
}

YAML::Node named(const std::vector<YAML::Node>& docs, const std::string& kind,
                 const std::string& name) {
    for (const auto& d : of_kind(docs, kind)) {
        if (d["metadata"]["name"].as<std::string>() == name) {
            return d;
        }
    }
    ADD_FAILURE() << "no " << kind << " named " << name;
    return YAML::Node();
}

std::string query(const YAML::Node& sli, const std::string& role) {
    return sli["spec"]["ratioMetric"][role]["metricSource"]["spec"]["query"].as<std::string>();
}

TEST(SloExport, ParsesTheTwoFormatNamesOnly) {
    EXPECT_EQ(parse_slo_format("openslo"), slo_format::openslo);
    EXPECT_EQ(parse_slo_format("sloth"), slo_format::sloth);
    EXPECT_FALSE(parse_slo_format("OpenSLO"));
    EXPECT_FALSE(parse_slo_format(""));
}

TEST(SloExport, OpenSloHasEachServicesObjectiveAsWritten) {
    const auto docs = exported(two_services, slo_format::openslo);
    for (const auto& d : docs) {
        EXPECT_EQ(d["apiVersion"].as<std::string>(), "openslo/v1");
    }
    ASSERT_EQ(of_kind(docs, "Service").size(), 2u);
    ASSERT_EQ(of_kind(docs, "SLO").size(), 3u); // two availability SLOs, one latency SLO

    const auto app = named(docs, "SLO", "app-pool-availability")["spec"];
    // The exact decimal, not 0.99899999999999999.
    EXPECT_EQ(app["objectives"][0]["target"].Scalar(), "0.999");
    EXPECT_EQ(app["service"].as<std::string>(), "app-pool");
    EXPECT_EQ(app["budgetingMethod"].as<std::string>(), "Occurrences");
    EXPECT_EQ(app["timeWindow"][0]["duration"].as<std::string>(), "30d");
    EXPECT_TRUE(app["timeWindow"][0]["isRolling"].as<bool>());
    EXPECT_EQ(named(docs, "Service", "app-pool")["metadata"]["displayName"].as<std::string>(),
              "app_pool");

    EXPECT_EQ(named(docs, "SLO", "search-availability")["spec"]["objectives"][0]["target"].Scalar(),
              "0.99");
    EXPECT_EQ(named(docs, "SLO", "search-latency")["spec"]["objectives"][0]["target"].Scalar(),
              "0.995");
}

TEST(SloExport, OpenSloIndicatorsReadFulcrumsSeriesOfTheService) {
    const auto docs = exported(two_services, slo_format::openslo);
    const auto availability = named(docs, "SLI", "app-pool-availability");
    EXPECT_FALSE(availability["spec"]["ratioMetric"]["counter"].as<bool>());
    EXPECT_EQ(
        query(availability, "bad"),
        R"(sum(rate(fulcrum_http_requests_errors_total{job="fulcrum",service="app_pool"}[5m])))");
    EXPECT_EQ(
        query(availability, "total"),
        R"(sum(rate(fulcrum_http_request_duration_seconds_count{job="fulcrum",service="app_pool"}[5m])))");
    EXPECT_FALSE(availability["spec"]["ratioMetric"]["good"]);

    const auto latency = named(docs, "SLI", "search-latency");
    // `le` as fulcrum's /metrics writes 250 ms.
    EXPECT_EQ(
        query(latency, "good"),
        R"(sum(rate(fulcrum_http_request_duration_seconds_bucket{job="fulcrum",service="search",le="0.25"}[5m])))");
    EXPECT_EQ(
        query(latency, "total"),
        R"(sum(rate(fulcrum_http_request_duration_seconds_count{job="fulcrum",service="search"}[5m])))");
    EXPECT_FALSE(latency["spec"]["ratioMetric"]["bad"]);
    EXPECT_EQ(named(docs, "SLO", "search-latency")["spec"]["indicatorRef"].as<std::string>(),
              "search-latency");
}

TEST(SloExport, OpenSloAlertPoliciesAreFulcrumsFourBurnRateAlerts) {
    const auto docs = exported(two_services, slo_format::openslo);
    struct expected {
        std::string name, severity, threshold, lookback, after;
    };
    const std::vector<expected> alerts{{"fulcrum-burn-fast", "page", "14.4", "1h", "5m"},
                                       {"fulcrum-burn-medium", "page", "6", "6h", "30m"},
                                       {"fulcrum-burn-slow", "ticket", "3", "1d", "2h"},
                                       {"fulcrum-burn-leak", "ticket", "1", "3d", "6h"}};
    ASSERT_EQ(of_kind(docs, "AlertPolicy").size(), alerts.size());
    for (const auto& a : alerts) {
        const auto spec = named(docs, "AlertPolicy", a.name)["spec"];
        ASSERT_EQ(spec["conditions"].size(), 1u) << a.name;
        const auto condition = spec["conditions"][0]["spec"];
        EXPECT_EQ(condition["severity"].as<std::string>(), a.severity);
        EXPECT_EQ(condition["condition"]["kind"].as<std::string>(), "burnrate");
        EXPECT_EQ(condition["condition"]["op"].as<std::string>(), "gt");
        EXPECT_EQ(condition["condition"]["threshold"].Scalar(), a.threshold);
        EXPECT_EQ(condition["condition"]["lookbackWindow"].as<std::string>(), a.lookback);
        EXPECT_EQ(condition["condition"]["alertAfter"].as<std::string>(), a.after);
        const auto target = spec["notificationTargets"][0]["targetRef"].as<std::string>();
        EXPECT_EQ(target, "fulcrum-" + a.severity);
        named(docs, "AlertNotificationTarget", target);
    }
    // Every SLO refers to all four: the burn rates are relative to its own budget.
    for (const auto& slo : of_kind(docs, "SLO")) {
        const auto refs = slo["spec"]["alertPolicies"];
        ASSERT_EQ(refs.size(), alerts.size());
        for (std::size_t i = 0; i < alerts.size(); ++i) {
            EXPECT_EQ(refs[i]["alertPolicyRef"].as<std::string>(), alerts[i].name);
        }
    }
}

TEST(SloExport, SlothHasOneSpecPerServiceWithItsObjectives) {
    const auto docs = exported(two_services, slo_format::sloth);
    ASSERT_EQ(docs.size(), 2u);
    EXPECT_EQ(docs[0]["version"].as<std::string>(), "prometheus/v1");
    EXPECT_EQ(docs[0]["service"].as<std::string>(), "app_pool");
    ASSERT_EQ(docs[0]["slos"].size(), 1u);
    const auto app = docs[0]["slos"][0];
    EXPECT_EQ(app["name"].as<std::string>(), "requests-availability");
    EXPECT_EQ(app["objective"].Scalar(), "99.9");
    EXPECT_EQ(
        app["sli"]["events"]["error_query"].as<std::string>(),
        R"(sum(rate(fulcrum_http_requests_errors_total{job="fulcrum",service="app_pool"}[{{.window}}])))");
    EXPECT_EQ(
        app["sli"]["events"]["total_query"].as<std::string>(),
        R"(sum(rate(fulcrum_http_request_duration_seconds_count{job="fulcrum",service="app_pool"}[{{.window}}])))");
    EXPECT_EQ(app["alerting"]["page_alert"]["labels"]["severity"].as<std::string>(), "page");
    EXPECT_EQ(app["alerting"]["ticket_alert"]["labels"]["severity"].as<std::string>(), "ticket");

    EXPECT_EQ(docs[1]["service"].as<std::string>(), "search");
    ASSERT_EQ(docs[1]["slos"].size(), 2u);
    EXPECT_EQ(docs[1]["slos"][0]["objective"].Scalar(), "99");
    const auto latency = docs[1]["slos"][1];
    EXPECT_EQ(latency["name"].as<std::string>(), "requests-latency");
    EXPECT_EQ(latency["objective"].Scalar(), "99.5");
    // Slow = all - fast: the histogram has no bucket for "above the threshold".
    EXPECT_EQ(
        latency["sli"]["events"]["error_query"].as<std::string>(),
        R"((sum(rate(fulcrum_http_request_duration_seconds_count{job="fulcrum",service="search"}[{{.window}}])))"
        R"( - sum(rate(fulcrum_http_request_duration_seconds_bucket{job="fulcrum",service="search",le="0.25"})"
        R"([{{.window}}]))))");
}

// The scrape job is the operator's text, quoted for PromQL.
TEST(SloExport, QueriesSelectTheScrapeJob) {
    const auto out = export_slos(load_ok(two_services), slo_format::sloth, R"(lb "edge")");
    ASSERT_TRUE(out.errors.empty());
    const auto docs = YAML::LoadAll(out.yaml);
    EXPECT_EQ(docs[0]["slos"][0]["sli"]["events"]["total_query"].as<std::string>(),
              R"(sum(rate(fulcrum_http_request_duration_seconds_count{job="lb \"edge\"",)"
              R"(service="app_pool"}[{{.window}}])))");
}

// A service named like a YAML keyword or number stays a string.
TEST(SloExport, ServiceNamesStayStrings) {
    std::string text(two_services);
    text.replace(text.find("name: search"), 12, "name: \"true\"");
    text.replace(text.find("backend: search"), 15, "backend: \"true\"");
    text.replace(text.find("    search:"), 11, "    \"true\":");
    const auto sloth = exported(text, slo_format::sloth);
    ASSERT_EQ(sloth.size(), 2u);
    EXPECT_EQ(sloth[1]["service"].Tag(), "!");
    EXPECT_EQ(sloth[1]["service"].as<std::string>(), "true");
    const auto docs = exported(text, slo_format::openslo);
    EXPECT_EQ(named(docs, "SLO", "true-latency")["spec"]["service"].Tag(), "!");
}

std::vector<std::string> errors_for(const std::string& service, slo_format format) {
    std::string text(config::loading::minimal);
    text.replace(text.find("app_pool"), 8, service);
    text.replace(text.find("app_pool"), 8, service);
    return export_slos(load_ok(text), format, "fulcrum").errors;
}

TEST(SloExport, NamesTheFormatCannotCarryAreErrorsNotRewrites) {
    EXPECT_EQ(errors_for("_pool", slo_format::openslo),
              std::vector<std::string>{"service '_pool': an OpenSLO name starts and ends with a "
                                       "letter or digit"});
    EXPECT_EQ(errors_for(std::string(51, 'a'), slo_format::openslo).size(), 1u);
    EXPECT_TRUE(errors_for(std::string(50, 'a'), slo_format::openslo).empty());
    EXPECT_EQ(errors_for("a", slo_format::sloth),
              std::vector<std::string>{"service 'a': a Sloth service name has 2 characters or "
                                       "more and starts and ends with a letter or digit"});
    EXPECT_TRUE(errors_for("a", slo_format::openslo).empty());
    EXPECT_TRUE(errors_for("_pool", slo_format::sloth).size() == 1u);
}

TEST(SloExport, TwoServicesWithOneOpenSloNameAreAnError) {
    std::string text(two_services);
    text.replace(text.find("name: search"), 12, "name: App_Pool");
    text.replace(text.find("backend: search"), 15, "backend: App_Pool");
    text.replace(text.find("    search:"), 11, "    App_Pool:");
    const auto out = export_slos(load_ok(text), slo_format::openslo, "fulcrum");
    EXPECT_EQ(out.errors, std::vector<std::string>{"services 'app_pool' and 'App_Pool' both have "
                                                   "the OpenSLO name 'app-pool'"});
    EXPECT_TRUE(out.yaml.empty());
    EXPECT_TRUE(export_slos(load_ok(text), slo_format::sloth, "fulcrum").errors.empty());
}

} // namespace
} // namespace fulcrum::monitoring
