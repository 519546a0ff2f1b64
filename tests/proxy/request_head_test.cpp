#include "phase_fixture.hpp"

#include "http/parser.hpp"
#include "proxy/detail/byte_buffer.hpp"
#include "proxy/detail/deadline.hpp"
#include "proxy/detail/ends.hpp"
#include "proxy/detail/phases.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

namespace detail = fulcrum::proxy::detail;
namespace http = fulcrum::http;
using boost::system::error_code;
using detail::request_head_result;
using fulcrum::testing::cancel_socket;
using fulcrum::testing::half_close;
using fulcrum::testing::phase_fixture;
using fulcrum::testing::reset;
using fulcrum::testing::send;
using fulcrum::testing::socket_pair;
using fulcrum::testing::task;
using fulcrum::testing::tcp;
using std::chrono::milliseconds;

class read_request_head : public phase_fixture {
protected:
    task<request_head_result> start(http::parser& p, milliseconds timeout = milliseconds(10000)) {
        return spawn(detail::read_request_head(reader, timer, timeout, p, buffer, status));
    }
    task<request_head_result> start(milliseconds timeout = milliseconds(10000)) {
        return start(parser, timeout);
    }

    socket_pair client = connect_pair();
    detail::client_reader<tcp::socket> reader{client.near, +[](void*, const error_code&) {},
                                              nullptr};
    // As the session's: its expiry cancels the wait on the client.
    detail::deadline timer{deadlines, &cancel_socket, &client.near};
    http::parser parser{http::parser::mode::request, fulcrum::config::limits{}};
    detail::byte_buffer buffer{32 * 1024};
    int status = 0;
};

TEST_F(read_request_head, a_head_arriving_in_pieces_is_ready_once_complete) {
    const auto head = start();
    for (const char* piece : {"GET /pie", "ces HTTP/1.1\r\nHo", "st: example\r\n"}) {
        deliver(client, piece, head);
        EXPECT_FALSE(head->done) << "ready after \"" << piece << "\"";
    }
    deliver(client, "\r\n", head);
    EXPECT_EQ(finish(head), request_head_result::ready);
    EXPECT_EQ(parser.head().target(), "/pieces");
    EXPECT_EQ(parser.head().host(), "example");
    EXPECT_TRUE(buffer.empty());
    EXPECT_FALSE(timer.expired());
}

TEST_F(read_request_head, a_head_arriving_byte_by_byte_is_ready_once_complete) {
    const std::string request = "POST /one/byte?at=a-time HTTP/1.1\r\nHost: example\r\n"
                                "Content-Length: 3\r\nX-Long: a value with spaces\r\n\r\n";
    const auto head = start();
    deliver_bytewise(client, request.substr(0, request.size() - 1), head);
    EXPECT_FALSE(head->done);
    deliver(client, "\n", head);
    EXPECT_EQ(finish(head), request_head_result::ready);
    EXPECT_EQ(parser.head().method(), "POST");
    EXPECT_EQ(parser.head().target(), "/one/byte?at=a-time");
    EXPECT_EQ(parser.head().find("x-long"), "a value with spaces");
    EXPECT_EQ(parser.head().content_length(), 3u);
}

TEST_F(read_request_head, two_pipelined_requests_in_one_write_are_read_one_at_a_time) {
    const std::string first = "GET /first HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string second = "GET /second HTTP/1.1\r\nHost: b\r\n\r\n";
    send(client.peer, first + second);
    EXPECT_EQ(
        run(detail::read_request_head(reader, timer, milliseconds(10000), parser, buffer, status)),
        request_head_result::ready);
    EXPECT_EQ(parser.head().target(), "/first");
    EXPECT_EQ(buffer.readable(), second);
    // The second needs no read: the client sends nothing more.
    EXPECT_EQ(
        run(detail::read_request_head(reader, timer, milliseconds(10000), parser, buffer, status),
            std::chrono::seconds(2)),
        request_head_result::ready);
    EXPECT_EQ(parser.head().target(), "/second");
    EXPECT_TRUE(buffer.empty());
}

