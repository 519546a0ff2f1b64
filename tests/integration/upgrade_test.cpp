// Protocol upgrades through fulcrum: a request with "Connection: Upgrade" and an Upgrade token
// reaches the server with both headers; on the server's 101 the connection becomes a two-way
// byte tunnel, closed after `timeouts.tunnel` of silence or at the end of a shutdown's grace,
// metered once as code="101" when it closes, and counted while open by
// fulcrum_tunnels_open{frontend}. A server that does not upgrade answers an ordinary response.
//
// The WebSocket ends are real: python3-websockets (tests/support/ws_echo_server.py and
// ws_client.py, under Debian's /usr/bin/python3).

#include "harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <map>
#include <sstream>

namespace {

using namespace fulcrum::testing;

const std::string switched = "fulcrum_http_requests_total{service=\"app_pool\",code=\"101\"}";
const std::string tunnels_open = "fulcrum_tunnels_open{frontend=\"http\"}";

// The counters of requests and tunnels, for failure messages.
std::string counters(const fulcrum_process& lb) {
    std::ostringstream lines;
    for (const auto& [name, value] : scrape_metrics(lb.admin_port())) {
        if (name.starts_with("fulcrum_http_requests") || name.starts_with("fulcrum_tunnels")) {
            lines << name << " " << value << "\n";
        }
    }
    return lines.str();
}

bool metric_reaches(const fulcrum_process& lb, const std::string& name, double value) {
    return eventually([&] { return sample(scrape_metrics(lb.admin_port()), name) == value; });
}

// After a tunnel has closed: counted once as a 101, and no longer open.
void expect_one_tunnel_counted(const fulcrum_process& lb) {
    EXPECT_TRUE(metric_reaches(lb, switched, 1)) << counters(lb);
    EXPECT_TRUE(metric_reaches(lb, tunnels_open, 0)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, switched), 1);
    EXPECT_EQ(sample(metrics, tunnels_open), 0);
}

std::string ws_url(const fulcrum_process& lb) {
    return "ws://127.0.0.1:" + std::to_string(lb.port()) + "/chat";
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

TEST(upgrade, a_websocket_client_and_server_talk_both_ways_through_fulcrum_and_close_cleanly) {
    helper_server server(support_script("ws_echo_server.py"));
    fulcrum_process lb(config_yaml({{"ws-1", server.address()}}));
    temp_dir dir;
    const auto go_on = (dir.path() / "go-on").string();
    // Text and binary both ways, one frame of 1 MiB, then (told to go on) the close handshake.
    program client(
        support_script("ws_client.py", {ws_url(lb), "recv", "echo-text:ping", "echo-binary:5",
                                        "echo-binary:1048576", "wait-file:" + go_on, "close"}));
    ASSERT_TRUE(client.printed("waiting for", 30s)) << client.output();
    EXPECT_TRUE(metric_reaches(lb, tunnels_open, 1)) << counters(lb);
    EXPECT_EQ(sample(scrape_metrics(lb.admin_port()), switched), 0) << "metered when it closes";
    write_file(go_on, "");

    EXPECT_EQ(client.proc().wait(30s), 0) << client.output();
    EXPECT_EQ(client.output(), "open\n"
                               "recv text hello\n"
                               "echo text ping ok\n"
                               "echo binary 5 ok\n"
                               "echo binary 1048576 ok\n"
                               "waiting for " +
                                   go_on +
                                   "\n"
                                   "closed, code 1000\n");
    EXPECT_TRUE(server.printed("server: closed, code 1000")) << server.output();
    expect_one_tunnel_counted(lb);
}

TEST(upgrade, the_server_sees_the_upgrade_headers_and_a_refused_upgrade_is_an_ordinary_answer) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    raw_client client(lb.port());
    client.send("GET /xff HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                "Upgrade: websocket\r\n\r\n");
    // nginx's /xff answers "<X-Forwarded-For>|<X-Forwarded-Proto>|<Host>|<Connection>|<Upgrade>"
    // with a 200: it does not upgrade.
    const auto refused = parse_response(client.receive_response());
    ASSERT_EQ(refused.status, 200) << refused.head;
    EXPECT_EQ(lowercase(refused.body), "127.0.0.1|http|localhost|upgrade|websocket\n")
        << refused.body;
    // Still an ordinary keep-alive connection.
    client.send("GET /uri/next HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const auto next = parse_response(client.receive_response());
    EXPECT_EQ(next.status, 200) << next.head;
    EXPECT_EQ(next.body, "app-1 /uri/next\n");

    EXPECT_TRUE(
        metric_reaches(lb, "fulcrum_http_requests_total{service=\"app_pool\",code=\"200\"}", 2));
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, switched), 0);
    EXPECT_EQ(sample(metrics, tunnels_open), 0);
}

