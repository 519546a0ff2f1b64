#pragma once

#include "config/config.hpp"
#include "http/head.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fulcrum::http {

enum class parse_event {
    need_more,    // all input consumed; feed more (in a body: the consumed bytes are body)
    head_done,    // the head is complete; `consumed` ends right after it
    message_done, // the message is complete; `consumed` ends right after it
    error,        // the input is not acceptable; see error_status() and error_reason()
};

struct parse_result {
    parse_event event = parse_event::need_more;
    std::size_t consumed = 0; // bytes of the input that belong to this step
};

// Incremental, strict HTTP/1.x parser over llhttp 8.1 (no lenient flags), plus the checks
// llhttp does not make (bare CR or LF line ends in a head, whitespace before a colon,
// obsolete line folding, control characters, several Content-Length values) and the limits.
//
// Use: feed() the bytes as they arrive. It stops after the head (head_done) so that the
// caller can act on it, and after the message (message_done). Body bytes are passed through
// in their wire framing: every byte consumed between head_done and message_done is body, to
// be forwarded as is; llhttp has validated it (chunk sizes, lengths) before it is consumed.
// After message_done, call next_message() before feeding the rest of a pipelined input.
class parser {
public:
    enum class mode { request, response };

    parser(mode kind, const config::limits& limits);
    ~parser();
    parser(const parser&) = delete;
    parser& operator=(const parser&) = delete;

    // Prepares for the next message on the same connection; the head storage is reused. The
    // expect_head_response() setting is kept: a 1xx and the final response answer one request.
    void next_message();
    // Response mode: the request this response answers was HEAD, so it has no body.
    void expect_head_response(bool is_head);
    // Response mode: the request asked for an upgrade, so a 101 may answer it. A 101 ends at
    // its head (head_done); the bytes after it belong to the new protocol. Kept like
    // expect_head_response().
    void expect_upgrade(bool upgrade);

    // Feeds the input not consumed yet. After head_done, feed the rest even when it is empty:
    // a message without a body then ends at once (message_done, consumed 0). Until
    // next_message() it keeps answering message_done (consumed 0); after an error, error.
    // Throws std::bad_alloc when the head cannot be stored (memory is exhausted: the input
    // is not at fault); the parser is then of no further use.
    parse_result feed(std::string_view data);
    // The peer closed the connection: completes a close-delimited response body
    // (message_done) or reports a truncated message (error). Nothing to report (need_more)
    // when idle or after message_done.
    parse_result finish();

    const message_head& head() const { return head_; }
    bool in_body() const { return state_ == state::body; }
    bool idle() const { return state_ == state::idle; } // no byte of a message seen yet

    // After an error: the status fulcrum answers with (request mode: 400, 413, 414, 431;
    // response mode: 502) and the reason in words, for the log.
    int error_status() const { return error_status_; }
    std::string_view error_reason() const { return error_reason_; }

    // Body bytes counted so far in the current message (payload, without chunk framing).
    std::uint64_t body_bytes() const { return body_bytes_; }

    // Appends the payload of the bodies that follow to `*into` (chunk framing removed) while
    // it holds less than `max_bytes`; body_bytes() still counts every byte, so the caller can
    // tell a body that did not fit. For a client that acts on a whole response; the proxy
    // streams bodies on instead. nullptr stops it.
    void keep_body(std::string* into, std::size_t max_bytes);

private:
    struct impl;
    enum class state { idle, head, body, done, failed };

    std::unique_ptr<impl> impl_;
    message_head head_;
    config::limits limits_;
    mode mode_;
    state state_ = state::idle;
    int error_status_ = 0;
    std::string_view error_reason_;
    std::uint64_t body_bytes_ = 0;
    std::string* kept_body_ = nullptr;
    std::size_t kept_body_max_ = 0;
};

// The limits on response heads from servers, which the config does not set: 64 KiB and 200
// headers, large enough for real applications' cookies and for cloud APIs behind CDNs that send
// many headers, small enough that a broken server cannot grow our memory.
inline config::limits response_limits() {
    config::limits limits;
    limits.max_head_bytes = 64 * 1024;
    limits.max_headers = 200;
    return limits;
}

} // namespace fulcrum::http