TEST_F(read_request_head, a_head_already_buffered_is_ready_without_a_read) {
    buffer.append("GET /buffered HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(finish(start(), std::chrono::seconds(2)), request_head_result::ready);
    EXPECT_EQ(parser.head().target(), "/buffered");
}

TEST_F(read_request_head, a_head_larger_than_the_inbox_after_an_idle_wait_is_read_whole) {
    const std::string cookie(1500, 'c');
    send(client.peer, "GET /big HTTP/1.1\r\nHost: a\r\nCookie: " + cookie + "\r\n\r\n");
    EXPECT_EQ(run(reader.await_input()), true);
    EXPECT_EQ(finish(start()), request_head_result::ready);
    EXPECT_EQ(parser.head().find("cookie"), cookie);
}

TEST_F(read_request_head, a_client_resetting_mid_head_is_closed_without_an_answer) {
    const auto head = start();
    deliver(client, "GET / HTTP/1.1\r\nHo", head);
    reset(client.peer);
    EXPECT_EQ(finish(head), request_head_result::closed);
}

TEST_F(read_request_head, a_client_closing_mid_head_is_closed_without_an_answer) {
    const auto head = start();
    deliver(client, "GET / HTTP/1.1\r\nHo", head);
    half_close(client.peer);
    EXPECT_EQ(finish(head), request_head_result::closed);
}

TEST_F(read_request_head, a_client_closing_before_any_byte_is_closed) {
    const auto head = start();
    half_close(client.peer);
    EXPECT_EQ(finish(head), request_head_result::closed);
}

TEST_F(read_request_head, a_client_quiet_mid_head_past_the_timeout_is_refused_with_408) {
    const auto began = std::chrono::steady_clock::now();
    const auto head = start(milliseconds(100));
    deliver(client, "GET / HTTP/1.1\r\nHo", head);
    EXPECT_EQ(finish(head), request_head_result::refused);
    EXPECT_EQ(status, 408);
    EXPECT_GE(std::chrono::steady_clock::now() - began, milliseconds(100));
    EXPECT_TRUE(timer.expired());
}

TEST_F(read_request_head, a_client_quiet_before_any_byte_past_the_timeout_is_just_closed) {
    const auto head = start(milliseconds(100));
    EXPECT_EQ(finish(head), request_head_result::closed);
    EXPECT_TRUE(timer.expired());
}

TEST_F(read_request_head, a_head_trickling_in_past_the_timeout_is_refused_with_408) {
    // Every byte is read at once, but the whole head takes longer than the timeout.
    const std::string request = "GET /slowly HTTP/1.1\r\nHost: example\r\n\r\n";
    const auto head = start(milliseconds(150));
    for (std::size_t i = 0; i < request.size() && !head->done; ++i) {
        deliver(client, request.substr(i, 1), head);
        const auto next = std::chrono::steady_clock::now() + milliseconds(20);
        run_until([&] { return head->done || std::chrono::steady_clock::now() >= next; });
    }
    EXPECT_EQ(finish(head), request_head_result::refused);
    EXPECT_EQ(status, 408);
}

TEST_F(read_request_head, a_malformed_head_is_refused_with_400) {
    const auto head = start();
    deliver(client, "GET / HTTP/1.1\r\nHost : example\r\n\r\n", head);
    EXPECT_EQ(finish(head), request_head_result::refused);
    EXPECT_EQ(status, 400);
    EXPECT_FALSE(timer.expired());
}

TEST_F(read_request_head, a_malformed_head_is_refused_before_it_is_complete) {
    const auto head = start();
    deliver(client, "GET / HTTP/1.1\r\nBad\x01Name: x\r\n", head);
    EXPECT_EQ(finish(head, std::chrono::seconds(2)), request_head_result::refused);
    EXPECT_EQ(status, 400);
}

TEST_F(read_request_head, a_head_too_large_is_refused_with_431) {
    fulcrum::config::limits limits;
    limits.max_head_bytes = 1024;
    http::parser small(http::parser::mode::request, limits);
    const auto head = start(small);
    deliver(client, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n",
            head);
    EXPECT_EQ(finish(head), request_head_result::refused);
    EXPECT_EQ(status, 431);
}

TEST_F(read_request_head, a_head_too_large_is_refused_even_when_it_never_ends) {
    fulcrum::config::limits limits;
    limits.max_head_bytes = 1024;
    http::parser small(http::parser::mode::request, limits);
    const auto head = start(small);
    deliver(client, "GET / HTTP/1.1\r\nX-Endless: " + std::string(1100, 'x'), head);
    EXPECT_EQ(finish(head, std::chrono::seconds(2)), request_head_result::refused);
    EXPECT_EQ(status, 431);
}

TEST_F(read_request_head, a_target_too_long_is_refused_with_414) {
    fulcrum::config::limits limits;
    limits.max_uri_bytes = 64;
    http::parser small(http::parser::mode::request, limits);
    const auto head = start(small);
    deliver(client, "GET /" + std::string(100, 'p') + " HTTP/1.1\r\nHost: a\r\n\r\n", head);
    EXPECT_EQ(finish(head), request_head_result::refused);
    EXPECT_EQ(status, 414);
}

} // namespace
