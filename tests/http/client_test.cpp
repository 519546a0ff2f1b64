#include "http/client.hpp"

#include "harness.hpp"
#include "responder.hpp"
#include "run_awaitable.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>

namespace {

using fulcrum::http::http_client;
using fulcrum::http::http_client_settings;
using fulcrum::http::http_request;
using fulcrum::http::http_result;
using fulcrum::http::parse_url;
using fulcrum::testing::responder;

http_result send(http_request request, const http_client_settings& settings = {}) {
    http_client client(settings);
    return fulcrum::testing::run_awaitable(client.send(std::move(request)));
}

http_request get(const std::string& url) {
    http_request request;
    request.url = url;
    return request;
}

TEST(parse_url, splits_what_the_clients_use) {
    const auto api = parse_url("https://api.digitalocean.com");
    ASSERT_TRUE(api.has_value());
    EXPECT_TRUE(api->tls);
    EXPECT_EQ(api->host, "api.digitalocean.com");
    EXPECT_EQ(api->port, 443);
    EXPECT_EQ(api->target, "/");
    EXPECT_EQ(api->authority(), "api.digitalocean.com");

    const auto metadata = parse_url("HTTP://169.254.169.254/metadata/v1/id");
    ASSERT_TRUE(metadata.has_value());
    EXPECT_FALSE(metadata->tls);
    EXPECT_EQ(metadata->port, 80);
    EXPECT_EQ(metadata->target, "/metadata/v1/id");

    const auto v6 = parse_url("https://[::1]:8443?x=1");
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 8443);
    EXPECT_EQ(v6->target, "/?x=1");
    EXPECT_EQ(v6->authority(), "[::1]:8443");
}

TEST(parse_url, refuses_what_a_request_line_cannot_carry) {
    for (const char* bad :
         {"", "api.digitalocean.com", "ftp://host/", "https://", "https://:443/",
          "https://user:pass@host/", "https://host:0/", "https://host:65536/", "https://host:x/",
          "https://host/a b", "https://host/a\r\nX: y", "https://host/#frag", "https://[::1/",
          "https://[nonsense]/", "https://ho_st/", "https://host:443:1/"}) {
        EXPECT_FALSE(parse_url(bad).has_value()) << bad;
    }
}

TEST(http_client, sends_one_request_and_reads_a_chunked_response) {
    responder server;
    server.reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nRetry-After: 3\r\n\r\n"
                 "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n");
    auto request = get("http://127.0.0.1:" + std::to_string(server.port()) + "/v2/x?y=1");
    request.headers = {{"X-Test", "1"}};
    const auto result = send(request);
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.response.status, 200);
    EXPECT_EQ(result.response.body, "{\"a\":1}");
    EXPECT_EQ(result.response.header("retry-after"), "3");
    EXPECT_EQ(result.response.header("absent"), "");
    EXPECT_EQ(server.last_request(),
              "GET /v2/x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port()) +
                  "\r\nUser-Agent: fulcrum\r\nX-Test: 1\r\n"
                  "Connection: close\r\n\r\n");
}

TEST(http_client, resolves_host_names) {
    responder server;
    const auto result = send(get("http://localhost:" + std::to_string(server.port()) + "/"));
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.response.body, "ok");
    EXPECT_NE(server.last_request().find("\r\nHost: localhost:"), std::string::npos);
}

TEST(http_client, a_post_says_how_long_its_body_is) {
    responder server;
    server.reply("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    auto request = get("http://127.0.0.1:" + std::to_string(server.port()) + "/a");
    request.method = "POST";
    request.body = "{\"k\":1}";
    const auto result = send(request);
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.response.status, 201);
    EXPECT_TRUE(server.last_request().starts_with("POST /a HTTP/1.1\r\n"));
    EXPECT_NE(server.last_request().find("\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"),
              std::string::npos);
}

TEST(http_client, a_body_beyond_the_cap_is_an_error) {
    responder server;
    server.reply("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
    http_client_settings settings;
    settings.max_body_bytes = 10;
    const auto result =
        send(get("http://127.0.0.1:" + std::to_string(server.port()) + "/"), settings);
    EXPECT_EQ(result.error, "the response body is larger than 10 bytes");
}

TEST(http_client, a_response_cut_short_is_an_error) {
    responder server;
    server.reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    const auto result = send(get("http://127.0.0.1:" + std::to_string(server.port()) + "/"));
    EXPECT_EQ(result.error, "the connection closed before the response was complete");
}

TEST(http_client, a_broken_response_is_an_error) {
    responder server;
    server.reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok");
    const auto result = send(get("http://127.0.0.1:" + std::to_string(server.port()) + "/"));
    EXPECT_TRUE(result.error.starts_with("bad response: ")) << result.error;
}

TEST(http_client, a_refused_connection_says_so) {
    const auto port = fulcrum::testing::unused_port();
    const auto result = send(get("http://127.0.0.1:" + std::to_string(port) + "/"));
    EXPECT_EQ(result.error,
              "connect to 127.0.0.1:" + std::to_string(port) + " failed: Connection refused");
}

TEST(http_client, a_silent_server_times_out) {
    // The connection completes in the kernel's backlog and the request is sent, but no
    // answer ever comes.
    fulcrum::testing::silent_listener silent;
    auto request = get("http://127.0.0.1:" + std::to_string(silent.port()) + "/");
    request.timeout = std::chrono::milliseconds(200);
    const auto result = send(request);
    EXPECT_EQ(result.error, "timed out after 200ms waiting for the response");
}

TEST(http_client, a_header_with_a_line_break_is_not_sent) {
    responder server;
    auto request = get("http://127.0.0.1:" + std::to_string(server.port()) + "/");
    request.headers = {{"Authorization", "Bearer x\r\nX-Injected: 1"}};
    const auto result = send(request);
    EXPECT_EQ(result.error, "header Authorization contains a line break");
    EXPECT_EQ(server.requests(), 0);
}

TEST(http_client, a_missing_ca_file_is_refused_at_start) {
    http_client_settings settings;
    settings.ca_file = "/nonexistent/ca.crt";
    EXPECT_THROW(http_client client(settings), std::runtime_error);
}

} // namespace
