// The SLI through the real binary: exact counts for a planned mix of answers, valid Prometheus
// exposition (the real Prometheus with the fleet rules: fleet_rules_test.cpp).

#include "harness.hpp"
#include "responder.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>

namespace fulcrum::testing {
namespace {

// "name{labels}" -> value, for every sample of a Prometheus text exposition.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
    }
    return out;
}

constexpr std::string_view slo_section = R"(slo:
  objective: 99.5
  latency: {threshold: 250ms, objective: 99}
)";

// Sends `count` requests for `path` on one keep-alive connection; returns the statuses seen.
std::map<int, int> send_keep_alive(std::uint16_t port, const std::string& path, int count) {
    std::map<int, int> statuses;
    raw_client client(port);
    for (int i = 0; i < count; ++i) {
        client.send("GET " + path + " HTTP/1.1\r\nHost: app\r\n\r\n");
        ++statuses[parse_response(client.receive_response()).status];
    }
    return statuses;
}

TEST(sli, a_planned_mix_gives_exact_counters_and_every_direct_sli_gauge) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}) + std::string(slo_section));
    // 1000 requests: 7 x 503, 3 x 500 and 20 x 404 from the server, 2 slower than 250 ms.
    std::map<int, int> seen;
    for (const auto& [path, count] : std::vector<std::pair<std::string, int>>{{"/", 968},
                                                                              {"/status/503", 7},
                                                                              {"/status/404", 20},
                                                                              {"/status/500", 3},
                                                                              {"/slow", 2}}) {
        for (const auto& [status, n] : send_keep_alive(lb.port(), path, count)) {
            seen[status] += n;
        }
    }
    EXPECT_EQ(seen, (std::map<int, int>{{200, 970}, {404, 20}, {500, 3}, {503, 7}}));

    const std::string s = "service=\"app_pool\"";
    ASSERT_TRUE(eventually([&] {
        return samples(get(lb.admin_port(), "/metrics")
                           .body)["fulcrum_sli_window_requests{" + s + ",window=\"30d\"}"] == 1000;
    }));
    auto m = samples(get(lb.admin_port(), "/metrics").body);
    EXPECT_EQ(m["fulcrum_http_requests_total{" + s + ",code=\"200\"}"], 970);
    EXPECT_EQ(m["fulcrum_http_requests_total{" + s + ",code=\"404\"}"], 20);
    EXPECT_EQ(m["fulcrum_http_requests_total{" + s + ",code=\"500\"}"], 3);
    EXPECT_EQ(m["fulcrum_http_requests_total{" + s + ",code=\"503\"}"], 7);
    EXPECT_EQ(m["fulcrum_http_requests_aborted_total{" + s + "}"], 0);
    // The failures as one counter, and the codes fulcrum answers itself present at 0, so that
    // rate() sees the first of them.
    EXPECT_EQ(m["fulcrum_http_requests_errors_total{" + s + "}"], 10);
    for (const auto* code : {"400", "408", "413", "414", "431", "502", "504"}) {
        const auto it = m.find("fulcrum_http_requests_total{" + s + ",code=\"" + code + "\"}");
        ASSERT_NE(it, m.end()) << code;
        EXPECT_EQ(it->second, 0) << code;
    }
    EXPECT_EQ(m["fulcrum_http_request_duration_seconds_count{" + s + "}"], 1000);
    EXPECT_EQ(m["fulcrum_http_request_duration_seconds_bucket{" + s + ",le=\"0.25\"}"], 998);
    EXPECT_EQ(m["fulcrum_http_request_duration_seconds_bucket{" + s + ",le=\"+Inf\"}"], 1000);
    EXPECT_EQ(m["fulcrum_backend_http_responses_total{backend=\"app_pool\",server=\"app-1\","
                "code=\"503\"}"],
              7);

    // Availability: 10 failures in 1000 against a budget of 0.5 %: burn 2, twice the budget
    // spent (remaining -1), red, and only the 1x ticket (3d and 6h) fires. The 404s are good.
    // Latency: 2 slow in 1000 against a budget of 1 %: burn 0.2, 80 % left, green.
    for (const auto* w : {"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"}) {
        const std::string l = "{" + s + ",window=\"" + w + "\"}";
        EXPECT_EQ(m["fulcrum_sli_window_requests" + l], 1000) << w;
        EXPECT_EQ(m["fulcrum_sli_window_errors" + l], 10) << w;
        EXPECT_EQ(m["fulcrum_sli_availability_ratio" + l], 0.99) << w;
        EXPECT_EQ(m["fulcrum_slo_burn_rate" + l], 2) << w;
        EXPECT_EQ(m["fulcrum_sli_window_slow_requests" + l], 2) << w;
        EXPECT_EQ(m["fulcrum_sli_latency_ratio" + l], 0.998) << w;
        EXPECT_DOUBLE_EQ(m["fulcrum_slo_latency_burn_rate" + l], 0.2) << w;
    }
    // The windows have seen as much as fulcrum has run, the same in each that is longer.
    const auto covered = m["fulcrum_sli_window_coverage_seconds{" + s + ",window=\"5m\"}"];
    EXPECT_GE(covered, 0);
    EXPECT_LE(covered, 300);
    EXPECT_EQ(m["fulcrum_sli_window_coverage_seconds{" + s + ",window=\"30d\"}"], covered);
    // The budget is spent already; the latency budget, 80 % left at 0.2x, lasts 4 months.
    for (const auto* w : {"1h", "6h"}) {
        const std::string l = "{" + s + ",window=\"" + w + "\"}";
        EXPECT_EQ(m["fulcrum_slo_error_budget_exhaustion_seconds" + l], 0) << w;
        EXPECT_DOUBLE_EQ(m["fulcrum_slo_latency_error_budget_exhaustion_seconds" + l],
                         0.8 * 30 * 86400 / 0.2)
            << w;
    }
    EXPECT_EQ(m["fulcrum_slo_objective_ratio{" + s + "}"], 0.995);
    EXPECT_EQ(m["fulcrum_slo_error_budget_remaining_ratio{" + s + "}"], -1);
    EXPECT_EQ(m["fulcrum_slo_latency_objective_ratio{" + s + "}"], 0.99);
    EXPECT_EQ(m["fulcrum_slo_latency_threshold_seconds{" + s + "}"], 0.25);
    EXPECT_DOUBLE_EQ(m["fulcrum_slo_latency_error_budget_remaining_ratio{" + s + "}"], 0.8);
    for (const auto* zone : {"green", "yellow", "orange", "red"}) {
        EXPECT_EQ(m["fulcrum_slo_budget_zone{" + s + ",zone=\"" + zone + "\"}"],
                  zone == std::string("red"))
            << zone;
        EXPECT_EQ(m["fulcrum_slo_latency_budget_zone{" + s + ",zone=\"" + zone + "\"}"],
                  zone == std::string("green"))
            << zone;
    }
    const auto alert = [&](const std::string& family, const std::string& labels) {
        return m.at(family + "{" + s + "," + labels + "}");
    };
    EXPECT_EQ(
        alert("fulcrum_slo_alert", "severity=\"page\",long_window=\"1h\",short_window=\"5m\""), 0);
    EXPECT_EQ(
        alert("fulcrum_slo_alert", "severity=\"page\",long_window=\"6h\",short_window=\"30m\""), 0);
    EXPECT_EQ(
        alert("fulcrum_slo_alert", "severity=\"ticket\",long_window=\"1d\",short_window=\"2h\""),
        0);
    EXPECT_EQ(
        alert("fulcrum_slo_alert", "severity=\"ticket\",long_window=\"3d\",short_window=\"6h\""),
        1);
    EXPECT_EQ(alert("fulcrum_slo_latency_alert",
                    "severity=\"ticket\",long_window=\"3d\",short_window=\"6h\""),
              0);

    // GET /sli says the same, for a person.
    const auto sli = get(lb.admin_port(), "/sli");
    EXPECT_EQ(sli.status, 200);
    EXPECT_NE(sli.head.find("application/json"), std::string::npos);
    for (
        const auto* part :
        {R"("service": "app_pool")",
         R"("5m": {"requests": 1000, "errors": 10, "ratio": 0.99, "burn_rate": 2, "coverage_seconds": )",
         R"("error_budget_exhaustion_seconds": {"1h": 0, "6h": 0})",
         R"("30d": {"requests": 1000, "slow": 2, "ratio": 0.998, "burn_rate": 0.2)",
         R"("objective": 0.995, "error_budget_remaining": -1, "budget_zone": "red")",
         R"("threshold_seconds": 0.25, "objective": 0.99, "error_budget_remaining": 0.8)",
         R"("long_window": "3d", "short_window": "6h", "burn_rate": 1, "firing": true)"}) {
        EXPECT_NE(sli.body.find(part), std::string::npos) << part << "\n" << sli.body;
    }
}

