#include "http/head.hpp"
#include "http/parser.hpp"

#include "counting_new.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace fulcrum::testing::counting_new;

namespace {

using fulcrum::config::limits;
using fulcrum::http::parse_event;
using fulcrum::http::parser;

// What a proxy would see of one message.
struct message_trace {
    std::string method;
    std::string target;
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::size_t head_end = 0; // offset in the whole input right after the head
    std::size_t end = 0;      // offset in the whole input right after the message
    std::string body;         // bytes consumed after head_done, as on the wire
    std::uint64_t body_bytes = 0;
    bool keep_alive = false;
    bool chunked = false;
    bool has_body = false;
    bool close_delimited = false;

    bool operator==(const message_trace&) const = default;
};

struct trace {
    std::vector<message_trace> messages;
    bool error = false;
    int error_status = 0;
    std::string error_reason;
    bool error_after_head = false; // the failing message had already reported head_done

    bool operator==(const trace&) const = default;
};

// Drives a parser the way the proxy does: reads `chunk` bytes at a time, feeds what is unread,
// moves on by `consumed`, starts the next message after message_done. `eof`: the peer closes
// after the input.
trace run(parser& p, std::string_view input, std::size_t chunk = std::string_view::npos,
          bool eof = false) {
    trace t;
    message_trace current;
    bool head_seen = false;
    std::size_t pos = 0;
    std::size_t read_end = std::min(chunk, input.size());

    const auto end_message = [&] {
        current.end = pos;
        current.body_bytes = p.body_bytes();
        t.messages.push_back(std::move(current));
        current = {};
        head_seen = false;
        p.next_message();
    };
    const auto record_error = [&] {
        t.error = true;
        t.error_status = p.error_status();
        t.error_reason = std::string(p.error_reason());
        t.error_after_head = head_seen;
    };

    for (int steps = 0; steps < 1000000; ++steps) {
        const bool in_body = p.in_body();
        const auto r = p.feed(input.substr(pos, read_end - pos));
        if (in_body) {
            current.body.append(input.substr(pos, r.consumed));
        }
        pos += r.consumed;
        switch (r.event) {
        case parse_event::need_more:
            EXPECT_EQ(pos, read_end);
            if (read_end == input.size()) {
                if (eof) {
                    const auto f = p.finish();
                    if (f.event == parse_event::message_done) {
                        end_message();
                    } else if (f.event == parse_event::error) {
                        record_error();
                    }
                }
                return t;
            }
            read_end = std::min(input.size(), read_end + chunk);
            break;
        case parse_event::head_done: {
            head_seen = true;
            const auto& h = p.head();
            current.method = std::string(h.method());
            current.target = std::string(h.target());
            current.status = h.status();
            for (const auto& field : h.headers()) {
                current.headers.emplace_back(field.name, field.value);
            }
            current.head_end = pos;
            current.keep_alive = h.keep_alive();
            current.chunked = h.chunked();
            current.has_body = h.has_body();
            current.close_delimited = h.close_delimited();
            break;
        }
        case parse_event::message_done:
            end_message();
            break;
        case parse_event::error:
            record_error();
            return t;
        }
    }
    ADD_FAILURE() << "the parser makes no progress";
    return t;
}

trace run_request(std::string_view input, std::size_t chunk = std::string_view::npos,
                  const limits& l = {}) {
    parser p(parser::mode::request, l);
    return run(p, input, chunk);
}

trace run_response(std::string_view input, bool eof = false, const limits& l = {}) {
    parser p(parser::mode::response, l);
    return run(p, input, std::string_view::npos, eof);
}

// Every way of splitting the input into reads gives the same result as one read.
void expect_split_invariant(parser::mode kind, std::string_view input, bool eof = false) {
    const auto whole = [&] {
        parser p(kind, {});
        return run(p, input, std::string_view::npos, eof);
    }();
    for (std::size_t chunk :
         {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{16}}) {
        parser p(kind, {});
        EXPECT_EQ(run(p, input, chunk, eof), whole) << "reads of " << chunk << " bytes";
    }
}

// ---- requests ------------------------------------------------------------------------------

TEST(request_parser, simple_get) {
    const std::string_view input =
        "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    parser p(parser::mode::request, {});
    EXPECT_TRUE(p.idle());

    const auto head = p.feed(input);
    ASSERT_EQ(head.event, parse_event::head_done);
    EXPECT_EQ(head.consumed, input.size());
    const auto& h = p.head();
    EXPECT_EQ(h.method(), "GET");
    EXPECT_EQ(h.target(), "/a/b?x=1");
    EXPECT_EQ(h.path(), "/a/b");
    EXPECT_EQ(h.host(), "example.com");
    EXPECT_EQ(h.version_major(), 1);
    EXPECT_EQ(h.version_minor(), 1);
    ASSERT_EQ(h.headers().size(), 2u);
    EXPECT_EQ(h.headers()[1].name, "Accept");
    EXPECT_EQ(h.headers()[1].value, "*/*");
    EXPECT_TRUE(h.keep_alive());
    EXPECT_FALSE(h.has_body());
    EXPECT_FALSE(h.chunked());
    EXPECT_FALSE(h.has_content_length());

    const auto done = p.feed(input.substr(head.consumed));
    EXPECT_EQ(done.event, parse_event::message_done);
    EXPECT_EQ(done.consumed, 0u);
}

TEST(request_parser, head_stops_right_after_the_empty_line) {
    const std::string head = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    parser p(parser::mode::request, {});
    const std::string input = head + "hel";

    const auto r1 = p.feed(input);
    ASSERT_EQ(r1.event, parse_event::head_done);
    EXPECT_EQ(r1.consumed, head.size());
    EXPECT_TRUE(p.in_body());

    const auto r2 = p.feed(std::string_view(input).substr(r1.consumed));
    EXPECT_EQ(r2.event, parse_event::need_more);
    EXPECT_EQ(r2.consumed, 3u);
    EXPECT_EQ(p.body_bytes(), 3u);

    const auto r3 = p.feed("loGET / HTTP/1.1\r\n");
    EXPECT_EQ(r3.event, parse_event::message_done);
    EXPECT_EQ(r3.consumed, 2u);
    EXPECT_EQ(p.body_bytes(), 5u);
}

TEST(request_parser, byte_by_byte_gives_the_same_result) {
    expect_split_invariant(parser::mode::request,
                           "GET / HTTP/1.1\r\nHost: example.com\r\nX-Long-Header-Name: "
                           "some longer value with spaces\r\nCookie: a=b; c=d\r\n\r\n");
    expect_split_invariant(parser::mode::request,
                           "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "4;name=value\r\nwiki\r\n5\r\npedia\r\n0\r\nChecksum: x\r\n\r\n"
                           "GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(request_parser, byte_by_byte_keeps_headers_whole) {
    const auto t = run_request(
        "GET / HTTP/1.1\r\nHost: example.com\r\nEmpty:\r\nX-A: 1\r\nX-B: two words\r\n\r\n", 1);
    ASSERT_EQ(t.messages.size(), 1u);
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"Host", "example.com"}, {"Empty", ""}, {"X-A", "1"}, {"X-B", "two words"}};
    EXPECT_EQ(t.messages[0].headers, expected);
}

