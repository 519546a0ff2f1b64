// Passive observation against real broken servers (tests/support/broken_server.py) beside a
// healthy nginx: each is taken out of rotation after passive.gateway_errors (5 by default)
// failed exchanges, what clients see is bounded, and neither a blip nor a client's own failure
// takes a healthy server out.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace fulcrum::testing;

constexpr int gateway_errors = 5; // the default
constexpr int clients = 4;

// The broken server has no checks, so that only passive observation can take it DOWN. Without
// checks a passive DOWN lasts rise x interval of the check settings: 2 x 60 s here, longer than
// any test.
const std::string slow_checks = "    health_check: {interval: 60s}\n";

// config_yaml's backend with one more server, without checks (its list of servers ends the
// file).
std::string with_unchecked(std::string yaml, const std::string& name, const std::string& address) {
    return yaml + "      - {name: " + name + ", address: " + address + ", check: false}\n";
}

std::string metric_labels(const std::string& server) {
    return "{backend=\"app_pool\",server=\"" + server + "\"";
}

// fulcrum_server_up of the server, as /metrics says: 1 UP, 0 DOWN.
double up(const fulcrum_process& lb, const std::string& server) {
    return sample(scrape_metrics(lb.admin_port()),
                  "fulcrum_server_up" + metric_labels(server) + "}");
}

// `clients` clients, each sending GET / on a fresh connection after the other, until `done()`
// holds or `timeout` passes. Every response that is not a 200 is counted as failed, and
// apart, those with the status expected of the broken server.
struct tally {
    std::atomic<int> requests{0};
    std::atomic<int> failed{0};
    std::atomic<int> failed_with_expected{0};
    bool reached = false;
};

template <typename Condition>
void load_until(tally& t, std::uint16_t port, int expected_failure, const Condition& done,
                clock::duration timeout) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    for (int c = 0; c < clients; ++c) {
        load.emplace_back([&] {
            while (!stop) {
                const auto r = get(port, "/");
                ++t.requests;
                if (r.status != 200) {
                    ++t.failed;
                    t.failed_with_expected += r.status == expected_failure ? 1 : 0;
                }
            }
        });
    }
    t.reached = eventually(done, timeout);
    stop = true;
    for (auto& thread : load) {
        thread.join();
    }
}

// A backend of nginx app-1 and a server that fails as `mode` says: the broken one is taken
// DOWN by passive observation after `gateway_errors` failed exchanges in a row, clients see
// that many errors plus at most one per other client, and every request afterwards is served
// by app-1.
void expect_taken_down(const std::string& mode, int client_status, const std::string& last,
                       const std::string& timeouts = config_options{}.timeouts) {
    nginx_backend healthy("app-1");
    helper_server broken(support_script("broken_server.py", {mode}));
    config_options options;
    options.backend_extra = slow_checks;
    options.timeouts = timeouts;
    fulcrum_process lb(with_unchecked(config_yaml({{"app-1", healthy.address()}}, options),
                                      "broken", broken.address()));

    tally before;
    load_until(
        before, lb.port(), client_status, [&] { return up(lb, "broken") == 0; }, 30s);
    ASSERT_TRUE(before.reached) << lb.log();
    std::printf("%s: %d requests, %d failed before the DOWN\n", mode.c_str(),
                before.requests.load(), before.failed.load());
    EXPECT_GE(before.failed, gateway_errors) << "each failed exchange reaches a client";
    // The other clients each have at most one request on its way to it at that moment.
    EXPECT_LE(before.failed, gateway_errors + clients - 1);
    EXPECT_EQ(before.failed_with_expected, before.failed) << "every failure is a " << client_status;
    EXPECT_NE(lb.log().find("server app_pool/broken DOWN: 5 consecutive gateway errors, the last " +
                            last + " (passive)"),
              std::string::npos)
        << lb.log();
    EXPECT_EQ(
        sample(scrape_metrics(lb.admin_port()),
               "fulcrum_server_transitions_total" + metric_labels("broken") + ",to=\"down\"}"),
        1);
    EXPECT_EQ(up(lb, "app-1"), 1);

    for (int i = 0; i < 100; ++i) {
        const auto r = get(lb.port(), "/");
        ASSERT_EQ(r.status, 200) << "request " << i << " after the DOWN";
        ASSERT_EQ(r.body, "app-1\n");
    }
}

TEST(passive, a_server_that_accepts_and_closes_is_taken_down_after_5_gateway_errors) {
    expect_taken_down("close", 502, "a connection closed early");
}

TEST(passive, a_server_that_answers_garbage_is_taken_down_after_5_gateway_errors) {
    expect_taken_down("garbage", 502, "an invalid response");
}

// With timeouts.server at 1 s, each request sent to the hung server costs its client 1 s and a
// 504; the fifth in a row takes the server out.
TEST(passive, a_server_that_never_answers_is_taken_down_after_5_response_timeouts) {
    expect_taken_down("hang", 504, "a response timeout",
                      "{connect: 1s, client: 5s, server: 1s, http_request: 5s, keepalive: 5s}");
}

// Four resets in a row, one short of the default threshold, then a healthy server: it stays
// in rotation, and its first good response clears the count.
TEST(passive, a_blip_of_resets_shorter_than_the_threshold_keeps_a_healthy_server_up) {
    helper_server flaky(support_script("broken_server.py", {"resets", "4"}));
    config_options options;
    options.backend_extra = slow_checks;
    fulcrum_process lb(with_unchecked(config_yaml({}, options), "flaky", flaky.address()));
    for (int i = 0; i < gateway_errors - 1; ++i) {
        EXPECT_EQ(get(lb.port(), "/").status, 502) << "reset " << i;
    }
    for (int i = 0; i < 50; ++i) {
        const auto r = get(lb.port(), "/");
        ASSERT_EQ(r.status, 200) << "request " << i << " after the blip";
        ASSERT_EQ(r.body, "flaky\n");
    }
    EXPECT_EQ(up(lb, "flaky"), 1);
    EXPECT_EQ(lb.log().find("DOWN"), std::string::npos) << lb.log();
    EXPECT_EQ(sample(scrape_metrics(lb.admin_port()),
                     "fulcrum_server_transitions_total" + metric_labels("flaky") + ",to=\"down\"}"),
              0);
}

// With a threshold of 1, any failure wrongly blamed on the server would take it DOWN: a client
// that resets while the server works, and one that goes quiet mid-body (408), must not.
TEST(passive, a_client_failure_never_counts_against_the_server) {
    nginx_backend app("app-1");
    config_options options;
    options.backend_extra = slow_checks + "    passive: {gateway_errors: 1}\n";
    options.timeouts = "{connect: 1s, client: 1s, server: 5s, http_request: 5s, keepalive: 5s}";
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, options));

    raw_client impatient(lb.port());
    impatient.send("GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(eventually([&] { return app.requests_in_progress() == 1; }));
    impatient.reset();
    ASSERT_TRUE(eventually([&] {
        return sample(scrape_metrics(lb.admin_port()),
                      "fulcrum_http_requests_aborted_total{service=\"app_pool\"}") == 1;
    }));
    raw_client quiet(lb.port());
    quiet.send("PUT /upload/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten..");
    EXPECT_EQ(parse_response(quiet.receive_all()).status, 408);

    EXPECT_EQ(up(lb, "app-1"), 1);
    EXPECT_EQ(lb.log().find("DOWN"), std::string::npos) << lb.log();
    EXPECT_EQ(get(lb.port(), "/").status, 200);
}

} // namespace