TEST(sli, promtool_accepts_the_metrics_exposition) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}) + std::string(slo_section));
    send_keep_alive(lb.port(), "/", 10);
    send_keep_alive(lb.port(), "/status/503", 1);
    ASSERT_TRUE(eventually([&] {
        return get(lb.admin_port(), "/metrics").body.find("fulcrum_sli_availability_ratio") !=
               std::string::npos;
    }));
    temp_dir dir;
    write_file(dir.path() / "metrics.txt", get(lb.admin_port(), "/metrics").body);
    int exit_code = -1;
    const auto out = run(
        "promtool check metrics < " + (dir.path() / "metrics.txt").string() + " 2>&1", &exit_code);
    EXPECT_EQ(exit_code, 0) << out;
    EXPECT_EQ(out, "");
}

TEST(sli, a_response_the_server_cuts_short_counts_as_a_502_failure) {
    responder cut;
    cut.reply("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly the start");
    fulcrum_process lb(config_yaml({{"cut", "127.0.0.1:" + std::to_string(cut.port())}}));
    raw_client client(lb.port());
    client.send("GET / HTTP/1.1\r\nHost: app\r\n\r\n");
    const auto received = client.receive_all();
    EXPECT_TRUE(received.starts_with("HTTP/1.1 200")) << received;
    EXPECT_TRUE(received.ends_with("only the start")) << "the client sees a truncated body";
    const std::string s = "service=\"app_pool\"";
    ASSERT_TRUE(eventually([&] {
        return samples(get(lb.admin_port(), "/metrics")
                           .body)["fulcrum_sli_window_errors{" + s + ",window=\"5m\"}"] == 1;
    })) << get(lb.admin_port(), "/metrics").body;
    auto m = samples(get(lb.admin_port(), "/metrics").body);
    EXPECT_EQ(m["fulcrum_http_requests_total{" + s + ",code=\"502\"}"], 1);
    EXPECT_EQ(m["fulcrum_http_requests_total{" + s + ",code=\"200\"}"], 0);
}

} // namespace
} // namespace fulcrum::testing
