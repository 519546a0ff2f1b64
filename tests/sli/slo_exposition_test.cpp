#include "sli/meter.hpp"
#include "sli/service_windows.hpp"
#include "sli/slo_exposition.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

namespace {

using namespace fulcrum::sli;
using namespace std::chrono_literals;

fulcrum::config::config web_and_api() {
    fulcrum::config::config cfg;
    cfg.frontends.resize(1);
    cfg.frontends[0].name = "http";
    cfg.backends.resize(2);
    cfg.backends[0].name = "web";
    cfg.backends[0].service = "web";
    cfg.backends[0].servers.resize(1);
    cfg.backends[1].name = "api";
    cfg.backends[1].service = "api";
    cfg.backends[1].servers.resize(1);
    return cfg;
}

class direct_sli : public ::testing::Test {
protected:
    const fulcrum::config::config cfg = web_and_api();
    meter counts{cfg, 2};
    service_windows windows{counts, cfg.slo};
    wall_clock::time_point now = wall_clock::time_point(std::chrono::hours(24 * 20000));
    slo_collectable collectable{counts, windows, [this] { return now; }};

    void respond(int status, int times) {
        for (int i = 0; i < times; ++i) {
            counts.shard_at(i % 2).record(0, counts.target_of_server(0, 0), 0, status,
                                          std::chrono::milliseconds(1));
        }
    }
    std::string scrape() { return prometheus::TextSerializer().Serialize(collectable.Collect()); }
};

TEST_F(direct_sli, the_windows_count_what_was_answered_since_the_last_tick) {
    respond(200, 990);
    respond(404, 5);
    respond(503, 5);
    windows.tick(now);
    now += 1s;
    respond(200, 1000);
    windows.tick(now);
    const auto c = windows.counter(0).over(window::m5, now);
    EXPECT_EQ(c.total, 2000u);
    EXPECT_EQ(c.good, 1995u) << "404s stay in the denominator; only 5xx are failures";
}

TEST_F(direct_sli, availability_burn_and_budget_are_exposed_for_a_service_with_traffic) {
    respond(200, 999);
    respond(500, 1);
    windows.tick(now);
    const auto text = scrape();
    EXPECT_NE(text.find("fulcrum_sli_availability_ratio{service=\"web\",window=\"5m\"} 0.999"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("fulcrum_sli_window_requests{service=\"web\",window=\"30d\"} 1000"),
              std::string::npos);
    EXPECT_NE(text.find("fulcrum_sli_window_errors{service=\"web\",window=\"1h\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("fulcrum_slo_burn_rate{service=\"web\",window=\"5m\"} 2"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("fulcrum_slo_error_budget_remaining_ratio{service=\"web\"} -1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("fulcrum_slo_budget_zone{service=\"web\",zone=\"red\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("fulcrum_slo_objective_ratio{service=\"web\"} 0.9995"), std::string::npos);
    EXPECT_NE(text.find("fulcrum_slo_alert{service=\"web\",severity=\"ticket\",long_window="
                        "\"3d\",short_window=\"6h\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("fulcrum_slo_alert{service=\"web\",severity=\"page\",long_window=\"1h\","
                        "short_window=\"5m\"} 0"),
              std::string::npos)
        << "a burn of 2 does not page";
}

TEST_F(direct_sli, a_service_without_traffic_reports_counts_but_no_ratio) {
    respond(200, 10);
    windows.tick(now);
    const auto text = scrape();
    EXPECT_NE(text.find("fulcrum_sli_window_requests{service=\"api\",window=\"5m\"} 0"),
              std::string::npos);
    EXPECT_EQ(text.find("fulcrum_sli_availability_ratio{service=\"api\""), std::string::npos);
    EXPECT_EQ(text.find("fulcrum_slo_burn_rate{service=\"api\""), std::string::npos);
    EXPECT_EQ(text.find("fulcrum_slo_budget_zone{service=\"api\""), std::string::npos);
    EXPECT_EQ(text.find("NaN"), std::string::npos);
}

TEST_F(direct_sli, old_traffic_leaves_the_short_windows) {
    respond(500, 10);
    windows.tick(now);
    now += 10min;
    windows.tick(now);
    const auto text = scrape();
    EXPECT_EQ(text.find("fulcrum_sli_availability_ratio{service=\"web\",window=\"5m\"}"),
              std::string::npos);
    EXPECT_NE(text.find("fulcrum_sli_availability_ratio{service=\"web\",window=\"30m\"} 0"),
              std::string::npos)
        << text;
}

TEST(direct_latency_sli, a_service_with_a_latency_objective_has_its_own_ratio_budget_and_burn) {
    auto cfg = web_and_api();
    cfg.slo.services["api"] = {99.9, fulcrum::config::latency_objective{100ms, 99}};
    meter counts{cfg, 1};
    service_windows windows{counts, cfg.slo};
    const auto now = wall_clock::time_point(std::chrono::hours(24 * 20000));
    for (int i = 0; i < 1000; ++i) {
        counts.shard_at(0).record(0, counts.target_of_server(1, 0), 1, i < 10 ? 503 : 200,
                                  i < 980 ? 20ms : 150ms);
    }
    windows.tick(now);
    const auto text = prometheus::TextSerializer().Serialize(
        slo_collectable(counts, windows, [&] { return now; }).Collect());
    const auto has = [&](const std::string& line) {
        EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
    };
    has("fulcrum_slo_objective_ratio{service=\"api\"} 0.999");
    // prometheus-cpp writes 16 significant digits; Prometheus reads back the same double.
    has("fulcrum_slo_objective_ratio{service=\"web\"} 0.9995000000000001");
    has("fulcrum_sli_availability_ratio{service=\"api\",window=\"1h\"} 0.99");
    has("fulcrum_sli_latency_ratio{service=\"api\",window=\"1h\"} 0.98");
    has("fulcrum_sli_window_slow_requests{service=\"api\",window=\"30d\"} 20");
    has("fulcrum_slo_latency_threshold_seconds{service=\"api\"} 0.1");
    has("fulcrum_slo_latency_objective_ratio{service=\"api\"} 0.99");
    has("fulcrum_slo_latency_burn_rate{service=\"api\",window=\"5m\"} 2");
    has("fulcrum_slo_latency_error_budget_remaining_ratio{service=\"api\"} -1");
    has("fulcrum_slo_latency_budget_zone{service=\"api\",zone=\"red\"} 1");
    has("fulcrum_slo_burn_rate{service=\"api\",window=\"5m\"} 10");
    EXPECT_EQ(text.find("fulcrum_sli_latency_ratio{service=\"web\""), std::string::npos)
        << "web has no latency objective";
}

} // namespace
