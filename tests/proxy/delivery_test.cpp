#include "phase_fixture.hpp"

#include "proxy/detail/delivery.hpp"

#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace detail = fulcrum::proxy::detail;
using boost::system::error_code;
using fulcrum::testing::half_close;
using fulcrum::testing::phase_fixture;
using fulcrum::testing::reset;
using fulcrum::testing::socket_pair;
using std::chrono::milliseconds;

constexpr std::string_view response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
constexpr milliseconds within(5000);

class acknowledged : public phase_fixture {
protected:
    // The response written as the session writes it, before it asks.
    void respond() {
        error_code ec;
        asio::write(client.near, asio::buffer(response), ec);
        ASSERT_FALSE(ec) << ec.message();
    }

    socket_pair client = connect_pair();
};

TEST_F(acknowledged, a_client_that_half_closed_and_reads_on_acknowledges_the_response) {
    half_close(client.peer);
    respond();
    EXPECT_EQ(run(detail::acknowledged(client.near, within)), true);
    EXPECT_EQ(receive(client.peer, response.size()), response);
}

TEST_F(acknowledged, a_client_that_closed_before_the_response_was_written_has_not_received_it) {
    error_code ignored;
    client.peer.close(ignored);
    respond();
    const auto began = std::chrono::steady_clock::now();
    EXPECT_EQ(run(detail::acknowledged(client.near, within)), false);
    EXPECT_LT(std::chrono::steady_clock::now() - began, within / 2)
        << "told by the time limit, not by the client's reset";
}

TEST_F(acknowledged, a_client_that_reset_has_not_received_the_response) {
    reset(client.peer);
    ASSERT_TRUE(run_until([&] {
        char byte;
        return ::recv(client.near.native_handle(), &byte, 1, MSG_DONTWAIT) < 0 && errno != EAGAIN;
    })) << "the reset did not arrive";
    EXPECT_EQ(run(detail::acknowledged(client.near, within)), false);
}

} // namespace
