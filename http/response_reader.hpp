#pragma once

#include "base/asio.hpp"
#include "http/parser.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Reading one whole response from a server, for the clients that act on it (the control-plane
// client, health checks); the proxy streams responses on instead.
namespace fulcrum::http {

struct http_response {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body; // the payload, chunk framing removed

    // The first value of header `name` (case-insensitive); "" when absent.
    std::string_view header(std::string_view name) const;
};

struct read_options {
    // The request was HEAD: the response has no body, whatever its head announces.
    bool head_request = false;
    // The most of the body that is kept.
    std::size_t max_body = 1024 * 1024;
    // A longer body: kept up to max_body and the rest left unread (true), or an error (false).
    bool truncate_body = false;
    // Asked with the status once the final head is in: whether to read the body too, or to
    // stop there. Empty: always read it.
    std::function<bool(int status)> want_body;
};

enum class read_failure : std::uint8_t {
    none,
    closed_early,   // the peer closed (or cut a TLS stream) before the response was complete
    io,             // reading failed: read_result::io_error
    bad_response,   // the parser refused the bytes: read_result::reason
    body_too_large, // more than max_body bytes of body, without truncate_body
};

struct read_result {
    read_failure failure = read_failure::none;
    boost::system::error_code io_error;
    std::string reason;
    // The final response (1xx responses are skipped), as far as it was read: its status and
    // headers once its head was in.
    http_response response;
    bool truncated = false; // the body was longer than max_body: response.body is its start

    bool ok() const { return failure == read_failure::none; }
};

// The reading as a state machine that does no I/O: read_response() below feeds it what the
// stream delivers.
class response_reader {
public:
    explicit response_reader(read_options options);
    response_reader(const response_reader&) = delete;
    response_reader& operator=(const response_reader&) = delete;

    // Bytes read from the stream; true once the result is decided.
    bool feed(std::string_view data);
    // Reading stopped with `ec`, the end of the stream included; decides the result.
    void end(const boost::system::error_code& ec);

    read_result take() { return std::move(result_); }

private:
    // The final head is in; false when the body is not wanted.
    bool keep_head();

    read_options options_;
    parser parser_;
    read_result result_;
};

// Reads one response from `stream` (anything with async_read_some: a TCP socket, a TLS
// stream) up to what `options` ask for.
template <typename Stream>
boost::asio::awaitable<read_result> read_response(Stream& stream, read_options options) {
    response_reader reader(std::move(options));
    std::vector<char> buffer(16 * 1024);
    for (;;) {
        boost::system::error_code ec;
        const std::size_t n =
            co_await stream.async_read_some(boost::asio::buffer(buffer), base::with(ec));
        if (ec) {
            reader.end(ec);
            break;
        }
        if (reader.feed(std::string_view(buffer.data(), n))) {
            break;
        }
    }
    co_return reader.take();
}

} // namespace fulcrum::http
