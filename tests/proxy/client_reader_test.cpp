#include "phase_fixture.hpp"

#include "proxy/detail/byte_buffer.hpp"
#include "proxy/detail/ends.hpp"

#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

#include <string>

namespace {

namespace asio = boost::asio;
namespace detail = fulcrum::proxy::detail;
using boost::system::error_code;
using fulcrum::testing::half_close;
using fulcrum::testing::phase_fixture;
using fulcrum::testing::reset;
using fulcrum::testing::send;
using fulcrum::testing::socket_pair;
using fulcrum::testing::tcp;

std::string pattern(std::size_t size) {
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        out += static_cast<char>('a' + i % 26);
    }
    return out;
}

class client_reader : public phase_fixture {
protected:
    static void note_close(void* self, const error_code& ec) {
        auto& t = *static_cast<client_reader*>(self);
        ++t.closed_calls;
        t.closed_with = ec;
    }

    socket_pair client = connect_pair();
    int closed_calls = 0;
    error_code closed_with;
    detail::client_reader<tcp::socket> reader{client.near, &client_reader::note_close, this};
    detail::byte_buffer buffer{32 * 1024};
};

TEST_F(client_reader, a_client_closing_while_watched_runs_the_closed_action_with_eof) {
    reader.watch();
    EXPECT_TRUE(reader.pending());
    half_close(client.peer);
    ASSERT_TRUE(run_until([&] { return closed_calls > 0; }));
    EXPECT_EQ(closed_calls, 1);
    EXPECT_EQ(closed_with, asio::error::eof);
    EXPECT_EQ(reader.closed(), asio::error::eof);
    EXPECT_FALSE(reader.pending());
}

TEST_F(client_reader, a_client_resetting_while_watched_runs_the_closed_action_with_its_error) {
    reader.watch();
    reset(client.peer);
    ASSERT_TRUE(run_until([&] { return closed_calls > 0; }));
    EXPECT_EQ(closed_calls, 1);
    EXPECT_TRUE(closed_with);
    EXPECT_NE(closed_with, asio::error::eof);
    EXPECT_EQ(closed_with, asio::error::connection_reset);
}

TEST_F(client_reader, bytes_arriving_while_watched_are_no_close_and_are_read_next) {
    reader.watch();
    send(client.peer, "GET / HTTP/1.1\r\n");
    ASSERT_TRUE(run_until([&] { return reader.has_input(); }));
    EXPECT_EQ(closed_calls, 0);
    EXPECT_FALSE(reader.closed());
    // With bytes in the inbox there is nothing more to watch for.
    reader.watch();
    EXPECT_FALSE(reader.pending());

    EXPECT_EQ(run(reader.read(buffer)), error_code{});
    EXPECT_EQ(buffer.readable(), "GET / HTTP/1.1\r\n");
    EXPECT_FALSE(reader.has_input());
}

TEST_F(client_reader, a_read_while_a_watch_is_in_flight_waits_for_it_and_loses_no_byte) {
    reader.watch();
    const auto first = spawn(reader.read(buffer));
    io.poll();
    EXPECT_FALSE(first->done) << "returned before the client sent anything";
    // More than the inbox holds: the watch takes a part, the reads after it the rest.
    const std::string sent = pattern(1500);
    send(client.peer, sent);
    EXPECT_EQ(finish(first), error_code{});
    while (buffer.readable().size() < sent.size()) {
        const auto more = run(reader.read(buffer));
        ASSERT_EQ(more, error_code{});
    }
    EXPECT_EQ(buffer.readable(), sent);
    EXPECT_EQ(closed_calls, 0);
}

TEST_F(client_reader, bytes_sent_after_the_watch_follow_those_it_took_in_order) {
    reader.watch();
    send(client.peer, "one,");
    ASSERT_TRUE(run_until([&] { return reader.has_input(); }));
    send(client.peer, "two,");
    EXPECT_EQ(run(reader.read(buffer)), error_code{});
    EXPECT_EQ(buffer.readable(), "one,");
    send(client.peer, "three");
    while (buffer.readable().size() < 13) {
        const auto more = run(reader.read(buffer));
        ASSERT_EQ(more, error_code{});
    }
    EXPECT_EQ(buffer.readable(), "one,two,three");
}

