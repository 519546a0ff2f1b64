#include "phase_fixture.hpp"

#include "http/parser.hpp"
#include "proxy/detail/byte_buffer.hpp"
#include "proxy/detail/deadline.hpp"
#include "proxy/detail/ends.hpp"
#include "proxy/detail/phases.hpp"

#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace detail = fulcrum::proxy::detail;
namespace http = fulcrum::http;
using boost::system::error_code;
using detail::pump_result;
using fulcrum::testing::cancel_socket;
using fulcrum::testing::close_socket;
using fulcrum::testing::half_close;
using fulcrum::testing::phase_fixture;
using fulcrum::testing::reset;
using fulcrum::testing::send;
using fulcrum::testing::socket_pair;
using fulcrum::testing::task;
using fulcrum::testing::tcp;
using std::chrono::milliseconds;
using fault = pump_result::fault;

constexpr std::string_view head_out = "POST /rewritten HTTP/1.1\r\nX-Forwarded-For: 127.0.0.1\r\n";

// A sink that notes each write it is given before passing it on.
struct noting_sink {
    detail::server_end<tcp::socket>& inner;
    std::vector<std::string> writes;

    template <typename Buffers> asio::awaitable<error_code> write(const Buffers& buffers) {
        std::string bytes;
        for (const auto& b : buffers) {
            bytes.append(static_cast<const char*>(b.data()), b.size());
        }
        writes.push_back(std::move(bytes));
        co_return co_await inner.write(buffers);
    }
};

class pump_body : public phase_fixture {
protected:
    // Feeds a head to the parser, as the head phases leave it: the pump starts at the body.
    static void parsed(http::parser& p, std::string_view head) {
        p.next_message();
        const auto r = p.feed(head);
        ASSERT_EQ(r.event, http::parse_event::head_done);
        ASSERT_EQ(r.consumed, head.size());
    }
    // A request body from the client to the server.
    task<pump_result> pump_request(std::string_view prefix = head_out) {
        return spawn(detail::pump_body(client_side, server_side, request, buffer, prefix));
    }
    // A response body from the server to the client.
    task<pump_result> pump_response(std::string_view prefix = head_out) {
        return spawn(detail::pump_body(server_side, client_side, response, buffer, prefix));
    }

    socket_pair client = connect_pair();
    socket_pair server = connect_pair();
    detail::client_reader<tcp::socket> reader{client.near, +[](void*, const error_code&) {},
                                              nullptr};
    // As the session's: the client's expiry cancels its wait, the server's closes its socket.
    detail::deadline client_timer{deadlines, &cancel_socket, &client.near};
    detail::deadline server_timer{deadlines, &close_socket, &server.near};
    detail::client_end<tcp::socket> client_side{reader, client.near, client_timer,
                                                milliseconds(10000)};
    detail::server_end<tcp::socket> server_side{server.near, server_timer, milliseconds(10000)};
    http::parser request{http::parser::mode::request, fulcrum::config::limits{}};
    http::parser response{http::parser::mode::response, http::response_limits()};
    detail::byte_buffer buffer{32 * 1024};
};

