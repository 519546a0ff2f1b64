#include "http/head.hpp"
#include "http/parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using fulcrum::http::error_response;
using fulcrum::http::forward_options;
using fulcrum::http::parse_event;
using fulcrum::http::parser;
using fulcrum::http::write_request_head;
using fulcrum::http::write_response_head;

std::string rewrite_request(std::string_view head,
                            const forward_options& options = {true, "192.0.2.1", "http"}) {
    parser p(parser::mode::request, {});
    const auto r = p.feed(head);
    EXPECT_EQ(r.event, parse_event::head_done) << p.error_reason();
    EXPECT_EQ(r.consumed, head.size());
    std::string out = "left over from an earlier request";
    write_request_head(p.head(), options, out);
    return out;
}

std::string rewrite_response(std::string_view head, bool client_is_http10, bool keep_alive) {
    parser p(parser::mode::response, {});
    const auto r = p.feed(head);
    EXPECT_EQ(r.event, parse_event::head_done) << p.error_reason();
    std::string out = "left over";
    write_response_head(p.head(), client_is_http10, keep_alive, out);
    return out;
}

TEST(write_request_head, adds_forwarding_headers_and_keeps_the_rest_in_order) {
    EXPECT_EQ(rewrite_request("GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
                              "User-Agent: test\r\nAccept: */*\r\n\r\n"),
              "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: test\r\n"
              "Accept: */*\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n\r\n");
}

TEST(write_request_head, appends_to_an_existing_x_forwarded_for) {
    EXPECT_EQ(rewrite_request("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7\r\n"
                              "Accept: */*\r\n\r\n"),
              "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n"
              "X-Forwarded-For: 203.0.113.7, 192.0.2.1\r\nX-Forwarded-Proto: http\r\n\r\n");
}

TEST(write_request_head, joins_several_x_forwarded_for_headers) {
    EXPECT_EQ(rewrite_request("GET / HTTP/1.1\r\nx-forwarded-for: 10.0.0.1\r\nHost: a\r\n"
                              "X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n\r\n",
                              {true, "2001:db8::1", "http"}),
              "GET / HTTP/1.1\r\nHost: a\r\n"
              "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 2001:db8::1\r\n"
              "X-Forwarded-Proto: http\r\n\r\n");
}

TEST(write_request_head, leaves_x_forwarded_for_alone_without_forwardfor) {
    EXPECT_EQ(rewrite_request("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
                              {false, "192.0.2.1", "http"}),
              "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\n"
              "X-Forwarded-Proto: http\r\n\r\n");
}

TEST(write_request_head, replaces_x_forwarded_proto) {
    EXPECT_EQ(rewrite_request("GET / HTTP/1.1\r\nX-Forwarded-Proto: http\r\nHost: a\r\n"
                              "X-Forwarded-Proto: ftp\r\n\r\n",
                              {true, "192.0.2.1", "https"}),
              "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\n"
              "X-Forwarded-Proto: https\r\n\r\n");
}

TEST(write_request_head, removes_hop_by_hop_headers_and_those_connection_names) {
    EXPECT_EQ(rewrite_request("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\n"
                              "Keep-Alive: timeout=5\r\nX-Secret: 1\r\nTE: trailers\r\n"
                              "Trailer: Checksum\r\nProxy-Connection: keep-alive\r\n"
                              "X-Kept: 2\r\n\r\n"),
              "GET / HTTP/1.1\r\nHost: a\r\nX-Kept: 2\r\nX-Forwarded-For: 192.0.2.1\r\n"
              "X-Forwarded-Proto: http\r\n\r\n");
}

