#include "http/response_reader.hpp"

#include "http/head.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace fulcrum::http {

std::string_view http_response::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (http::iequals(n, name)) {
            return v;
        }
    }
    return {};
}

response_reader::response_reader(read_options options)
    : options_(std::move(options)), parser_(parser::mode::response, response_limits()) {
    parser_.expect_head_response(options_.head_request);
    parser_.keep_body(&result_.response.body, options_.max_body);
}

bool response_reader::feed(std::string_view data) {
    for (bool more = true; more;) {
        const auto r = parser_.feed(data);
        if (r.event == parse_event::error) {
            result_.failure = read_failure::bad_response;
            result_.reason = parser_.error_reason();
            return true;
        }
        data.remove_prefix(r.consumed);
        more = !data.empty();
        if (parser_.body_bytes() > options_.max_body) {
            if (options_.truncate_body) {
                result_.truncated = true;
            } else {
                result_.failure = read_failure::body_too_large;
            }
            return true;
        }
        if (r.event == parse_event::head_done) {
            if (parser_.head().status() < 200) {
                parser_.next_message();
                continue;
            }
            if (!keep_head()) {
                return true;
            }
            // A response without a body ends on this feed, even with nothing left.
            more = true;
        } else if (r.event == parse_event::message_done) {
            return true;
        }
    }
    return false;
}

bool response_reader::keep_head() {
    const auto& head = parser_.head();
    result_.response.status = head.status();
    for (const auto& h : head.headers()) {
        result_.response.headers.emplace_back(h.name, h.value);
    }
    return !options_.want_body || options_.want_body(head.status());
}

void response_reader::end(const boost::system::error_code& ec) {
    if (ec == boost::asio::error::eof) {
        if (parser_.finish().event != parse_event::message_done) {
            result_.failure = read_failure::closed_early;
        }
        return;
    }
    // A TLS peer that closes without close_notify cannot be told from an attacker cutting
    // the stream, so a body delimited by the close is not taken as complete then.
    if (ec == boost::asio::ssl::error::stream_truncated) {
        result_.failure = read_failure::closed_early;
        return;
    }
    result_.failure = read_failure::io;
    result_.io_error = ec;
}

} // namespace fulcrum::http
