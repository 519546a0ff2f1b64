// The fleet view against fulcrum's own: a real Prometheus scraping a real fulcrum, with the
// rules `fulcrum rules` generates from the same configuration, must give the same 5m
// availability and burn rate per service as fulcrum's gauges, for two services with different
// objectives, from the first seconds of traffic on.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <regex>
#include <thread>

namespace fulcrum::testing {
namespace {

// The value of a Prometheus instant query with one result, if there is one yet.
std::optional<double> query(std::uint16_t port, const std::string& expr) {
    const auto body = run("curl -s --max-time 5 --get http://127.0.0.1:" + std::to_string(port) +
                          "/api/v1/query --data-urlencode 'query=" + expr + "'");
    static const std::regex one_value(
        R"re("result":\[\{"metric":\{[^}]*\},"value":\[[0-9.]+,"([^"]+)"\]\}\])re");
    std::smatch match;
    if (!std::regex_search(body, match, one_value)) {
        return std::nullopt;
    }
    return std::strtod(match[1].str().c_str(), nullptr);
}

std::string two_services(const std::string& web, const std::string& api) {
    return "global: {threads: 2}\n"
           "admin: {bind: 127.0.0.1:0}\n"
           "frontends:\n"
           "  - name: http\n"
           "    bind: [127.0.0.1:0]\n"
           "    default_backend: web\n"
           "    routes: [{host: api, backend: api}]\n"
           "backends:\n"
           "  - {name: web, servers: [{name: web-1, address: " +
           web +
           "}]}\n"
           "  - {name: api, servers: [{name: api-1, address: " +
           api +
           "}]}\n"
           "slo:\n"
           "  services:\n"
           "    web: {objective: 99.9}\n"
           "    api: {objective: 99}\n";
}

// One service's 5m availability and burn rate, as the rules compute them and as fulcrum's own
// gauges say, read from Prometheus at the same instant.
struct comparison {
    std::optional<double> rules_availability, direct_availability, rules_burn, direct_burn;

    bool complete() const {
        return rules_availability && direct_availability && rules_burn && direct_burn;
    }
};

comparison compare(std::uint16_t prometheus, const std::string& service) {
    const std::string of = "{service=\"" + service + "\"}";
    const std::string window = "{service=\"" + service + "\",window=\"5m\"}";
    return {query(prometheus, "sli:service:control_plane_services:availability:rate5m" + of),
            query(prometheus, "fulcrum_sli_availability_ratio" + window),
            query(prometheus, "sli:service:control_plane_services:burn_rate:rate5m" + of),
            query(prometheus, "fulcrum_slo_burn_rate" + window)};
}

TEST(fleet_rules, a_real_prometheus_with_the_generated_rules_agrees_with_fulcrum_per_service) {
    nginx_backend web("web-1");
    nginx_backend api("api-1");
    const auto yaml = two_services(web.address(), api.address());
    fulcrum_process lb(yaml);
    temp_dir dir;
    write_file(dir.path() / "fulcrum.yaml", yaml);
    int exit_code = -1;
    const auto rules =
        run(std::string(FULCRUM_BINARY) + " rules -c " + (dir.path() / "fulcrum.yaml").string(),
            &exit_code);
    ASSERT_EQ(exit_code, 0) << rules;
    write_file(dir.path() / "rules.yml", rules);
    const auto port = unused_port();
    write_file(dir.path() / "prometheus.yml",
               "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
               "rule_files: ['" +
                   (dir.path() / "rules.yml").string() +
                   "']\n"
                   "scrape_configs:\n"
                   "  - job_name: fulcrum\n"
                   "    static_configs: [{targets: ['127.0.0.1:" +
                   std::to_string(lb.admin_port()) + "']}]\n");
    process prometheus({"prometheus", "--config.file=" + (dir.path() / "prometheus.yml").string(),
                        "--storage.tsdb.path=" + (dir.path() / "data").string(),
                        "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                       dir.path() / "prometheus.log");
    // Traffic starts once Prometheus has scraped fulcrum's series at 0, as a fleet's would
    // have before a service's first errors.
    ASSERT_TRUE(eventually(
        [&] {
            const auto n =
                query(port, "fulcrum_http_request_duration_seconds_count{service=\"web\"}");
            return n && *n == 0;
        },
        30s))
        << prometheus.log();

    // A burst of 5xx from the first requests on (one in 10 for the first 500 of each
    // service), then one in 100; the services' objectives differ, so do their burn rates.
    std::atomic<bool> stop{false};
    const auto load = [&](const std::string& host) {
        return std::thread([&, host] {
            raw_client client(lb.port());
            for (int i = 0; !stop; ++i) {
                const bool failure = i < 500 ? i % 10 == 0 : i % 100 == 0;
                client.send(std::string("GET ") + (failure ? "/status/503" : "/") +
                            " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
                client.receive_response();
            }
        });
    };
    const auto started = clock::now();
    std::thread web_load = load("web");
    std::thread api_load = load("api");

    // From the 10th second on, the two agree within 1 percentage point at every look; after
    // 20 s, within 0.05.
    double worst_after_10s = 0;
    std::string worst_at;
    comparison last_web, last_api;
    while (clock::now() - started < 20s) {
        const auto seconds = std::chrono::duration<double>(clock::now() - started).count();
        for (const auto* service : {"web", "api"}) {
            const auto c = compare(port, service);
            (std::string(service) == "web" ? last_web : last_api) = c;
            if (seconds < 10 || !c.complete()) {
                continue;
            }
            const double gap = std::abs(*c.rules_availability - *c.direct_availability);
            if (gap > worst_after_10s) {
                worst_after_10s = gap;
                worst_at = std::string(service) + " at " + std::to_string(seconds) + " s";
            }
        }
        std::this_thread::sleep_for(500ms);
    }
    const auto final_web = compare(port, "web");
    const auto final_api = compare(port, "api");
    stop = true;
    web_load.join();
    api_load.join();

    ASSERT_TRUE(final_web.complete() && final_api.complete()) << prometheus.log();
    std::printf("worst 5m availability gap from the 10th second on: %.4f percentage points "
                "(%s)\n",
                worst_after_10s * 100, worst_at.c_str());
    EXPECT_LE(worst_after_10s, 0.01) << worst_at;
    for (const auto& [service, c, budget] :
         {std::tuple{"web", final_web, 0.001}, std::tuple{"api", final_api, 0.01}}) {
        std::printf("%s after 20 s: availability rules %.5f %% fulcrum %.5f %%, burn rules %.3f "
                    "fulcrum %.3f\n",
                    service, *c.rules_availability * 100, *c.direct_availability * 100,
                    *c.rules_burn, *c.direct_burn);
        EXPECT_NEAR(*c.rules_availability, *c.direct_availability, 0.0005) << service;
        // The burn rates divide by the same service's budget: they agree to the same
        // 0.05 points of error ratio.
        EXPECT_NEAR(*c.rules_burn * budget, *c.direct_burn * budget, 0.0005) << service;
        EXPECT_LT(*c.direct_availability, 0.99) << service << ": the burst is in the window";
    }
    EXPECT_NEAR(*final_web.direct_burn / *final_api.direct_burn, 10, 1)
        << "one mix, a budget ten times smaller";
}

} // namespace
} // namespace fulcrum::testing
