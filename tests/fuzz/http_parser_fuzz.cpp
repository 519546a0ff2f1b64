// libFuzzer target for the HTTP parser and the head rewriting (FULCRUM_FUZZ=ON, scripts/fuzz).
//
// Input: byte 0 chooses the mode and HEAD expectation, byte 1 the read size; the rest is what
// the peer sends. It checks that reading the input in pieces gives the same events as reading
// it whole, that `consumed` stays within what was fed, and that every head the parser accepts
// is rewritten into a head the parser accepts again.
#include "check.hpp"
#include "http/head.hpp"
#include "http/parser.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using fulcrum::fuzz::check;
using fulcrum::http::parse_event;
using fulcrum::http::parser;

struct step {
    parse_event event;
    std::size_t offset; // in the whole input, after the step; 0 for an error, whose position
                        // depends on where llhttp's callbacks see the pieces end
    int error_status;
    bool operator==(const step&) const = default;
};

void check_rewrite(const parser& p, parser::mode kind) {
    std::string out;
    if (kind == parser::mode::request) {
        write_request_head(p.head(), {true, "192.0.2.1", "https"}, out);
    } else {
        write_response_head(p.head(), p.head().is_http10(), p.head().keep_alive(), out);
    }
    fulcrum::config::limits roomy;
    roomy.max_head_bytes = 1 << 20;
    roomy.max_headers = 1 << 12;
    roomy.max_uri_bytes = 1 << 20;
    parser again(kind, roomy);
    const auto r = again.feed(out);
    check(r.event == parse_event::head_done && r.consumed == out.size());
}

std::vector<step> run(parser::mode kind, bool head_response, std::string_view input,
                      std::size_t chunk, bool rewrite) {
    fulcrum::config::limits limits;
    limits.max_head_bytes = 512;
    limits.max_headers = 8;
    limits.max_uri_bytes = 128;
    limits.max_body_bytes = 256;
    parser p(kind, limits);
    p.expect_head_response(head_response);

    std::vector<step> steps;
    std::size_t pos = 0;
    std::size_t read_end = std::min(chunk, input.size());
    for (int guard = 0; guard < 100000; ++guard) {
        const std::size_t fed = read_end - pos;
        const auto r = p.feed(input.substr(pos, fed));
        check(r.consumed <= fed);
        pos += r.consumed;
        if (r.event == parse_event::need_more) {
            check(pos == read_end);
            if (read_end == input.size()) {
                const auto f = p.finish();
                steps.push_back(
                    {f.event, f.event == parse_event::error ? 0 : pos, p.error_status()});
                return steps;
            }
            read_end = std::min(input.size(), read_end + chunk);
            continue;
        }
        steps.push_back({r.event, r.event == parse_event::error ? 0 : pos, p.error_status()});
        if (r.event == parse_event::head_done) {
            check(p.head().headers().size() <= limits.max_headers);
            if (rewrite) {
                check_rewrite(p, kind);
            }
        } else if (r.event == parse_event::message_done) {
            p.next_message();
        } else {
            check(p.error_status() != 0 && !p.error_reason().empty());
            return steps;
        }
    }
    check(false);
    return steps;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const auto kind = (data[0] & 1) != 0 ? parser::mode::response : parser::mode::request;
    const bool head_response = (data[0] & 2) != 0;
    const std::size_t chunk = data[1] % 32 + 1;
    const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    const auto whole = run(kind, head_response, input, input.size() + 1, true);
    check(run(kind, head_response, input, chunk, false) == whole);
    return 0;
}
