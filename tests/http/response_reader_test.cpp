#include "http/response_reader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using fulcrum::http::read_failure;
using fulcrum::http::read_options;
using fulcrum::http::read_result;
using fulcrum::http::response_reader;

// What the server end of the connection does once it has sent its bytes.
enum class then { close, stay_open, reset };

// Reads a response over a real loopback TCP connection whose server end sends `bytes`.
read_result read_from(const std::string& bytes, read_options options, then after = then::close) {
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    if (after == then::reset) {
        server.set_option(asio::socket_base::linger(true, 0));
    }
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            boost::system::error_code ec;
            co_await asio::async_write(server, asio::buffer(bytes), fulcrum::base::with(ec));
            if (after == then::close) {
                server.shutdown(tcp::socket::shutdown_send, ec);
            } else if (after == then::reset) {
                server.close(ec);
            }
        },
        asio::detached);
    read_result result;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            result = co_await fulcrum::http::read_response(client, std::move(options));
            // A reader that stopped early leaves the server's write waiting for room.
            client.close();
        },
        asio::detached);
    // A reader that waits for bytes that never come fails the test instead of hanging it.
    io.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(io.stopped()) << "the reader did not return";
    return result;
}

std::string chunked(const std::string& payload, std::size_t chunk_size) {
    std::string out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t at = 0; at < payload.size(); at += chunk_size) {
        const std::string chunk = payload.substr(at, chunk_size);
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
        out += size + chunk + "\r\n";
    }
    return out + "0\r\n\r\n";
}

std::string pattern(std::size_t size) {
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        out += static_cast<char>('a' + i % 26);
    }
    return out;
}

read_options truncating_at(std::size_t cap) {
    read_options options;
    options.max_body = cap;
    options.truncate_body = true;
    return options;
}

TEST(read_response, keeps_a_chunked_body_without_its_framing) {
    const auto r = read_from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
                             "3\r\nall\r\n2\r\n o\r\n1\r\nk\r\n0\r\n\r\n",
                             {});
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.response.header("x-a"), "1");
    EXPECT_EQ(r.response.body, "all ok");
    EXPECT_FALSE(r.truncated);
}

TEST(read_response, a_chunked_body_over_the_cap_is_cut_at_the_cap_when_truncating) {
    const std::string payload = pattern(200 * 1024);
    const auto r = read_from(chunked(payload, 40 * 1024), truncating_at(64 * 1024));
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_TRUE(r.truncated);
    EXPECT_EQ(r.response.body, payload.substr(0, 64 * 1024));
}

TEST(read_response, a_body_of_exactly_the_cap_is_not_truncated) {
    const std::string payload = pattern(64 * 1024);
    const auto r = read_from(chunked(payload, 1000), truncating_at(64 * 1024));
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_FALSE(r.truncated);
    EXPECT_EQ(r.response.body, payload);
}

TEST(read_response, a_body_over_the_cap_is_an_error_unless_truncating) {
    read_options options;
    options.max_body = 10;
    const auto r =
        read_from("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", std::move(options));
    EXPECT_EQ(r.failure, read_failure::body_too_large);
    EXPECT_EQ(r.response.status, 200);
}

TEST(read_response, stops_after_the_head_when_the_body_is_not_wanted) {
    int asked = 0;
    read_options options;
    options.want_body = [&](int status) {
        asked = status;
        return false;
    };
    // The rest of the body never comes: a reader that waited for it would not return.
    const auto r = read_from("HTTP/1.1 503 Busy\r\nContent-Length: 100\r\n\r\nfirst bytes",
                             std::move(options), then::stay_open);
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(asked, 503);
    EXPECT_EQ(r.response.status, 503);
    EXPECT_EQ(r.response.header("content-length"), "100");
}

TEST(read_response, skips_informational_responses) {
    const auto r = read_from("HTTP/1.1 100 Continue\r\n\r\n"
                             "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                             {}, then::stay_open);
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(r.response.status, 200);
    ASSERT_EQ(r.response.headers.size(), 1u);
    EXPECT_EQ(r.response.header("link"), "");
    EXPECT_EQ(r.response.body, "ok");
}

TEST(read_response, a_body_delimited_by_the_close_is_complete_at_the_end_of_the_stream) {
    const auto r = read_from("HTTP/1.1 200 OK\r\n\r\nall of it until the close", {});
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(r.response.body, "all of it until the close");
}

TEST(read_response, an_end_of_the_stream_before_the_end_of_the_response_is_closed_early) {
    EXPECT_EQ(read_from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", {}).failure,
              read_failure::closed_early);
    EXPECT_EQ(read_from("HTTP/1.1 200 OK\r\nContent-", {}).failure, read_failure::closed_early);
    EXPECT_EQ(read_from("", {}).failure, read_failure::closed_early);
}

TEST(read_response, the_response_to_head_has_no_body) {
    read_options options;
    options.head_request = true;
    const auto r = read_from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", std::move(options),
                             then::stay_open);
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.response.body, "");
}

TEST(read_response, a_malformed_response_is_refused_with_the_parsers_reason) {
    const auto r = read_from("SSH-2.0-OpenSSH_9.2\r\n\r\n", {});
    EXPECT_EQ(r.failure, read_failure::bad_response);
    EXPECT_FALSE(r.reason.empty());
}

TEST(read_response, a_reset_connection_is_an_io_error_with_its_code) {
    const auto r = read_from("", {}, then::reset);
    EXPECT_EQ(r.failure, read_failure::io);
    EXPECT_EQ(r.io_error, asio::error::connection_reset) << r.io_error.message();
}

TEST(response_reader, fed_byte_by_byte_reads_the_same_response) {
    const std::string wire = "HTTP/1.1 100 Continue\r\n\r\n" + chunked("hello, world", 5);
    response_reader reader({});
    bool done = false;
    for (std::size_t i = 0; i < wire.size() && !done; ++i) {
        done = reader.feed(wire.substr(i, 1));
    }
    EXPECT_TRUE(done);
    const auto r = reader.take();
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.response.body, "hello, world");
}

} // namespace
