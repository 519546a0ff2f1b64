#pragma once

#include "http/parser.hpp"
#include "proxy/detail/byte_buffer.hpp"
#include "proxy/detail/ends.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>

#include <array>
#include <string_view>

// The phases of an exchange that move and parse bytes, each over the ends of ends.hpp and so
// over any stream type: a TLS stream plugs in where a TCP socket is used today. The session
// (session.hpp) puts them in order; none of them counts, logs or decides a status.
namespace fulcrum::proxy::detail {

enum class request_head_result {
    ready,   // x.request.head() is complete; the bytes after it are still in the buffer
    closed,  // the client went away or was quiet before a request began: nothing to answer
    refused, // malformed, too large or too slow: answer parser.error_status() or 408
};

// Reads until a request head is complete, starting with what `buffer` holds. The whole head
// must arrive within `timeout` of the call (HAProxy's `timeout http-request`); a client that
// goes quiet mid-head is refused with 408 (`status`), one that never began is just closed.
template <typename Stream>
boost::asio::awaitable<request_head_result>
read_request_head(client_reader<Stream>& client, deadline& timer, config::duration timeout,
                  http::parser& parser, byte_buffer& buffer, int& status) {
    parser.next_message();
    timer.arm(timeout);
    for (;;) {
        if (!buffer.empty()) {
            const auto r = parser.feed(buffer.readable());
            if (r.event == http::parse_event::error) {
                timer.disarm();
                status = parser.error_status();
                co_return request_head_result::refused;
            }
            buffer.consume(r.consumed);
            if (r.event == http::parse_event::head_done) {
                timer.disarm();
                co_return request_head_result::ready;
            }
        }
        if (co_await client.read(buffer)) {
            const bool timed_out = timer.expired();
            timer.disarm();
            status = 408;
            co_return timed_out && !parser.idle() ? request_head_result::refused
                                                  : request_head_result::closed;
        }
    }
}

// How a body pump ended.
struct pump_result {
    enum class fault {
        none,    // the whole message went through
        source,  // reading failed: `ec` says why (eof: closed before the end; timed_out)
        sink,    // writing failed: `ec` says why
        message, // the body is malformed: see the parser's error_status() and error_reason()
    };
    fault where = fault::none;
    error_code ec;
    bool ok() const { return where == fault::none; }
};

// Moves one message body from `from` to `to`, in its wire framing, validated by `parser` on
// the way: what `buffer` holds first, then what `from` sends, until the last byte of the
// message. `prefix` (the rewritten head) leaves in the same write as the body bytes already
// at hand, alone when there are none yet (the peer gets the head without waiting for them).
// Used for request bodies (client to server) and responses (server to client) alike; a body
// that ends with the connection (a close-delimited response) ends at the source's eof.
template <typename Source, typename Sink>
boost::asio::awaitable<pump_result> pump_body(Source& from, Sink& to, http::parser& parser,
                                              byte_buffer& buffer, std::string_view prefix) {
    for (;;) {
        const auto r = parser.feed(buffer.readable());
        if (r.event == http::parse_event::error) {
            co_return pump_result{pump_result::fault::message, {}};
        }
        if (r.consumed > 0 || !prefix.empty()) {
            const std::array<boost::asio::const_buffer, 2> out{
                boost::asio::buffer(prefix),
                boost::asio::buffer(buffer.readable().data(), r.consumed)};
            if (auto ec = co_await to.write(out)) {
                co_return pump_result{pump_result::fault::sink, ec};
            }
            buffer.consume(r.consumed);
            prefix = {};
        }
        if (r.event == http::parse_event::message_done) {
            co_return pump_result{};
        }
        if (auto ec = co_await from.read_some(buffer)) {
            if (ec == boost::asio::error::eof &&
                parser.finish().event == http::parse_event::message_done) {
                co_return pump_result{};
            }
            co_return pump_result{pump_result::fault::source, ec};
        }
    }
}

enum class response_head_result {
    ready,     // a final response head (or a 101 to an upgrade) is in parser.head()
    untouched, // the connection ended before any byte of a response: the request may be sent
               // again if replayable() allows
    broken,    // the connection ended or failed mid-head
    malformed, // see the parser's error_reason()
    timed_out,
};

// Reads the server's response head. Interim 1xx responses are dropped (fulcrum answers
// 100-continue itself, and the others are optional to forward), except a 101 that accepts an
// upgrade the request asked for.
template <typename Stream>
boost::asio::awaitable<response_head_result>
read_response_head(server_end<Stream>& server, http::parser& parser, byte_buffer& buffer,
                   const http::message_head& request) {
    parser.next_message();
    parser.expect_head_response(request.is_head_method());
    parser.expect_upgrade(request.upgrade());
    // After an interim response the server has seen the request: an end is no longer one
    // that may be replayed.
    bool interim_seen = false;
    for (;;) {
        if (!buffer.empty()) {
            const auto r = parser.feed(buffer.readable());
            if (r.event == http::parse_event::error) {
                co_return response_head_result::malformed;
            }
            buffer.consume(r.consumed);
            if (r.event == http::parse_event::head_done) {
                const int status = parser.head().status();
                if (status >= 200 || status == 101) {
                    co_return response_head_result::ready;
                }
                parser.next_message();
                interim_seen = true;
                continue;
            }
        }
        if (auto ec = co_await server.read_some(buffer)) {
            if (ec == boost::asio::error::timed_out) {
                co_return response_head_result::timed_out;
            }
            co_return parser.idle() && !interim_seen ? response_head_result::untouched
                                                     : response_head_result::broken;
        }
    }
}

// A request that met a pooled connection the server had closed (the connection ended before
// any response byte) is sent again, once, on a new connection — only when it is certain the
// application never saw it and the whole of it is still at hand: the connection was reused
// (a fresh one failing is the server's failure, not a race), it is the first attempt, and the
// request has no body (a body is streamed, not kept).
constexpr bool replayable(bool reused_connection, bool first_attempt, bool has_body) {
    return reused_connection && first_attempt && !has_body;
}

} // namespace fulcrum::proxy::detail