TEST(write_request_head, an_upgrade_request_keeps_its_upgrade_header_and_asks_for_upgrade) {
    EXPECT_EQ(
        rewrite_request("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
                        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nConnection: upgrade\r\n\r\n");
}

TEST(write_request_head, removes_an_upgrade_header_that_connection_does_not_name) {
    EXPECT_EQ(rewrite_request("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"),
              "GET /chat HTTP/1.1\r\nHost: a\r\n"
              "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n\r\n");
}

TEST(write_request_head, an_http10_request_cannot_upgrade) {
    EXPECT_EQ(rewrite_request("GET /chat HTTP/1.0\r\nConnection: Upgrade\r\n"
                              "Upgrade: websocket\r\n\r\n"),
              "GET /chat HTTP/1.0\r\n"
              "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n"
              "Connection: keep-alive\r\n\r\n");
}

TEST(write_request_head, connection_cannot_remove_framing_or_host) {
    EXPECT_EQ(rewrite_request("POST / HTTP/1.1\r\nHost: a\r\n"
                              "Connection: Content-Length, Host, Transfer-Encoding\r\n"
                              "Content-Length: 3\r\n\r\n"),
              "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
              "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\n\r\n");
}

TEST(write_request_head, keeps_body_framing) {
    EXPECT_EQ(rewrite_request("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                              "Expect: 100-continue\r\n\r\n"),
              "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
              "Expect: 100-continue\r\nX-Forwarded-For: 192.0.2.1\r\n"
              "X-Forwarded-Proto: http\r\n\r\n");
}

TEST(write_request_head, http10_request_stays_10_and_asks_for_keep_alive) {
    EXPECT_EQ(rewrite_request("GET /old HTTP/1.0\r\nHost: a\r\nConnection: close\r\n\r\n"),
              "GET /old HTTP/1.0\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\n"
              "X-Forwarded-Proto: http\r\nConnection: keep-alive\r\n\r\n");
}

TEST(write_response_head, removes_hop_by_hop_headers) {
    EXPECT_EQ(rewrite_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n"
                               "Keep-Alive: timeout=5\r\nServer: t\r\n\r\n",
                               false, true),
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: t\r\n\r\n");
}

TEST(write_response_head, a_101_keeps_upgrade_and_says_connection_upgrade) {
    parser p(parser::mode::response, {});
    p.expect_upgrade(true);
    ASSERT_EQ(p.feed("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n")
                  .event,
              parse_event::head_done);
    std::string out;
    write_response_head(p.head(), false, true, out);
    EXPECT_EQ(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Sec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n");
}

TEST(write_response_head, closes_when_asked) {
    EXPECT_EQ(rewrite_response("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, false),
              "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(rewrite_response("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true, false),
              "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(write_response_head, keeps_a_http10_client_connected) {
    EXPECT_EQ(rewrite_response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                               true, true),
              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST(write_response_head, removes_headers_named_by_connection_but_not_framing) {
    EXPECT_EQ(rewrite_response("HTTP/1.1 200 OK\r\nConnection: X-Internal, Transfer-Encoding\r\n"
                               "X-Internal: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                               false, true),
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(write_response_head, keeps_an_empty_reason) {
    EXPECT_EQ(rewrite_response("HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", false, true),
              "HTTP/1.1 503 \r\nContent-Length: 0\r\n\r\n");
}

TEST(iequals, compares_ascii_without_case) {
    EXPECT_TRUE(fulcrum::http::iequals("Content-Length", "content-LENGTH"));
    EXPECT_FALSE(fulcrum::http::iequals("Content-Length", "Content-Lengt"));
    EXPECT_FALSE(fulcrum::http::iequals("a", "b"));
}

// Each of fulcrum's own responses parses as a valid response whose Content-Length matches.
TEST(error_response, is_a_valid_response_for_every_status) {
    for (const int status : {400, 408, 413, 414, 431, 500, 502, 503, 504}) {
        for (const bool close : {false, true}) {
            const auto text = error_response(status, close);
            parser p(parser::mode::response, {});
            const auto head = p.feed(text);
            ASSERT_EQ(head.event, parse_event::head_done) << text;
            EXPECT_EQ(p.head().status(), status);
            EXPECT_FALSE(p.head().reason().empty());
            EXPECT_EQ(p.head().find("Content-Type"), "text/plain");
            EXPECT_EQ(p.head().find("Cache-Control"), "no-cache");
            EXPECT_EQ(p.head().keep_alive(), !close) << text;
            const auto body = text.substr(head.consumed);
            EXPECT_EQ(p.head().content_length(), body.size()) << text;
            EXPECT_TRUE(body.starts_with(std::to_string(status) + " ")) << body;
            EXPECT_TRUE(body.ends_with("\n"));
            const auto done = p.feed(body);
            EXPECT_EQ(done.event, parse_event::message_done);
            EXPECT_EQ(done.consumed, body.size());
        }
    }
}

TEST(error_response, exact_text) {
    EXPECT_EQ(error_response(503, true),
              "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
              "Content-Length: 71\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
              "503 Service Unavailable: no server is available to handle this request\n");
    EXPECT_EQ(error_response(504, false),
              "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\n"
              "Content-Length: 56\r\nCache-Control: no-cache\r\n\r\n"
              "504 Gateway Timeout: the server did not respond in time\n");
}

TEST(error_response, unknown_status_is_500_and_storage_is_static) {
    EXPECT_EQ(error_response(418, false), error_response(500, false));
    EXPECT_EQ(error_response(502, true).data(), error_response(502, true).data());
}

} // namespace
