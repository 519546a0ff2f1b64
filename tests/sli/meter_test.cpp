#include "sli/exposition.hpp"
#include "sli/meter.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <thread>

namespace {

fulcrum::config::config two_backends() {
    fulcrum::config::config cfg;
    cfg.frontends.resize(2);
    cfg.frontends[0].name = "http";
    cfg.frontends[1].name = "api";
    cfg.backends.resize(2);
    cfg.backends[0].name = "app_pool";
    cfg.backends[0].service = "web";
    cfg.backends[0].servers.resize(2);
    cfg.backends[0].servers[0].name = "app-1";
    cfg.backends[0].servers[1].name = "app-2";
    cfg.backends[1].name = "api_pool";
    cfg.backends[1].service = "api";
    cfg.frontends[0].routes.resize(1);
    cfg.frontends[0].routes[0].backend = 1;
    cfg.frontends[0].routes[0].service = "public_api";
    cfg.backends[1].servers.resize(1);
    cfg.backends[1].servers[0].name = "api-1";
    return cfg;
}

TEST(meter, counts_per_frontend_and_target_are_summed_over_shards) {
    const auto cfg = two_backends();
    fulcrum::sli::meter m(cfg, 2);
    m.shard_at(0).record(0, m.target_of_server(0, 1), 0, 200, std::chrono::milliseconds(1));
    m.shard_at(1).record(0, m.target_of_server(0, 1), 0, 200, std::chrono::milliseconds(1));
    m.shard_at(1).record(1, m.target_of_backend(1), 1, 503, std::chrono::milliseconds(1));

    EXPECT_EQ(m.frontend_total(0, 200), 2u);
    EXPECT_EQ(m.frontend_total(1, 503), 1u);
    EXPECT_EQ(m.target_total(m.target_of_server(0, 1), 200), 2u);
    EXPECT_EQ(m.target_total(m.target_of_server(0, 0), 200), 0u);
    EXPECT_EQ(m.target_total(m.target_of_backend(1), 503), 1u);
}

TEST(meter, services_are_numbered_once_from_backends_and_routes) {
    const auto cfg = two_backends();
    fulcrum::sli::meter m(cfg, 2);
    EXPECT_EQ(m.services(), (std::vector<std::string>{"web", "api", "public_api"}));
    EXPECT_EQ(m.service_of_backend(1), 1u);
    EXPECT_EQ(m.service_of_route(0, 0), 2u);
    m.shard_at(0).record(0, m.target_of_server(1, 0), m.service_of_route(0, 0), 500,
                         std::chrono::milliseconds(1));
    m.shard_at(1).record(0, m.target_of_server(1, 0), m.service_of_route(0, 0), 200,
                         std::chrono::milliseconds(1));
    m.shard_at(1).record_aborted(m.service_of_backend(0));
    EXPECT_EQ(m.service_total(2, 500), 1u);
    EXPECT_EQ(m.service_total(2, 200), 1u);
    EXPECT_EQ(m.service_total(1, 200), 0u);
    EXPECT_EQ(m.aborted_total(0), 1u);
}

TEST(meter, shards_written_by_their_own_threads_lose_no_count) {
    const auto cfg = two_backends();
    fulcrum::sli::meter m(cfg, 2);
    auto hammer = [&](std::size_t shard) {
        for (int i = 0; i < 100000; ++i) {
            m.shard_at(shard).record(0, m.target_of_server(0, 0), 0, 200,
                                     std::chrono::milliseconds(1));
        }
    };
    std::thread a(hammer, 0);
    std::thread b(hammer, 1);
    a.join();
    b.join();
    EXPECT_EQ(m.frontend_total(0, 200), 200000u);
}

TEST(meter, out_of_range_statuses_do_not_corrupt_neighbours) {
    const auto cfg = two_backends();
    fulcrum::sli::meter m(cfg, 1);
    m.shard_at(0).record(0, 0, 0, 42, std::chrono::milliseconds(1));
    m.shard_at(0).record(0, 0, 0, 700, std::chrono::milliseconds(1));
    EXPECT_EQ(m.frontend_total(0, 599), 2u);
    EXPECT_EQ(m.frontend_total(1, 599), 0u);
}

TEST(exposition, prometheus_text_names_frontend_backend_server_and_code) {
    const auto cfg = two_backends();
    fulcrum::sli::meter m(cfg, 1);
    m.shard_at(0).record(0, m.target_of_server(0, 0), 0, 200, std::chrono::milliseconds(1));
    m.shard_at(0).record(0, m.target_of_backend(0), 0, 503, std::chrono::milliseconds(1));
    fulcrum::sli::meter_collectable collectable(cfg, m);
    const std::string text = prometheus::TextSerializer().Serialize(collectable.Collect());

    EXPECT_NE(text.find("fulcrum_frontend_http_responses_total{frontend=\"http\",code=\"200\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(
        text.find("fulcrum_backend_http_responses_total{backend=\"app_pool\",server=\"app-1\","
                  "code=\"200\"} 1"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find("fulcrum_backend_http_responses_total{backend=\"app_pool\",server=\"<NOSRV>\","
                  "code=\"503\"} 1"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("fulcrum_http_requests_total{service=\"web\",code=\"503\"} 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("fulcrum_http_requests_aborted_total{service=\"api\"} 0"),
              std::string::npos)
        << "every service has its aborted counter, from zero: " << text;
    EXPECT_EQ(text.find("api_pool"), std::string::npos)
        << "no series for codes that never occurred";
}

TEST(exposition, latency_histogram_has_cumulative_buckets_with_the_thresholds_added) {
    auto cfg = two_backends();
    cfg.slo.services["web"].latency =
        fulcrum::config::latency_objective{std::chrono::milliseconds(300), 99};
    fulcrum::sli::meter m(cfg, 2);
    using std::chrono::milliseconds;
    m.shard_at(0).record(0, 0, 0, 200, milliseconds(3));
    m.shard_at(1).record(0, 0, 0, 200, milliseconds(300));
    m.shard_at(1).record(0, 0, 0, 503, milliseconds(301));
    m.shard_at(0).record(0, 0, 0, 200, milliseconds(20000));
    const std::string text =
        prometheus::TextSerializer().Serialize(fulcrum::sli::meter_collectable(cfg, m).Collect());
    const auto sample = [&](std::string_view le, int count) {
        return "fulcrum_http_request_duration_seconds_bucket{service=\"web\",le=\"" +
               std::string(le) + "\"} " + std::to_string(count) + "\n";
    };
    EXPECT_NE(text.find(sample("0.005", 1)), std::string::npos) << text;
    EXPECT_NE(text.find(sample("0.25", 1)), std::string::npos) << text;
    EXPECT_NE(text.find(sample("0.3", 2)), std::string::npos) << "a bucket at the threshold";
    EXPECT_NE(text.find(sample("0.5", 3)), std::string::npos) << text;
    EXPECT_NE(text.find(sample("10", 3)), std::string::npos) << text;
    EXPECT_NE(text.find(sample("+Inf", 4)), std::string::npos) << text;
    EXPECT_NE(text.find("fulcrum_http_request_duration_seconds_count{service=\"web\"} 4"),
              std::string::npos);
    EXPECT_NE(text.find("fulcrum_http_request_duration_seconds_sum{service=\"web\"} 20.604"),
              std::string::npos)
        << text;
    EXPECT_EQ(m.fast_total(0), 2u) << "at or under the threshold is fast";
    m.shard_at(0).record(0, 0, 0, 408, milliseconds(10000));
    EXPECT_EQ(m.fast_total(0), 3u) << "a 408 is the client's slowness, not the service's";
    EXPECT_EQ(m.latency_total(0, m.latency_bounds().size() - 1), 1u) << "in the 10 s bucket";
}

} // namespace