TEST(request_parser, pipelined_requests_in_one_buffer) {
    const std::string first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string second_head = "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n";
    const std::string third = "DELETE /3 HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string input = first + second_head + "body" + third;

    const auto t = run_request(input);
    EXPECT_FALSE(t.error);
    ASSERT_EQ(t.messages.size(), 3u);
    EXPECT_EQ(t.messages[0].target, "/1");
    EXPECT_EQ(t.messages[0].head_end, first.size());
    EXPECT_EQ(t.messages[0].end, first.size());
    EXPECT_EQ(t.messages[1].method, "POST");
    EXPECT_EQ(t.messages[1].head_end, first.size() + second_head.size());
    EXPECT_EQ(t.messages[1].body, "body");
    EXPECT_EQ(t.messages[1].end, first.size() + second_head.size() + 4);
    EXPECT_EQ(t.messages[2].method, "DELETE");
    EXPECT_EQ(t.messages[2].end, input.size());
}

TEST(request_parser, content_length_body) {
    const auto t =
        run_request("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world");
    ASSERT_EQ(t.messages.size(), 1u);
    EXPECT_TRUE(t.messages[0].has_body);
    EXPECT_EQ(t.messages[0].body, "hello world");
    EXPECT_EQ(t.messages[0].body_bytes, 11u);

    parser p(parser::mode::request, {});
    ASSERT_EQ(p.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n").event,
              parse_event::head_done);
    EXPECT_TRUE(p.head().has_content_length());
    EXPECT_EQ(p.head().content_length(), 7u);
}

TEST(request_parser, zero_content_length_has_no_body) {
    const auto t = run_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(t.messages.size(), 1u);
    EXPECT_FALSE(t.messages[0].has_body);
    EXPECT_EQ(t.messages[0].body, "");
}

TEST(request_parser, chunked_body_is_passed_through_with_extensions_and_trailers) {
    const std::string head = "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string body = "4;name=value\r\nwiki\r\n5\r\npedia\r\n0;last\r\nChecksum: abc\r\n"
                             "Other: 1\r\n\r\n";
    const std::string next = "GET /after HTTP/1.1\r\nHost: a\r\n\r\n";
    const auto t = run_request(head + body + next);
    EXPECT_FALSE(t.error);
    ASSERT_EQ(t.messages.size(), 2u);
    EXPECT_TRUE(t.messages[0].chunked);
    EXPECT_TRUE(t.messages[0].has_body);
    EXPECT_EQ(t.messages[0].head_end, head.size());
    EXPECT_EQ(t.messages[0].body, body);
    EXPECT_EQ(t.messages[0].end, head.size() + body.size());
    EXPECT_EQ(t.messages[0].body_bytes, 9u);
    // Trailers are forwarded inside the body, never mixed into the head.
    EXPECT_EQ(t.messages[0].headers.size(), 2u);
    EXPECT_EQ(t.messages[1].target, "/after");
}