TEST_F(pump_body, a_content_length_body_in_pieces_reaches_the_server_whole_after_the_head) {
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 26\r\n\r\n");
    const auto pumped = pump_request();
    for (const char* piece : {"abcde", "fghij", "klmno", "pqrst", "uvwxy"}) {
        deliver(client, piece, pumped);
        EXPECT_FALSE(pumped->done);
    }
    deliver(client, "z", pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(receive(server.peer, head_out.size() + 26),
              std::string(head_out) + "abcdefghijklmnopqrstuvwxyz");
    EXPECT_TRUE(buffer.empty());
}

TEST_F(pump_body, a_chunked_body_arriving_byte_by_byte_is_forwarded_byte_exact) {
    const std::string body = "4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n"
                             "0\r\nX-Trailer: yes\r\n\r\n";
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto pumped = pump_request();
    deliver_bytewise(client, body, pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(receive(server.peer, head_out.size() + body.size()), std::string(head_out) + body);
    EXPECT_EQ(request.body_bytes(), 24u);
}

TEST_F(pump_body, a_chunked_response_in_pieces_reaches_the_client_byte_exact) {
    const std::string body = "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n3\r\n123\r\n0\r\n\r\n";
    parsed(response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto pumped = pump_response();
    for (std::size_t at = 0; at < body.size(); at += 7) {
        deliver(server, body.substr(at, 7), pumped);
    }
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(receive(client.peer, head_out.size() + body.size()), std::string(head_out) + body);
}

TEST_F(pump_body, the_head_leaves_in_the_same_write_as_the_body_bytes_at_hand) {
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
    buffer.append("01234");
    noting_sink sink{server_side, {}};
    const auto pumped = spawn(detail::pump_body(client_side, sink, request, buffer, head_out));
    deliver(client, "56789", pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    ASSERT_EQ(sink.writes.size(), 2u);
    EXPECT_EQ(sink.writes[0], std::string(head_out) + "01234");
    EXPECT_EQ(sink.writes[1], "56789");
    EXPECT_EQ(receive(server.peer, head_out.size() + 10), std::string(head_out) + "0123456789");
}

TEST_F(pump_body, a_head_with_no_body_byte_at_hand_reaches_the_server_before_the_body) {
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n");
    const auto pumped = pump_request();
    EXPECT_EQ(receive(server.peer, head_out.size()), head_out);
    EXPECT_FALSE(pumped->done);
    deliver(client, "body", pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(receive(server.peer, 4), "body");
}

TEST_F(pump_body, a_request_without_a_body_sends_its_head_alone_and_reads_nothing) {
    parsed(request, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const auto result = finish(pump_request(), std::chrono::seconds(2));
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(receive(server.peer, head_out.size()), head_out);
}

TEST_F(pump_body, the_bytes_after_the_body_stay_in_the_buffer_for_the_next_request) {
    const std::string next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto pumped = pump_request();
    deliver(client, "3\r\nabc\r\n0\r\n\r\n" + next, pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(buffer.readable(), next);
    const std::string expected = std::string(head_out) + "3\r\nabc\r\n0\r\n\r\n";
    EXPECT_EQ(receive(server.peer, expected.size()), expected);
    EXPECT_EQ(fulcrum::testing::unread(server.peer), 0u) << "the next request was forwarded";
}

TEST_F(pump_body, a_close_delimited_response_ends_when_the_server_closes) {
    parsed(response, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    ASSERT_TRUE(response.head().close_delimited());
    const auto pumped = pump_response();
    deliver(server, "until ", pumped);
    deliver(server, "the end", pumped);
    EXPECT_FALSE(pumped->done);
    half_close(server.peer);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(receive(client.peer, head_out.size() + 13), std::string(head_out) + "until the end");
}

TEST_F(pump_body, a_client_closing_mid_body_is_a_source_fault_with_eof) {
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
    const auto pumped = pump_request();
    deliver(client, "0123", pumped);
    half_close(client.peer);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::source);
    EXPECT_EQ(result->ec, asio::error::eof);
}

TEST_F(pump_body, a_server_closing_mid_chunked_response_is_a_source_fault_with_eof) {
    parsed(response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto pumped = pump_response();
    deliver(server, "5\r\nab", pumped);
    half_close(server.peer);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::source);
    EXPECT_EQ(result->ec, asio::error::eof);
}

TEST_F(pump_body, a_server_resetting_mid_response_is_a_source_fault) {
    parsed(response, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    const auto pumped = pump_response();
    deliver(server, "part", pumped);
    reset(server.peer);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::source);
    EXPECT_EQ(result->ec, asio::error::connection_reset);
}

TEST_F(pump_body, a_server_reset_while_the_body_is_sent_is_a_sink_fault) {
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n");
    const auto pumped = pump_request();
    EXPECT_EQ(receive(server.peer, head_out.size()), head_out);
    reset(server.peer);
    for (int i = 0; i < 100 && !pumped->done; ++i) {
        deliver(client, "0123456789", pumped);
    }
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::sink);
    EXPECT_TRUE(result->ec);
}

TEST_F(pump_body, a_client_reset_while_the_response_is_sent_is_a_sink_fault) {
    parsed(response, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    reset(client.peer);
    const auto pumped = pump_response();
    for (int i = 0; i < 100 && !pumped->done; ++i) {
        deliver(server, "0123456789", pumped);
    }
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::sink);
    EXPECT_TRUE(result->ec);
}

TEST_F(pump_body, a_malformed_chunk_is_a_message_fault_and_is_not_forwarded) {
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto pumped = pump_request();
    deliver(client, "3\r\nabc\r\n", pumped);
    deliver(client, "zz\r\nbad\r\n", pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::message);
    EXPECT_EQ(request.error_status(), 400);
    const std::string forwarded = std::string(head_out) + "3\r\nabc\r\n";
    EXPECT_EQ(receive(server.peer, forwarded.size()), forwarded);
    EXPECT_EQ(fulcrum::testing::unread(server.peer), 0u) << "the malformed chunk was forwarded";
}

TEST_F(pump_body, a_body_longer_than_the_limit_is_a_message_fault_with_413) {
    fulcrum::config::limits limits;
    limits.max_body_bytes = 8;
    http::parser small(http::parser::mode::request, limits);
    parsed(small, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto pumped = spawn(detail::pump_body(client_side, server_side, small, buffer, head_out));
    deliver(client, "5\r\nabcde\r\n", pumped);
    deliver(client, "5\r\nfghij\r\n", pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::message);
    EXPECT_EQ(small.error_status(), 413);
}

TEST_F(pump_body, a_client_quiet_mid_body_past_its_timeout_is_a_source_fault_timed_out) {
    client_side.timeout = milliseconds(100);
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
    const auto pumped = pump_request();
    deliver(client, "0123", pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::source);
    EXPECT_EQ(result->ec, asio::error::timed_out);
    EXPECT_TRUE(client_timer.expired());
}

TEST_F(pump_body, a_server_quiet_mid_response_past_its_timeout_is_a_source_fault_timed_out) {
    server_side.timeout = milliseconds(100);
    parsed(response, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    const auto pumped = pump_response();
    deliver(server, "0123", pumped);
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->where, fault::source);
    EXPECT_EQ(result->ec, asio::error::timed_out);
    EXPECT_TRUE(server_timer.expired());
}

TEST_F(pump_body, a_body_that_keeps_moving_is_not_timed_out_by_its_inactivity_timeout) {
    client_side.timeout = milliseconds(100);
    parsed(request, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n");
    const auto pumped = pump_request();
    // One byte every 40 ms: 320 ms in all, never 100 ms without a byte.
    for (int i = 0; i < 8 && !pumped->done; ++i) {
        const auto next = std::chrono::steady_clock::now() + milliseconds(40);
        run_until([&] { return pumped->done || std::chrono::steady_clock::now() >= next; });
        deliver(client, "x", pumped);
    }
    const auto result = finish(pumped);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok()) << "ended with " << result->ec.message();
}

} // namespace
