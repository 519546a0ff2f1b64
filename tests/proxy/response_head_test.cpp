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
using detail::response_head_result;
using fulcrum::testing::close_socket;
using fulcrum::testing::half_close;
using fulcrum::testing::phase_fixture;
using fulcrum::testing::reset;
using fulcrum::testing::socket_pair;
using fulcrum::testing::task;
using fulcrum::testing::tcp;
using std::chrono::milliseconds;

constexpr std::string_view plain_get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
constexpr std::string_view websocket_get = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                                           "Upgrade: websocket\r\n\r\n";
constexpr std::string_view switching = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                                       "Upgrade: websocket\r\n\r\n";

class read_response_head : public phase_fixture {
protected:
    // Reads the response to `request_head`.
    task<response_head_result> start(std::string_view request_head = plain_get) {
        request.next_message();
        const auto r = request.feed(request_head);
        EXPECT_EQ(r.event, http::parse_event::head_done);
        return spawn(detail::read_response_head(server_side, response, buffer, request.head()));
    }

    socket_pair server = connect_pair();
    // As the session's: its expiry closes the server connection.
    detail::deadline server_timer{deadlines, &close_socket, &server.near};
    detail::server_end<tcp::socket> server_side{server.near, server_timer, milliseconds(10000)};
    http::parser request{http::parser::mode::request, fulcrum::config::limits{}};
    http::parser response{http::parser::mode::response, http::response_limits()};
    detail::byte_buffer buffer{32 * 1024};
};

TEST_F(read_response_head, a_response_head_in_pieces_is_ready_once_complete) {
    const auto head = start();
    deliver(server, "HTTP/1.1 200 OK\r\nContent-", head);
    EXPECT_FALSE(head->done);
    deliver(server, "Length: 2\r\n\r\nok", head);
    EXPECT_EQ(finish(head), response_head_result::ready);
    EXPECT_EQ(response.head().status(), 200);
    EXPECT_EQ(response.head().content_length(), 2u);
    EXPECT_EQ(buffer.readable(), "ok");
}