TEST(request_parser, leading_empty_lines_are_skipped_and_keep_the_parser_idle) {
    parser p(parser::mode::request, {});
    EXPECT_EQ(p.feed("\r\n").event, parse_event::need_more);
    EXPECT_TRUE(p.idle());
    EXPECT_EQ(p.feed("G").event, parse_event::need_more);
    EXPECT_FALSE(p.idle());
    const auto r = p.feed("ET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.event, parse_event::head_done);
    EXPECT_EQ(p.head().target(), "/");
}

TEST(request_parser, upgrade_request_is_parsed_as_an_ordinary_request) {
    const std::string upgrade = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                                "Upgrade: websocket\r\n\r\n";
    const std::string post = "POST /p HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                             "Upgrade: h2c\r\nContent-Length: 2\r\n\r\nhi";
    const std::string next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    const auto t = run_request(upgrade + post + next);
    EXPECT_FALSE(t.error) << t.error_reason;
    ASSERT_EQ(t.messages.size(), 3u);
    EXPECT_EQ(t.messages[0].end, upgrade.size());
    EXPECT_EQ(t.messages[1].body, "hi");
    EXPECT_EQ(t.messages[2].target, "/next");
}

TEST(request_parser, connect_is_rejected) {
    const auto t = run_request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    EXPECT_TRUE(t.error);
    EXPECT_EQ(t.error_status, 400);
    EXPECT_FALSE(t.error_after_head);
    EXPECT_EQ(t.error_reason, "CONNECT is not supported");
}

TEST(request_parser, http2_preface_is_rejected) {
    const auto t = run_request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    EXPECT_TRUE(t.error);
    EXPECT_EQ(t.error_status, 400);
}

TEST(request_parser, an_error_is_final) {
    parser p(parser::mode::request, {});
    EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost : a\r\n\r\n").event, parse_event::error);
    EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n").event, parse_event::error);
    EXPECT_EQ(p.finish().event, parse_event::error);
    EXPECT_EQ(p.error_status(), 400);
    EXPECT_FALSE(p.error_reason().empty());
}

TEST(request_parser, finish_when_idle_reports_nothing) {
    parser p(parser::mode::request, {});
    EXPECT_EQ(p.finish().event, parse_event::need_more);
}

TEST(request_parser, finish_in_a_head_is_an_error) {
    parser p(parser::mode::request, {});
    EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHo").event, parse_event::need_more);
    EXPECT_EQ(p.finish().event, parse_event::error);
    EXPECT_EQ(p.error_status(), 400);
}

TEST(request_parser, finish_in_a_body_is_an_error) {
    parser p(parser::mode::request, {});
    ASSERT_EQ(p.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").event,
              parse_event::head_done);
    EXPECT_EQ(p.feed("abc").event, parse_event::need_more);
    EXPECT_EQ(p.finish().event, parse_event::error);
    EXPECT_EQ(p.error_status(), 400);
}

TEST(request_parser, header_values_lose_surrounding_whitespace) {
    parser p(parser::mode::request, {});
    ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost:   a  \r\nX-Tab:\tv\t\r\n\r\n").event,
              parse_event::head_done);
    EXPECT_EQ(p.head().find("host"), "a");
    EXPECT_EQ(p.head().find("X-TAB"), "v");
    EXPECT_EQ(p.head().find("absent"), "");
}

TEST(request_parser, keep_alive_follows_version_and_connection) {
    struct expectation {
        std::string_view head;
        bool keep_alive;
    };
    const expectation cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-custom, Close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: foo\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
    };
    for (const auto& c : cases) {
        parser p(parser::mode::request, {});
        ASSERT_EQ(p.feed(c.head).event, parse_event::head_done) << c.head;
        EXPECT_EQ(p.head().keep_alive(), c.keep_alive) << c.head;
    }
}

TEST(request_parser, connection_lists_tokens_case_insensitively) {
    parser p(parser::mode::request, {});
    ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive , X-Foo\r\n"
                     "Connection: te\r\n\r\n")
                  .event,
              parse_event::head_done);
    EXPECT_TRUE(p.head().connection_lists("keep-alive"));
    EXPECT_TRUE(p.head().connection_lists("x-foo"));
    EXPECT_TRUE(p.head().connection_lists("TE"));
    EXPECT_FALSE(p.head().connection_lists("close"));
    EXPECT_FALSE(p.head().connection_lists("X-Fo"));
}