TEST_F(client_reader, an_exchange_buffer_with_little_room_takes_the_inbox_in_parts) {
    detail::byte_buffer small(8);
    reader.watch();
    const std::string sent = pattern(20);
    send(client.peer, sent);
    ASSERT_TRUE(run_until([&] { return reader.has_input(); }));
    std::string got;
    while (got.size() < sent.size()) {
        const auto ec = run(reader.read(small));
        ASSERT_EQ(ec, error_code{});
        ASSERT_FALSE(small.readable().empty());
        got += small.readable();
        small.clear();
    }
    EXPECT_EQ(got, sent);
}

TEST_F(client_reader, await_input_is_true_once_the_client_sends) {
    const auto input = spawn(reader.await_input());
    io.poll();
    EXPECT_FALSE(input->done);
    send(client.peer, "G");
    EXPECT_EQ(finish(input), true);
    EXPECT_TRUE(reader.has_input());
}

TEST_F(client_reader, await_input_is_false_when_the_client_closes_and_no_action_runs) {
    const auto input = spawn(reader.await_input());
    io.poll();
    EXPECT_FALSE(input->done);
    half_close(client.peer);
    EXPECT_EQ(finish(input), false);
    EXPECT_EQ(reader.closed(), asio::error::eof);
    EXPECT_EQ(closed_calls, 0) << "the closed action ran for a close someone awaited";
}

TEST_F(client_reader, await_input_is_false_when_the_client_resets) {
    const auto input = spawn(reader.await_input());
    io.poll();
    reset(client.peer);
    EXPECT_EQ(finish(input), false);
    EXPECT_EQ(reader.closed(), asio::error::connection_reset);
    EXPECT_EQ(closed_calls, 0);
}

TEST_F(client_reader, a_drain_cancelling_the_socket_ends_await_input_without_the_closed_action) {
    const auto input = spawn(reader.await_input());
    io.poll();
    EXPECT_FALSE(input->done);
    error_code ignored;
    client.near.cancel(ignored);
    EXPECT_EQ(finish(input), false);
    EXPECT_EQ(reader.closed(), asio::error::operation_aborted);
    EXPECT_EQ(closed_calls, 0);
}

TEST_F(client_reader, a_cancelled_watch_nobody_awaits_runs_no_action) {
    reader.watch();
    error_code ignored;
    client.near.cancel(ignored);
    ASSERT_TRUE(run_until([&] { return !reader.pending(); }));
    EXPECT_EQ(closed_calls, 0);
    EXPECT_EQ(reader.closed(), asio::error::operation_aborted);
}

TEST_F(client_reader, a_read_after_the_client_left_reports_why_at_once) {
    reader.watch();
    half_close(client.peer);
    ASSERT_TRUE(run_until([&] { return closed_calls > 0; }));
    EXPECT_EQ(run(reader.read(buffer)), asio::error::eof);
    // Nothing is watched once the client is gone.
    reader.watch();
    EXPECT_FALSE(reader.pending());
}

TEST_F(client_reader, bytes_sent_before_a_close_are_read_before_the_close_is_reported) {
    reader.watch();
    send(client.peer, "last request");
    half_close(client.peer);
    EXPECT_EQ(run(reader.read(buffer)), error_code{});
    EXPECT_EQ(buffer.readable(), "last request");
    EXPECT_EQ(run(reader.read(buffer)), asio::error::eof);
    EXPECT_EQ(closed_calls, 0);
}

TEST_F(client_reader, settle_waits_for_the_read_in_flight_after_a_close) {
    reader.watch();
    error_code ignored;
    client.near.close(ignored);
    const auto settled = spawn(reader.settle());
    EXPECT_TRUE(finish(settled).has_value());
    EXPECT_FALSE(reader.pending());
    EXPECT_EQ(closed_calls, 0);
}

} // namespace
