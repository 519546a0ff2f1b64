// The connection limit and fulcrum's own exhaustion (docs/operations.md, "Limits and
// exhaustion"), with the descriptor limit of the real binary set by the harness.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace fulcrum::testing {
namespace {

constexpr std::string_view keep_alive_request = "GET / HTTP/1.1\r\nHost: app\r\n\r\n";

// A client that sent one keep-alive request and collects its response as it comes.
struct held_client {
    explicit held_client(std::uint16_t port) : socket(std::make_unique<raw_client>(port)) {
        socket->send(std::string(keep_alive_request));
    }
    // Reads what has arrived; true once the whole response is in.
    bool poll() {
        if (!answered) {
            received += socket->receive_available();
            answered = parse_response(received).status != 0;
        }
        return answered;
    }
    std::unique_ptr<raw_client> socket;
    std::string received;
    bool answered = false;
};

std::size_t count_answered(std::vector<held_client>& clients) {
    return static_cast<std::size_t>(
        std::count_if(clients.begin(), clients.end(), [](held_client& c) { return c.poll(); }));
}

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

std::string server_sample(const std::string& name, const std::string& server,
                          const std::string& more = "") {
    return name + "{backend=\"app_pool\",server=\"" + server + "\"" + more + "}";
}

TEST(limits, at_the_descriptor_limit_clients_wait_in_the_backlog_and_servers_stay_up) {
    nginx_backend app1("app-1");
    nginx_backend app2("app-2");
    config_options options;
    options.timeouts = "{connect: 1s, client: 30s, server: 30s, http_request: 30s, keepalive: 60s}";
    options.backend_extra = "    health_check: {interval: 200ms, timeout: 200ms}\n";
    fulcrum_process fulcrum(
        config_yaml({{"app-1", app1.address()}, {"app-2", app2.address()}}, options), 256);
    const auto admin = fulcrum.admin_port();
    // 16 + 32 (admin connections) + 8 for the control plane, 2 workers x (3 + 2 x 1 address), 2
    // checked servers: 68 reserved, and (256 - 68) x 19 / 40.
    const std::size_t maxconn = 89;
    EXPECT_TRUE(eventually([&] {
        return fulcrum.log().find("descriptor limit 256: maxconn 89 (derived), 68 reserved") !=
               std::string::npos;
    })) << fulcrum.log();
    EXPECT_EQ(sample(scrape_metrics(admin), "fulcrum_maxconn"), maxconn);

    std::vector<held_client> clients;
    for (int i = 0; i < 400; ++i) {
        clients.emplace_back(fulcrum.port());
        ASSERT_TRUE(clients.back().socket->connected()) << i;
    }
    // maxconn of them are served and stay connected; the others wait.
    ASSERT_TRUE(eventually([&] { return count_answered(clients) == maxconn; }))
        << count_answered(clients);
    const std::string open = "fulcrum_frontend_connections{frontend=\"http\"}";
    EXPECT_EQ(sample(scrape_metrics(admin), open), maxconn);

    // The control plane works from its reserve: the admin listener and the health checks.
    const auto healthz = get(admin, "/healthz");
    EXPECT_EQ(healthz.status, 200) << healthz.body;
    const std::string checks =
        server_sample("fulcrum_server_check_duration_seconds_count", "app-1");
    const double checks_before = sample(scrape_metrics(admin), checks);
    ASSERT_TRUE(
        eventually([&] { return sample(scrape_metrics(admin), checks) >= checks_before + 3; }));
    EXPECT_EQ(count_answered(clients), maxconn); // still nobody beyond the limit

    // Some of the first ones leave: as many waiting clients are served.
    std::size_t closed = 0;
    for (auto& c : clients) {
        if (c.answered && closed < 10) {
            c.socket->close();
            ++closed;
        }
    }
    ASSERT_TRUE(eventually([&] { return count_answered(clients) == maxconn + 10; }))
        << count_answered(clients);

    // Everyone leaves once answered: all 400 are served.
    ASSERT_TRUE(eventually(
        [&] {
            std::size_t answered = 0;
            for (auto& c : clients) {
                if (c.poll()) {
                    c.socket->close();
                    ++answered;
                }
            }
            return answered == clients.size();
        },
        60s));
    for (auto& c : clients) {
        EXPECT_EQ(parse_response(c.received).status, 200) << c.received;
    }

    // A response is metered once it is written, which a client can see first.
    const std::string served = "fulcrum_http_requests_total{service=\"app_pool\",code=\"200\"}";
    EXPECT_TRUE(eventually([&] { return sample(scrape_metrics(admin), served) == 400; }))
        << sample(scrape_metrics(admin), served);
    const auto metrics = scrape_metrics(admin);
    EXPECT_EQ(sample(metrics, "fulcrum_http_requests_total{service=\"app_pool\",code=\"503\"}"), 0);
    for (const std::string server : {"app-1", "app-2"}) {
        EXPECT_EQ(sample(metrics, server_sample("fulcrum_server_up", server)), 1) << server;
        EXPECT_EQ(sample(metrics,
                         server_sample("fulcrum_server_transitions_total", server, ",to=\"down\"")),
                  0)
            << server;
        EXPECT_EQ(sample(metrics, server_sample("fulcrum_server_check_failures_total", server,
                                                ",reason=\"connect\"")),
                  0)
            << server;
    }
    EXPECT_EQ(sample(metrics, "fulcrum_resource_exhaustion_total{resource=\"emfile\"}"), 0);
    const double pauses = sample(metrics, "fulcrum_accept_pauses_total{frontend=\"http\"}");
    EXPECT_GE(pauses, 1);
    // Logged once per episode, counted every time.
    const auto lines = occurrences(fulcrum.log(), "accepting paused");
    EXPECT_GE(lines, 1u) << fulcrum.log();
    EXPECT_LT(static_cast<double>(lines), pauses) << fulcrum.log();
}

TEST(limits, a_connect_or_check_failing_for_want_of_descriptors_never_takes_a_server_down) {
    nginx_backend app("app-1");
    config_options options;
    options.threads = 1; // one acceptor: the first clients in are the first accepted
    options.global_extra = "maxconn: 200"; // more than 128 descriptors can carry
    options.backend_extra = "    health_check: {interval: 100ms, timeout: 100ms, fall: 1}\n"
                            "    passive: {connect_failures: 1}\n";
    fulcrum_process fulcrum(config_yaml({{"app-1", app.address()}}, options), 128);
    EXPECT_TRUE(eventually([&] {
        return fulcrum.log().find("warning: global.maxconn 200 needs") != std::string::npos;
    })) << fulcrum.log();

    // Idle clients until fulcrum cannot accept any more: every descriptor is taken.
    std::vector<std::unique_ptr<raw_client>> clients;
    for (int i = 0; i < 150; ++i) {
        clients.push_back(std::make_unique<raw_client>(fulcrum.port()));
    }
    ASSERT_TRUE(eventually([&] {
        return fulcrum.log().find("accept on frontend http failed: fulcrum is out of the "
                                  "process's descriptor limit") != std::string::npos;
    })) << fulcrum.log();

    // A request now cannot get a server connection: fulcrum answers 503 itself.
    for (int i = 0; i < 3; ++i) {
        clients[i]->send("GET / HTTP/1.1\r\nHost: app\r\n\r\n");
        const auto r = parse_response(clients[i]->receive_response());
        EXPECT_EQ(r.status, 503) << i;
    }
    // And a health check could not be made either (fall: 1 would take the server DOWN).
    ASSERT_TRUE(eventually([&] {
        return fulcrum.log().find("health check of app_pool/app-1 failed: fulcrum is out of") !=
               std::string::npos;
    }));

    clients.clear();
    ASSERT_TRUE(eventually([&] { return get(fulcrum.admin_port(), "/healthz").status == 200; }));
    EXPECT_EQ(get(fulcrum.port(), "/").status, 200);
    const auto metrics = scrape_metrics(fulcrum.admin_port());
    EXPECT_EQ(sample(metrics, server_sample("fulcrum_server_up", "app-1")), 1);
    EXPECT_EQ(
        sample(metrics, server_sample("fulcrum_server_transitions_total", "app-1", ",to=\"down\"")),
        0);
    EXPECT_GE(sample(metrics, "fulcrum_resource_exhaustion_total{resource=\"emfile\"}"), 5);
    // fulcrum's own 503s are failures the users saw: counted, as docs/sli.md says.
    EXPECT_EQ(sample(metrics, "fulcrum_http_requests_total{service=\"app_pool\",code=\"503\"}"), 3);
    const auto log = fulcrum.log();
    EXPECT_EQ(occurrences(log, "connect to app_pool/app-1 failed: fulcrum is out of"), 1u) << log;
    EXPECT_EQ(occurrences(log, "DOWN"), 0u) << log;
}

} // namespace
} // namespace fulcrum::testing