TEST(request_parser, expect_continue) {
    const auto expect = [](std::string_view head) {
        parser p(parser::mode::request, {});
        EXPECT_EQ(p.feed(head).event, parse_event::head_done) << head;
        return p.head().expect_continue();
    };
    EXPECT_TRUE(expect("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                       "Content-Length: 3\r\n\r\n"));
    EXPECT_TRUE(expect("PUT / HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue\r\n"
                       "Content-Length: 3\r\n\r\n"));
    EXPECT_FALSE(expect("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"));
    // RFC 9110 10.1.1: a 1.0 request's expectation is ignored.
    EXPECT_FALSE(expect("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
}

TEST(request_parser, path_and_host) {
    struct expectation {
        std::string_view head;
        std::string_view path;
        std::string_view host;
    };
    const expectation cases[] = {
        {"GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", "/a/b", "example.com"},
        {"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", "/", "example.com"},
        {"GET /v6 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "/v6", "[::1]"},
        {"GET /v6 HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", "/v6", "[2001:db8::1]"},
        {"GET /?q HTTP/1.1\r\nHost: a\r\n\r\n", "/", "a"},
        {"GET http://other.example:81/p/q?x HTTP/1.1\r\nHost: a\r\n\r\n", "/p/q", "other.example"},
        {"GET http://[::1]:81 HTTP/1.1\r\nHost: a\r\n\r\n", "/", "[::1]"},
        {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "*", "a"},
        {"GET / HTTP/1.0\r\n\r\n", "/", ""},
    };
    for (const auto& c : cases) {
        parser p(parser::mode::request, {});
        ASSERT_EQ(p.feed(c.head).event, parse_event::head_done) << c.head;
        EXPECT_EQ(p.head().path(), c.path) << c.head;
        EXPECT_EQ(p.head().host(), c.host) << c.head;
    }
}

TEST(request_parser, idempotent_methods) {
    const std::pair<std::string_view, bool> cases[] = {
        {"GET", true}, {"HEAD", true},   {"OPTIONS", true}, {"TRACE", true},
        {"PUT", true}, {"DELETE", true}, {"POST", false},   {"PATCH", false},
    };
    for (const auto& [method, idempotent] : cases) {
        parser p(parser::mode::request, {});
        const std::string head = std::string(method) + " / HTTP/1.1\r\nHost: a\r\n\r\n";
        ASSERT_EQ(p.feed(head).event, parse_event::head_done) << method;
        EXPECT_EQ(p.head().method(), method);
        EXPECT_EQ(p.head().is_idempotent(), idempotent) << method;
        EXPECT_EQ(p.head().is_head_method(), method == "HEAD");
    }
}

TEST(request_parser, accepts_what_rfc_9112_allows) {
    const std::string_view cases[] = {
        "GET / HTTP/1.1\r\nHost: a\r\nX-Latin1: caf\xe9\r\n\r\n", // obs-text in a value
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n",           // HTAB in a value
        "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n",                // empty value
        "GET /a%20b?q=%C3%A9&x=[1] HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
        "M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    for (const auto input : cases) {
        const auto t = run_request(input);
        EXPECT_FALSE(t.error) << input << ": " << t.error_reason;
        EXPECT_EQ(t.messages.size(), 1u) << input;
    }
}

TEST(request_parser, http10_request_without_host_is_accepted) {
    const auto t = run_request("GET / HTTP/1.0\r\n\r\n");
    EXPECT_FALSE(t.error);
    ASSERT_EQ(t.messages.size(), 1u);
}

TEST(request_parser, a_warm_parser_allocates_nothing) {
    const std::string_view input =
        "POST /submit?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\n"
        "X-Forwarded-For: 10.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\nT: v\r\n\r\n"
        "GET /next HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n";
    parser p(parser::mode::request, {});
    std::string out;
    const auto parse_all = [&] {
        std::string_view rest = input;
        int messages = 0;
        while (!rest.empty() || !p.idle()) {
            const auto r = p.feed(rest);
            rest.remove_prefix(r.consumed);
            if (r.event == parse_event::head_done) {
                fulcrum::http::write_request_head(p.head(), {true, "192.0.2.1", "https"}, out);
            } else if (r.event == parse_event::message_done) {
                ++messages;
                p.next_message();
            } else if (r.event != parse_event::need_more || rest.empty()) {
                break;
            }
        }
        return messages;
    };
    ASSERT_EQ(parse_all(), 2);

    const auto before = allocations.load();
    const int messages = parse_all();
    const auto after = allocations.load();
    EXPECT_EQ(messages, 2);
    EXPECT_EQ(after - before, 0u);
}

// A request head of `bytes` bytes, in headers of 1000 bytes or less.
std::string large_head(std::size_t bytes) {
    std::string head = "GET / HTTP/1.1\r\nHost: example.com\r\n";
    for (int i = 0; head.size() + 2 < bytes; ++i) {
        const std::string name = "X-Filler-" + std::to_string(i) + ": ";
        const auto room = std::min<std::size_t>(1000, bytes - head.size() - 2);
        const auto value = room > name.size() + 3 ? room - name.size() - 2 : 1;
        head += name + std::string(value, 'v') + "\r\n";
    }
    return head + "\r\n";
}

TEST(request_parser, a_large_head_limit_is_not_reserved_up_front) {
    limits large;
    large.max_head_bytes = 1024 * 1024;
    large.max_headers = 1000;
    const auto before = allocated_bytes.load();
    parser p(parser::mode::request, large);
    EXPECT_LT(allocated_bytes.load() - before, 16u * 1024) << "bytes taken by a new parser";

    // Heads grow the storage as they need, up to the limit.
    const std::string head = large_head(200 * 1024);
    const auto r = p.feed(head);
    ASSERT_EQ(r.event, parse_event::head_done) << p.error_reason();
    EXPECT_EQ(r.consumed, head.size());
    EXPECT_GT(p.head().headers().size(), 200u);
    EXPECT_EQ(p.head().find("X-Filler-3").size(), 1000u - 14);
}

TEST(request_parser, a_head_that_cannot_be_stored_throws_bad_alloc_out_of_feed) {
    parser p(parser::mode::request, limits{.max_head_bytes = 1024 * 1024, .max_headers = 1000});
    const std::string head = large_head(100 * 1024);
    fail_over_bytes = 16 * 1024;
    // Thrown once llhttp has returned (not through its C frames, which would end the process).
    EXPECT_THROW(p.feed(head), std::bad_alloc);
    fail_over_bytes = 0;
}

// ---- strictness: each case ends in an error, no later than the head unless it is in the body

struct bad_request {
    std::string_view name;
    std::string_view input;
    int status;
    bool in_body = false; // the error is in the body, after head_done
};

std::ostream& operator<<(std::ostream& os, const bad_request& c) {
    return os << c.name;
}

class request_rejected : public testing::TestWithParam<bad_request> {};

TEST_P(request_rejected, with_status_and_reason) {
    const auto& c = GetParam();
    for (const std::size_t chunk : {std::string_view::npos, std::size_t{1}}) {
        const auto t = run_request(c.input, chunk);
        ASSERT_TRUE(t.error) << "accepted, reads of " << chunk;
        EXPECT_EQ(t.error_status, c.status);
        EXPECT_FALSE(t.error_reason.empty());
        EXPECT_EQ(t.error_after_head, c.in_body) << t.error_reason;
        EXPECT_TRUE(t.messages.empty());
    }
}

const bad_request smuggling_cases[] = {
    {"content_length_and_transfer_encoding",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n",
     400},
    {"transfer_encoding_and_content_length",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
     "0\r\n\r\n",
     400},
    {"differing_content_lengths",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
    {"identical_content_lengths",
     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
    {"content_length_list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\na", 400},
    {"content_length_not_a_number", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
     400},
    {"transfer_encoding_not_chunked",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400},
    {"transfer_encoding_chunked_not_final",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
    {"transfer_encoding_chunked_then_other_header",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"
     "0\r\n\r\n",
     400},
    {"transfer_encoding_empty",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n0\r\n\r\n", 400},
    {"transfer_encoding_chunked_with_tab",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", 400},
    // Found by http_parser_fuzz: llhttp did not count "chunked" with trailing whitespace and
    // a second "chunked" as chunked twice, and the rewritten head said it twice.
    {"transfer_encoding_chunked_twice_across_headers",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked  \t  \r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400},
    {"transfer_encoding_chunked_twice_in_a_list",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
    {"transfer_encoding_with_a_parameter",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n", 400},
    {"transfer_encoding_in_http10",
     "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
    {"chunk_size_not_hex", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
     400, true},
    {"chunk_size_with_0x",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", 400,
     true},
    {"chunk_size_overflow",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n", 400,
     true},
    {"chunk_size_followed_by_space",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400,
     true},
    {"chunk_without_crlf",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400,
     true},
    {"chunk_with_bare_lf",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n", 400, true},
    {"trailer_ending_in_bare_lf",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n", 400, true},
    {"trailer_with_line_folding",
     "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n", 400,
     true},
    {"obsolete_line_folding", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n b\r\n\r\n", 400},
    {"obsolete_line_folding_with_tab", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n\tb\r\n\r\n",
     400},
    {"bare_lf_after_request_line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
    {"bare_lf_after_header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
    {"bare_lf_ending_head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
    {"bare_lf_everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400},
    {"bare_lf_before_request_line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"bare_cr_in_value", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400},
    {"bare_cr_after_request_line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
    {"bare_cr_ending_head", "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n", 400},
    {"control_character_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", 400},
    {"nul_in_value", std::string_view("GET / HTTP/1.1\r\nHost: a\r\nX: a\0z\r\n\r\n", 34), 400},
    {"del_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n", 400},
    {"control_character_in_name", "GET / HTTP/1.1\r\nHost: a\r\nX\x01Y: a\r\n\r\n", 400},
    {"space_before_colon", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\nabc", 400},
    {"tab_before_colon", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 3\r\n\r\nabc", 400},
    {"empty_header_name", "GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n", 400},
    {"header_without_colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400},
    {"invalid_method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"lowercase_method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"unknown_method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"version_1_2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400},
    {"version_2_0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400},
    {"version_0_9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 400},
    {"no_version", "GET /\r\n\r\n", 400},
    {"version_lowercase", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
    {"space_in_target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"control_character_in_target", "GET /a\x01z HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"tab_in_target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"del_in_target", "GET /a\x7fz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"two_spaces_after_method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"two_spaces_before_version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"several_host_headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"http11_without_host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
};

INSTANTIATE_TEST_SUITE_P(smuggling, request_rejected, testing::ValuesIn(smuggling_cases),
                         [](const testing::TestParamInfo<bad_request>& info) {
                             return std::string(info.param.name);
                         });

// ---- limits ------------------------------------------------------------------------------------

limits small_limits() {
    limits l;
    l.max_head_bytes = 256;
    l.max_headers = 4;
    l.max_uri_bytes = 64;
    l.max_body_bytes = 100;
    return l;
}

TEST(request_limits, head_larger_than_the_limit_is_431) {
    const std::string head =
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(300, 'x') + "\r\n\r\n";
    for (const std::size_t chunk : {std::string_view::npos, std::size_t{1}, std::size_t{100}}) {
        const auto t = run_request(head, chunk, small_limits());
        EXPECT_TRUE(t.error);
        EXPECT_EQ(t.error_status, 431) << t.error_reason;
        EXPECT_FALSE(t.error_after_head);
    }
}

TEST(request_limits, head_exactly_at_the_limit_is_accepted) {
    const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    const std::string head = start + std::string(256 - start.size() - 4, 'x') + "\r\n\r\n";
    ASSERT_EQ(head.size(), 256u);
    const auto t = run_request(head, std::string_view::npos, small_limits());
    EXPECT_FALSE(t.error) << t.error_reason;
    EXPECT_EQ(t.messages.size(), 1u);

    const auto over = run_request(
        "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(256 - start.size() - 3, 'x') + "\r\n\r\n",
        1, small_limits());
    EXPECT_EQ(over.error_status, 431);
}

TEST(request_limits, too_many_headers_is_431) {
    const auto ok = run_request("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                                std::string_view::npos, small_limits());
    EXPECT_FALSE(ok.error) << ok.error_reason;

    const auto t = run_request("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
                               std::string_view::npos, small_limits());
    EXPECT_TRUE(t.error);
    EXPECT_EQ(t.error_status, 431);
    EXPECT_FALSE(t.error_after_head);
}

TEST(request_limits, long_target_is_414) {
    const std::string target = "/" + std::string(64, 'a');
    for (const std::size_t chunk : {std::string_view::npos, std::size_t{1}}) {
        const auto t =
            run_request("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n", chunk, small_limits());
        EXPECT_TRUE(t.error);
        EXPECT_EQ(t.error_status, 414);
        EXPECT_FALSE(t.error_after_head);
    }
    const auto ok = run_request("GET " + target.substr(0, 64) + " HTTP/1.1\r\nHost: a\r\n\r\n",
                                std::string_view::npos, small_limits());
    EXPECT_FALSE(ok.error);
}

TEST(request_limits, target_longer_than_the_head_limit_is_414) {
    limits l = small_limits();
    l.max_uri_bytes = 1024;
    const auto t = run_request("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n",
                               std::string_view::npos, l);
    EXPECT_EQ(t.error_status, 431);
    l.max_uri_bytes = 100;
    const auto u = run_request("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n",
                               std::string_view::npos, l);
    EXPECT_EQ(u.error_status, 414);
}

TEST(request_limits, content_length_over_the_body_limit_is_413_at_the_head) {
    const auto t = run_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n",
                               std::string_view::npos, small_limits());
    EXPECT_TRUE(t.error);
    EXPECT_EQ(t.error_status, 413);
    EXPECT_FALSE(t.error_after_head);

    const auto ok = run_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" +
                                    std::string(100, 'x'),
                                std::string_view::npos, small_limits());
    EXPECT_FALSE(ok.error);
}

TEST(request_limits, chunked_body_over_the_limit_is_413_in_the_body) {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string fifty = "32\r\n" + std::string(50, 'x') + "\r\n";
    const auto ok = run_request(head + fifty + fifty + "0\r\n\r\n", 7, small_limits());
    EXPECT_FALSE(ok.error) << ok.error_reason;
    ASSERT_EQ(ok.messages.size(), 1u);
    EXPECT_EQ(ok.messages[0].body_bytes, 100u);

    parser p(parser::mode::request, small_limits());
    const std::string input = head + fifty + fifty + "1\r\nx\r\n0\r\n\r\n";
    const auto t = run(p, input);
    EXPECT_TRUE(t.error);
    EXPECT_EQ(t.error_status, 413);
    EXPECT_TRUE(t.error_after_head);
    // The chunk that passes the limit is refused before any of its data is counted.
    EXPECT_EQ(p.body_bytes(), 100u);
}

TEST(request_limits, unlimited_body_by_default) {
    const auto t =
        run_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999\r\n\r\n");
    EXPECT_FALSE(t.error);
}

// ---- responses -----------------------------------------------------------------------------

TEST(response_parser, content_length_response) {
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\n";
    parser p(parser::mode::response, {});
    const auto r = p.feed(head + "hello");
    ASSERT_EQ(r.event, parse_event::head_done);
    EXPECT_EQ(r.consumed, head.size());
    EXPECT_EQ(p.head().status(), 200);
    EXPECT_EQ(p.head().reason(), "OK");
    EXPECT_EQ(p.head().method(), "");
    EXPECT_TRUE(p.head().keep_alive());
    EXPECT_TRUE(p.head().has_body());
    EXPECT_FALSE(p.head().close_delimited());

    const auto t = run_response(head + "hello");
    ASSERT_EQ(t.messages.size(), 1u);
    EXPECT_EQ(t.messages[0].body, "hello");
    EXPECT_EQ(t.messages[0].end, head.size() + 5);
}

TEST(response_parser, split_reads_give_the_same_result) {
    expect_split_invariant(parser::mode::response,
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n"
                           "3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n"
                           "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop");
    expect_split_invariant(parser::mode::response, "HTTP/1.1 200 OK\r\n\r\nuntil the end", true);
}

TEST(response_parser, response_to_head_has_no_body) {
    const std::string first = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    const std::string second = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    parser p(parser::mode::response, {});
    p.expect_head_response(true);
    const auto t = run(p, first + second);
    EXPECT_FALSE(t.error) << t.error_reason;
    ASSERT_EQ(t.messages.size(), 2u);
    EXPECT_FALSE(t.messages[0].has_body);
    EXPECT_EQ(t.messages[0].end, first.size());
    EXPECT_TRUE(t.messages[0].keep_alive);
    EXPECT_FALSE(t.messages[1].has_body);
    EXPECT_FALSE(t.messages[1].close_delimited);
    EXPECT_EQ(t.messages[1].end, first.size() + second.size());
}

TEST(response_parser, no_content_and_not_modified_have_no_body) {
    const std::string no_content = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
    const std::string not_modified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n";
    const std::string plain_204 = "HTTP/1.1 204 No Content\r\n\r\n";
    const auto t = run_response(no_content + not_modified + plain_204);
    EXPECT_FALSE(t.error) << t.error_reason;
    ASSERT_EQ(t.messages.size(), 3u);
    for (const auto& m : t.messages) {
        EXPECT_FALSE(m.has_body);
        EXPECT_FALSE(m.close_delimited);
        EXPECT_TRUE(m.keep_alive);
        EXPECT_EQ(m.body, "");
    }
    EXPECT_EQ(t.messages[1].end, no_content.size() + not_modified.size());
}

TEST(response_parser, informational_then_final_response) {
    const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
    const std::string hints = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n";
    const std::string final_head = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n";
    parser p(parser::mode::response, {});
    const std::string input = cont + hints + final_head + "ok";

    auto r = p.feed(input);
    ASSERT_EQ(r.event, parse_event::head_done);
    EXPECT_EQ(r.consumed, cont.size());
    EXPECT_EQ(p.head().status(), 100);
    EXPECT_FALSE(p.head().has_body());
    std::string_view rest = std::string_view(input).substr(r.consumed);
    r = p.feed(rest);
    EXPECT_EQ(r.event, parse_event::message_done);
    EXPECT_EQ(r.consumed, 0u);

    const auto t = run_response(input);
    ASSERT_EQ(t.messages.size(), 3u);
    EXPECT_EQ(t.messages[0].status, 100);
    EXPECT_EQ(t.messages[1].status, 103);
    EXPECT_EQ(t.messages[1].end, cont.size() + hints.size());
    EXPECT_EQ(t.messages[2].status, 201);
    EXPECT_EQ(t.messages[2].body, "ok");
}

TEST(response_parser, close_delimited_body_ends_with_finish) {
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    parser p(parser::mode::response, {});
    auto r = p.feed(head);
    ASSERT_EQ(r.event, parse_event::head_done);
    EXPECT_TRUE(p.head().close_delimited());
    EXPECT_TRUE(p.head().has_body());
    EXPECT_FALSE(p.head().keep_alive());
    r = p.feed("some ");
    EXPECT_EQ(r.event, parse_event::need_more);
    EXPECT_EQ(r.consumed, 5u);
    r = p.feed("bytes");
    EXPECT_EQ(r.event, parse_event::need_more);
    r = p.finish();
    EXPECT_EQ(r.event, parse_event::message_done);
    EXPECT_EQ(p.body_bytes(), 10u);
}

TEST(response_parser, a_kept_body_is_the_payload_without_chunk_framing) {
    parser p(parser::mode::response, {});
    std::string body;
    p.keep_body(&body, 1024);
    const std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5;ext=1\r\n{\"a\":\r\n2\r\n1}\r\n0\r\nTrailer: x\r\n\r\n";
    // Byte by byte, so that chunk sizes and data arrive in pieces.
    std::size_t at = 0;
    parse_event last = parse_event::need_more;
    while (at < wire.size() && last != parse_event::message_done) {
        const auto r = p.feed(std::string_view(wire).substr(at, 1));
        ASSERT_NE(r.event, parse_event::error) << p.error_reason();
        at += r.consumed;
        last = r.event;
    }
    EXPECT_EQ(last, parse_event::message_done);
    EXPECT_EQ(body, "{\"a\":1}");
}

TEST(response_parser, a_kept_body_stops_at_its_cap_and_the_count_goes_on) {
    parser p(parser::mode::response, {});
    std::string body;
    p.keep_body(&body, 4);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    ASSERT_EQ(p.feed(head + "0123456789").event, parse_event::head_done);
    EXPECT_EQ(p.feed("0123456789").event, parse_event::message_done);
    EXPECT_EQ(body, "0123");
    EXPECT_EQ(p.body_bytes(), 10u);
}

TEST(response_parser, transfer_encoding_not_chunked_is_close_delimited) {
    const auto t = run_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz", true);
    EXPECT_FALSE(t.error) << t.error_reason;
    ASSERT_EQ(t.messages.size(), 1u);
    EXPECT_TRUE(t.messages[0].close_delimited);
    EXPECT_EQ(t.messages[0].body, "xyz");
}

TEST(response_parser, finish_completes_a_bodiless_response_not_yet_reported) {
    parser p(parser::mode::response, {});
    ASSERT_EQ(p.feed("HTTP/1.1 204 No Content\r\n\r\n").event, parse_event::head_done);
    EXPECT_EQ(p.finish().event, parse_event::message_done);
}

TEST(response_parser, truncated_responses_are_502) {
    const std::string_view cases[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        "HTTP/1.1 200 OK\r\nContent-Len",
    };
    for (const auto input : cases) {
        const auto t = run_response(input, true);
        EXPECT_TRUE(t.error) << input;
        EXPECT_EQ(t.error_status, 502) << input;
        EXPECT_TRUE(t.messages.empty());
    }
}

TEST(response_parser, keep_alive_follows_version_and_connection) {
    struct expectation {
        std::string_view head;
        bool keep_alive;
    };
    const expectation cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\n\r\n", false},
        {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n", false},
    };
    for (const auto& c : cases) {
        parser p(parser::mode::response, {});
        ASSERT_EQ(p.feed(c.head).event, parse_event::head_done) << c.head;
        EXPECT_EQ(p.head().keep_alive(), c.keep_alive) << c.head;
    }
}

TEST(response_parser, empty_reason_phrase) {
    for (const std::string_view head : {"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
                                        "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"}) {
        parser p(parser::mode::response, {});
        ASSERT_EQ(p.feed(head).event, parse_event::head_done) << head;
        EXPECT_EQ(p.head().status(), 200);
        EXPECT_EQ(p.head().reason(), "");
    }
}

TEST(response_parser, a_101_answers_an_upgrade_and_the_bytes_after_it_are_not_http) {
    const std::string head =
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
    parser p(parser::mode::response, {});
    p.expect_upgrade(true);
    const auto r = p.feed(head + "\x81\x05hello");
    ASSERT_EQ(r.event, parse_event::head_done) << p.error_reason();
    EXPECT_EQ(r.consumed, head.size());
    EXPECT_EQ(p.head().status(), 101);
    EXPECT_TRUE(p.head().upgrade());
    EXPECT_FALSE(p.head().has_body());
}

TEST(request_parser, an_upgrade_needs_http11_connection_upgrade_and_an_upgrade_header) {
    const auto upgrade_of = [](std::string_view head) {
        parser p(parser::mode::request, {});
        EXPECT_EQ(p.feed(head).event, parse_event::head_done) << head;
        return p.head().upgrade();
    };
    EXPECT_TRUE(upgrade_of("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
                           "Upgrade: websocket\r\n\r\n"));
    EXPECT_FALSE(upgrade_of("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"));
    EXPECT_FALSE(upgrade_of("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"));
    EXPECT_FALSE(upgrade_of("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n"));
}

TEST(response_parser, bad_responses_are_502) {
    const std::string_view cases[] = {
        "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.1 12 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked \t \r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nServer : x\r\n\r\n",
        "garbage\r\n\r\n",
    };
    for (const auto input : cases) {
        const auto t = run_response(input, true);
        EXPECT_TRUE(t.error) << input;
        EXPECT_EQ(t.error_status, 502) << input;
    }
}

TEST(response_limits, head_and_header_limits_apply_as_502) {
    limits l = small_limits();
    const auto big =
        run_response("HTTP/1.1 200 OK\r\nX: " + std::string(300, 'x') + "\r\n\r\n", false, l);
    EXPECT_TRUE(big.error);
    EXPECT_EQ(big.error_status, 502);

    const auto many =
        run_response("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", false, l);
    EXPECT_TRUE(many.error);
    EXPECT_EQ(many.error_status, 502);

    // The body limit is for requests only.
    const auto body = run_response(
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'), false, l);
    EXPECT_FALSE(body.error);
}

} // namespace
