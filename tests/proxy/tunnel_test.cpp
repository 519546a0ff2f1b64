#include "phase_fixture.hpp"

#include "proxy/detail/byte_buffer.hpp"
#include "proxy/detail/deadline.hpp"
#include "proxy/detail/ends.hpp"
#include "proxy/detail/tunnel.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <variant>

namespace {

namespace detail = fulcrum::proxy::detail;
using boost::system::error_code;
using fulcrum::testing::close_socket;
using fulcrum::testing::half_close;
using fulcrum::testing::phase_fixture;
using fulcrum::testing::reset;
using fulcrum::testing::send;
using fulcrum::testing::socket_pair;
using fulcrum::testing::task;
using fulcrum::testing::tcp;
using std::chrono::milliseconds;

class tunnel : public phase_fixture {
protected:
    task<std::monostate> start(milliseconds timeout = milliseconds(10000)) {
        relay.emplace(reader, client.near, server.near, idle, timeout);
        return spawn(relay->run(from_client, from_server));
    }

    socket_pair client = connect_pair();
    socket_pair server = connect_pair();
    detail::client_reader<tcp::socket> reader{client.near, +[](void*, const error_code&) {},
                                              nullptr};
    // As the session's server deadline in a tunnel: its expiry closes the server connection
    // and cancels what waits on the client.
    static void end_tunnel(void* self) {
        auto& t = *static_cast<tunnel*>(self);
        close_socket(&t.server.near);
        error_code ignored;
        t.client.near.cancel(ignored);
    }
    detail::deadline idle{deadlines, &end_tunnel, this};
    detail::byte_buffer from_client{32 * 1024};
    detail::byte_buffer from_server{32 * 1024};
    std::optional<detail::tunnel<tcp::socket, tcp::socket>> relay;
};

TEST_F(tunnel, bytes_flow_both_ways_starting_with_those_that_came_before_it) {
    // The client spoke before the 101 arrived: some of it in the exchange's buffer, some in
    // the reader's inbox; the server's first frame came with the 101.
    reader.watch();
    send(client.peer, "inbox|");
    ASSERT_TRUE(run_until([&] { return reader.has_input(); }));
    from_client.append("buffered|");
    from_server.append("server-first|");
    const auto relayed = start();
    EXPECT_EQ(receive(server.peer, 15), "buffered|inbox|");
    EXPECT_EQ(receive(client.peer, 13), "server-first|");

    send(client.peer, "ping");
    EXPECT_EQ(receive(server.peer, 4), "ping");
    send(server.peer, "pong");
    EXPECT_EQ(receive(client.peer, 4), "pong");
    EXPECT_FALSE(relayed->done);

    half_close(client.peer);
    half_close(server.peer);
    EXPECT_TRUE(finish(relayed));
}

TEST_F(tunnel, a_client_half_close_is_passed_on_and_the_server_can_still_answer) {
    const auto relayed = start();
    send(client.peer, "bye");
    half_close(client.peer);
    EXPECT_EQ(receive_to_end(server.peer), "bye") << "the server did not see the client's FIN";
    send(server.peer, "last words");
    EXPECT_EQ(receive(client.peer, 10), "last words");
    EXPECT_FALSE(relayed->done);
    half_close(server.peer);
    EXPECT_EQ(receive_to_end(client.peer), "");
    EXPECT_TRUE(finish(relayed));
}

TEST_F(tunnel, a_server_half_close_is_passed_on_and_the_client_can_still_send) {
    const auto relayed = start();
    send(server.peer, "closing");
    half_close(server.peer);
    EXPECT_EQ(receive_to_end(client.peer), "closing") << "the client did not see the server's FIN";
    send(client.peer, "ack");
    EXPECT_EQ(receive(server.peer, 3), "ack");
    EXPECT_FALSE(relayed->done);
    half_close(client.peer);
    EXPECT_EQ(receive_to_end(server.peer), "");
    EXPECT_TRUE(finish(relayed));
}

TEST_F(tunnel, the_idle_timeout_ends_both_directions) {
    const auto began = std::chrono::steady_clock::now();
    const auto relayed = start(milliseconds(100));
    EXPECT_TRUE(finish(relayed, std::chrono::seconds(5)));
    EXPECT_GE(std::chrono::steady_clock::now() - began, milliseconds(100));
    EXPECT_TRUE(idle.expired());
    EXPECT_TRUE(receive_to_end(server.peer)) << "the server connection was not closed";
}

TEST_F(tunnel, bytes_moving_keep_the_tunnel_open_past_its_idle_timeout) {
    const auto began = std::chrono::steady_clock::now();
    const auto relayed = start(milliseconds(100));
    // A byte every 40 ms for 400 ms, alternately each way.
    for (int i = 0; i < 10; ++i) {
        const auto next = std::chrono::steady_clock::now() + milliseconds(40);
        run_until([&] { return relayed->done || std::chrono::steady_clock::now() >= next; });
        ASSERT_FALSE(relayed->done)
            << "ended after "
            << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - began)
                   .count()
            << " ms";
        if (i % 2 == 0) {
            send(client.peer, "c");
            EXPECT_EQ(receive(server.peer, 1), "c");
        } else {
            send(server.peer, "s");
            EXPECT_EQ(receive(client.peer, 1), "s");
        }
    }
    EXPECT_TRUE(finish(relayed, std::chrono::seconds(5)));
    EXPECT_TRUE(idle.expired());
}

TEST_F(tunnel, a_client_reset_ends_both_directions_and_closes_the_server) {
    const auto relayed = start();
    reset(client.peer);
    EXPECT_TRUE(finish(relayed));
    EXPECT_TRUE(receive_to_end(server.peer)) << "the server connection was not closed";
}

TEST_F(tunnel, a_server_reset_ends_both_directions) {
    const auto relayed = start();
    reset(server.peer);
    EXPECT_TRUE(finish(relayed));
}

TEST_F(tunnel, the_idle_timeout_ends_a_tunnel_the_server_half_closed) {
    // The server said goodbye (FIN); the client neither answers nor closes.
    const auto relayed = start(milliseconds(100));
    half_close(server.peer);
    EXPECT_EQ(receive_to_end(client.peer), "");
    EXPECT_TRUE(finish(relayed, std::chrono::seconds(3)))
        << "the tunnel outlived its idle timeout: only its server end was closed";
}

TEST_F(tunnel, the_idle_timeout_ends_a_tunnel_whose_client_stopped_reading) {
    // The server sends until every buffer on the way is full; the client reads nothing.
    const auto relayed = start(milliseconds(100));
    const std::string chunk(64 * 1024, 'x');
    EXPECT_TRUE(run_until(
        [&] {
            ::send(server.peer.native_handle(), chunk.data(), chunk.size(),
                   MSG_DONTWAIT | MSG_NOSIGNAL);
            return relayed->done;
        },
        std::chrono::seconds(3)))
        << "the tunnel outlived its idle timeout: only its server end was closed";
}

} // namespace