TEST_F(read_response_head, a_response_head_byte_by_byte_is_ready_once_complete) {
    const auto head = start();
    deliver_bytewise(server, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", head);
    EXPECT_EQ(finish(head), response_head_result::ready);
    EXPECT_EQ(response.head().status(), 404);
    EXPECT_EQ(response.head().reason(), "Not Found");
}

TEST_F(read_response_head, a_100_continue_is_dropped_and_the_final_response_is_ready) {
    const auto head = start("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                            "Expect: 100-continue\r\n\r\n");
    deliver(server, "HTTP/1.1 100 Continue\r\n\r\n", head);
    EXPECT_FALSE(head->done) << "an interim response ended the wait";
    deliver(server, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", head);
    EXPECT_EQ(finish(head), response_head_result::ready);
    EXPECT_EQ(response.head().status(), 200);
    EXPECT_EQ(buffer.readable(), "ok");
}

TEST_F(read_response_head, interim_responses_in_the_same_write_as_the_final_one_are_dropped) {
    const auto head = start();
    deliver(server,
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
            "HTTP/1.1 204 No Content\r\n\r\n",
            head);
    EXPECT_EQ(finish(head), response_head_result::ready);
    EXPECT_EQ(response.head().status(), 204);
    EXPECT_TRUE(buffer.empty());
}

TEST_F(read_response_head, a_101_to_an_upgrade_request_is_ready_and_the_bytes_after_it_stay) {
    const auto head = start(websocket_get);
    deliver(server, std::string(switching) + "\x81\x05hello", head);
    EXPECT_EQ(finish(head), response_head_result::ready);
    EXPECT_EQ(response.head().status(), 101);
    EXPECT_TRUE(response.head().upgrade());
    EXPECT_EQ(buffer.readable(), "\x81\x05hello");
}

TEST_F(read_response_head, a_101_to_a_request_without_upgrade_is_malformed) {
    const auto head = start(plain_get);
    deliver(server, switching, head);
    EXPECT_EQ(finish(head), response_head_result::malformed);
}

TEST_F(read_response_head, a_response_to_head_is_ready_without_a_body) {
    const auto head = start("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    deliver(server, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", head);
    EXPECT_EQ(finish(head), response_head_result::ready);
    EXPECT_FALSE(response.head().has_body());
}

TEST_F(read_response_head, garbage_from_the_server_is_malformed) {
    const auto head = start();
    deliver(server, "SSH-2.0-OpenSSH_9.2\r\n\r\n", head);
    EXPECT_EQ(finish(head), response_head_result::malformed);
    EXPECT_FALSE(response.error_reason().empty());
}

TEST_F(read_response_head, a_server_closing_before_any_byte_leaves_the_request_untouched) {
    const auto head = start();
    half_close(server.peer);
    EXPECT_EQ(finish(head), response_head_result::untouched);
}

TEST_F(read_response_head, a_server_resetting_before_any_byte_leaves_the_request_untouched) {
    const auto head = start();
    reset(server.peer);
    EXPECT_EQ(finish(head), response_head_result::untouched);
}

TEST_F(read_response_head, a_server_closing_mid_head_is_broken) {
    const auto head = start();
    deliver(server, "HTTP/1.1 200 OK\r\nContent-Le", head);
    half_close(server.peer);
    EXPECT_EQ(finish(head), response_head_result::broken);
}

TEST_F(read_response_head, a_server_closing_after_an_interim_response_is_broken) {
    // The server has seen the request: it may not be sent again.
    const auto head = start();
    deliver(server, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", head);
    half_close(server.peer);
    EXPECT_EQ(finish(head), response_head_result::broken)
        << "a server that answered 1xx has seen the request: untouched lets it be sent again";
}

TEST_F(read_response_head, a_server_resetting_mid_head_is_broken) {
    const auto head = start();
    deliver(server, "HTTP/1.1 200 OK\r\n", head);
    reset(server.peer);
    EXPECT_EQ(finish(head), response_head_result::broken);
}

TEST_F(read_response_head, a_quiet_server_is_timed_out) {
    server_side.timeout = milliseconds(100);
    const auto began = std::chrono::steady_clock::now();
    const auto head = start();
    EXPECT_EQ(finish(head), response_head_result::timed_out);
    EXPECT_GE(std::chrono::steady_clock::now() - began, milliseconds(100));
}

TEST_F(read_response_head, a_server_quiet_mid_head_is_timed_out) {
    server_side.timeout = milliseconds(100);
    const auto head = start();
    deliver(server, "HTTP/1.1 200 OK\r\n", head);
    EXPECT_EQ(finish(head), response_head_result::timed_out);
}

// The replay rule (phases.hpp, replayable()): a request is sent again only when it met a
// reused connection, on its first attempt, and has no body.
struct attempt {
    bool reused_connection;
    bool first_attempt;
    bool has_body;
};

std::string describe(const attempt& a) {
    return std::string(a.reused_connection ? "reused" : "fresh") + " connection, " +
           (a.first_attempt ? "first" : "second") + " attempt, " +
           (a.has_body ? "with" : "without") + " a body";
}

std::vector<attempt> every_attempt() {
    std::vector<attempt> all;
    for (const bool reused : {false, true}) {
        for (const bool first : {false, true}) {
            for (const bool body : {false, true}) {
                all.push_back({reused, first, body});
            }
        }
    }
    return all;
}

TEST(replay_rule, a_first_attempt_without_a_body_on_a_reused_connection_is_sent_again) {
    static_assert(detail::replayable(true, true, false));
    EXPECT_TRUE(detail::replayable(true, true, false));
}

TEST(replay_rule, a_fresh_connection_failing_is_never_sent_again) {
    for (const auto& a : every_attempt()) {
        if (!a.reused_connection) {
            EXPECT_FALSE(detail::replayable(a.reused_connection, a.first_attempt, a.has_body))
                << describe(a);
        }
    }
}

TEST(replay_rule, a_request_already_sent_again_is_never_sent_a_third_time) {
    for (const auto& a : every_attempt()) {
        if (!a.first_attempt) {
            EXPECT_FALSE(detail::replayable(a.reused_connection, a.first_attempt, a.has_body))
                << describe(a);
        }
    }
}

TEST(replay_rule, a_request_with_a_body_is_never_sent_again) {
    for (const auto& a : every_attempt()) {
        if (a.has_body) {
            EXPECT_FALSE(detail::replayable(a.reused_connection, a.first_attempt, a.has_body))
                << describe(a);
        }
    }
}

TEST(replay_rule, the_whole_table) {
    for (const auto& a : every_attempt()) {
        EXPECT_EQ(detail::replayable(a.reused_connection, a.first_attempt, a.has_body),
                  a.reused_connection && a.first_attempt && !a.has_body)
            << describe(a);
    }
}

} // namespace
