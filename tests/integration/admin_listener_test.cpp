// The admin listener under clients that hold connections (docs/operations.md, "The admin
// listener"): its timeouts and its connection limit, against the real binary.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

namespace {

using namespace fulcrum::testing;

std::string admin_yaml(const nginx_backend& app, const std::string& timeouts) {
    config_options options;
    options.admin_extra = "timeouts: " + timeouts;
    return config_yaml({{"app-1", app.address()}}, options);
}

std::size_t open_descriptors(pid_t pid) {
    const auto dir = std::filesystem::path("/proc") / std::to_string(pid) / "fd";
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                  std::filesystem::directory_iterator()));
}

TEST(admin_listener, idle_connections_are_closed_by_the_timeouts) {
    nginx_backend app1("app-1");
    fulcrum_process lb(admin_yaml(app1, "{http_request: 1s, keepalive: 1s}"));
    // Connected, nothing sent: the first request's head is timed from the accept.
    raw_client silent(lb.admin_port());
    // One request, then idle between requests.
    raw_client kept(lb.admin_port());
    kept.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(parse_response(kept.receive_response()).status, 200);

    EXPECT_EQ(silent.receive_all(5s), "") << "closed without an answer";
    EXPECT_TRUE(kept.closed_by_peer(5s));
    EXPECT_EQ(get(lb.admin_port(), "/healthz").status, 200);
}

TEST(admin_listener, a_head_that_arrives_too_slowly_gets_408_and_is_closed) {
    nginx_backend app1("app-1");
    fulcrum_process lb(admin_yaml(app1, "{http_request: 1s}"));
    raw_client slow(lb.admin_port());
    slow.send("GET /metrics HTTP/1.1\r\n");
    // A header line every 100 ms: the connection is never idle, but the head never completes.
    std::string received;
    for (int line = 0; line < 100 && received.empty(); ++line) {
        slow.send("X-Line-" + std::to_string(line) + ": x\r\n");
        received = slow.receive_until([](const std::string& r) { return !r.empty(); }, 100ms);
    }
    received += slow.receive_all(5s);
    EXPECT_EQ(parse_response(received).status, 408) << received;
    EXPECT_TRUE(slow.closed_by_peer(1s));
}

TEST(admin_listener, a_body_that_does_not_arrive_gets_408_and_is_closed) {
    nginx_backend app1("app-1");
    fulcrum_process lb(admin_yaml(app1, "{client: 1s}"));
    raw_client client(lb.admin_port());
    client.send("POST /admin/backends/app_pool/servers/app-1/state HTTP/1.1\r\nHost: x\r\n"
                "Content-Length: 20\r\n\r\n{\"sta");
    EXPECT_EQ(parse_response(client.receive_all(5s)).status, 408);
}

TEST(admin_listener, beyond_its_limit_a_new_connection_replaces_the_one_idle_longest) {
    nginx_backend app1("app-1");
    // Long timeouts: whatever is closed here is closed by the limit.
    fulcrum_process lb(admin_yaml(app1, "{http_request: 60s, keepalive: 60s}"));
    const auto before = open_descriptors(lb.pid());
    std::vector<std::unique_ptr<raw_client>> idle;
    for (int i = 0; i < 300; ++i) {
        idle.push_back(std::make_unique<raw_client>(lb.admin_port()));
        ASSERT_TRUE(idle.back()->connected());
    }
    // Accepted after all 300, each taking the place of the oldest: answered at once.
    EXPECT_EQ(get(lb.admin_port(), "/healthz").status, 200);
    EXPECT_TRUE(eventually([&] { return open_descriptors(lb.pid()) <= before + 32; }))
        << open_descriptors(lb.pid()) << " descriptors open, " << before << " before";
    EXPECT_EQ(get(lb.admin_port(), "/metrics").status, 200);
    EXPECT_EQ(get(lb.port(), "/").body, "app-1\n");
    // /healthz took the place of connection 268; it had ended when /metrics came, leaving a
    // free place.
    for (int i = 0; i < 269; ++i) {
        EXPECT_TRUE(idle[i]->closed_by_peer(5s)) << "connection " << i;
    }
    for (int i = 269; i < 300; ++i) {
        EXPECT_FALSE(idle[i]->closed_by_peer(1ms)) << "connection " << i;
    }
    EXPECT_NE(lb.log().find("admin: 32 connections open, the limit"), std::string::npos)
        << lb.log();
    // A newcomer on a keep-alive connection is served too.
    raw_client late(lb.admin_port());
    late.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(parse_response(late.receive_response()).status, 200);
}

} // namespace