config_options tunnel_timeout_500ms() {
    config_options options;
    options.timeouts = "{connect: 1s, client: 5s, server: 5s, http_request: 5s, keepalive: 5s, "
                       "tunnel: 500ms}";
    return options;
}

TEST(upgrade, an_idle_websocket_is_closed_after_the_tunnel_timeout) {
    helper_server server(support_script("ws_echo_server.py"));
    fulcrum_process lb(config_yaml({{"ws-1", server.address()}}, tunnel_timeout_500ms()));
    program client(support_script("ws_client.py", {ws_url(lb), "recv", "wait-end"}));
    // Ended by fulcrum, without a close handshake: 1006 on both sides.
    EXPECT_TRUE(client.printed("ended, code 1006")) << client.output();
    EXPECT_EQ(client.proc().wait(10s), 0) << client.output();
    EXPECT_EQ(client.output(), "open\nrecv text hello\nended, code 1006\n");
    EXPECT_TRUE(server.printed("server: closed, code 1006")) << server.output();
    expect_one_tunnel_counted(lb);
}

TEST(upgrade, a_websocket_with_a_message_every_200_ms_outlives_a_500_ms_tunnel_timeout) {
    helper_server server(support_script("ws_echo_server.py"));
    fulcrum_process lb(config_yaml({{"ws-1", server.address()}}, tunnel_timeout_500ms()));
    // 9 messages 200 ms apart: 1.6 s, three times the idle timeout.
    program client(support_script("ws_client.py", {ws_url(lb), "recv", "every:200:9", "close"}));
    EXPECT_EQ(client.proc().wait(30s), 0) << client.output();
    EXPECT_EQ(client.output(), "open\nrecv text hello\nticks 9 ok\nclosed, code 1000\n");
    EXPECT_TRUE(server.printed("server: closed, code 1000")) << server.output();
    expect_one_tunnel_counted(lb);
}

TEST(upgrade, at_shutdown_an_open_websocket_works_through_the_grace_then_is_closed) {
    helper_server server(support_script("ws_echo_server.py"));
    config_options options;
    options.shutdown_grace = "2s";
    fulcrum_process lb(config_yaml({{"ws-1", server.address()}}, options));
    temp_dir dir;
    const auto go_on = (dir.path() / "go-on").string();
    program client(support_script("ws_client.py", {ws_url(lb), "recv", "wait-file:" + go_on,
                                                   "echo-text:after-sigterm", "wait-end"}));
    ASSERT_TRUE(client.printed("waiting for", 30s)) << client.output();

    lb.proc().signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return get(lb.admin_port(), "/healthz").status == 503; }))
        << "draining";
    write_file(go_on, "");
    EXPECT_TRUE(client.printed("echo text after-sigterm ok")) << client.output();
    EXPECT_EQ(sample(scrape_metrics(lb.admin_port()), tunnels_open), 1) << "open during the grace";

    // Closed at the end of the grace, without a close handshake.
    EXPECT_TRUE(client.printed("ended, code 1006")) << client.output();
    EXPECT_EQ(lb.proc().wait(10s), 0);
    EXPECT_NE(lb.log().find("SIGTERM: draining"), std::string::npos) << lb.log();
    EXPECT_EQ(client.proc().wait(10s), 0) << client.output();
    EXPECT_TRUE(server.printed("server: closed, code 1006")) << server.output();
}

TEST(upgrade, any_upgrade_token_works_bytes_after_the_101_go_both_ways_untouched) {
    // A server of its own protocol, "echo": after its 101 it sends back every byte it gets.
    helper_server server(support_script("upgrade_echo_server.py"));
    fulcrum_process lb(config_yaml({{"echo-1", server.address()}}));
    raw_client client(lb.port());
    client.send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    const auto head = client.receive_until(
        [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; });
    ASSERT_TRUE(head.starts_with("HTTP/1.1 101 ")) << head;
    EXPECT_NE(lowercase(head).find("\r\nupgrade: echo\r\n"), std::string::npos) << head;
    EXPECT_TRUE(head.ends_with("\r\n\r\n")) << "nothing after the head before we send";

    // Not HTTP: a request line, a blank line and bytes of every value, twice.
    std::string bytes = "GET / HTTP/1.1\r\n\r\n";
    for (int i = 0; i < 256; ++i) {
        bytes += static_cast<char>(i);
    }
    for (int round = 0; round < 2; ++round) {
        client.send(bytes);
        EXPECT_EQ(
            client.receive_until([&](const std::string& r) { return r.size() >= bytes.size(); }),
            bytes)
            << "round " << round;
    }
    EXPECT_TRUE(metric_reaches(lb, tunnels_open, 1)) << counters(lb);
    client.close();

    expect_one_tunnel_counted(lb);
    EXPECT_TRUE(server.printed("server: upgraded")) << server.output();
}

} // namespace
