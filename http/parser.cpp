#include "http/parser.hpp"

#include "http/detail/text.hpp"

#include <llhttp.h>

#include <algorithm>
#include <new>

namespace fulcrum::http {

namespace {

using detail::trim;

// A browser's request head with its cookies, and a little more; most response heads are far
// smaller.
constexpr std::size_t usual_head_bytes = 4096;
constexpr std::size_t usual_headers = 32;

bool is_ctl(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

constexpr const char* final_coding_not_chunked =
    "Transfer-Encoding whose final coding is not chunked";

// RFC 9110 5.6.2: the characters of a token (a transfer coding's name).
bool is_token(std::string_view s) {
    constexpr std::string_view others = "!#$%&'*+-.^_`|~";
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               others.find(c) != std::string_view::npos;
    });
}

// What is wrong with the Transfer-Encoding header(s), which decide the framing, if anything:
// their codings, over every such header, must each be a token and end with chunked, applied
// once (RFC 9112 6.1 and 7). Checked on the headers themselves: llhttp ignores an empty
// Transfer-Encoding, and did not see "chunked \t" followed by another "chunked" as chunked
// twice, while the rewritten head a server gets says it twice.
const char* transfer_coding_problem(const message_head& head) {
    bool chunked_last = false;
    for (const auto& h : head.headers()) {
        if (!iequals(h.name, "Transfer-Encoding")) {
            continue;
        }
        for (std::string_view rest = h.value;;) {
            const auto comma = rest.find(',');
            const auto coding = trim(rest.substr(0, comma));
            if (!is_token(coding)) {
                return "Transfer-Encoding with an invalid coding";
            }
            if (chunked_last) {
                return iequals(coding, "chunked") ? "Transfer-Encoding with chunked twice"
                                                  : final_coding_not_chunked;
            }
            chunked_last = iequals(coding, "chunked");
            if (comma == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(comma + 1);
        }
    }
    return chunked_last ? nullptr : final_coding_not_chunked;
}

bool has_transfer_encoding(const message_head& head) {
    for (const auto& h : head.headers()) {
        if (iequals(h.name, "Transfer-Encoding")) {
            return true;
        }
    }
    return false;
}

bool persistent(const message_head& head) {
    if (head.connection_lists("close")) {
        return false;
    }
    return !head.is_http10() || head.connection_lists("keep-alive");
}

struct scan_result {
    std::size_t end = 0;    // bytes scanned: up to the rejected byte, past the head, or all
    bool complete = false;  // the empty line that ends the head was scanned
    int status = 400;       // the request status for the rejection
    std::string_view error; // why the byte at `end` is rejected
};

// The checks on the raw bytes of a head (or a trailer section) that llhttp 8.1 does not make
// even in strict mode: it accepts a bare LF at the end of the start line and of the head,
// obsolete line folding, an empty header name, control characters in the status line and
// several spaces in the request line. The limits on a head are checked here too, so that they
// trip at the same byte however the input is split into reads. It runs over the input as fed,
// without copying it; its state carries a CR at the end of one input over to the next.
class head_scanner {
public:
    explicit head_scanner(const config::limits& limits) : limits_(limits) {}

    void start_message(bool request) {
        state_ = state::message_start;
        request_ = request;
        limited_ = true;
        spaces_ = 0;
        bytes_ = 0;
        target_bytes_ = 0;
        headers_ = 0;
    }
    // A trailer section is not stored and is not limited: it is forwarded like the body.
    void start_trailers() {
        state_ = state::line_start;
        limited_ = false;
    }
    // Whether a byte of the message was seen (empty lines before a request line do not count).
    bool started() const {
        return state_ != state::message_start && state_ != state::message_start_cr;
    }

    scan_result scan(std::string_view data) {
        for (std::size_t i = 0; i < data.size(); ++i) {
            if (limited_ && ++bytes_ > limits_.max_head_bytes) {
                return {i, false, 431,
                        request_ ? "request head too large" : "response head too large"};
            }
            if (const auto [status, error] = step(static_cast<unsigned char>(data[i]));
                !error.empty()) {
                return {i, false, status, error};
            }
            if (state_ == state::complete) {
                return {i + 1, true, 400, {}};
            }
        }
        return {data.size(), state_ == state::complete, 400, {}};
    }

private:
    enum class state : std::uint8_t {
        message_start,
        message_start_cr,
        first_line,
        first_line_cr,
        line_start,
        name,
        value,
        value_cr,
        end_cr,
        complete,
    };

    struct rejection {
        int status = 400;
        std::string_view error; // empty: the byte is fine
    };
    static rejection bad(std::string_view error) { return {400, error}; }

    rejection step(unsigned char c) {
        switch (state_) {
        case state::message_start:
            if (c == '\r') {
                state_ = state::message_start_cr;
                return {};
            }
            state_ = state::first_line;
            return first_line(c);
        case state::first_line:
            return first_line(c);
        case state::line_start:
            if (c == '\r') {
                state_ = state::end_cr;
                return {};
            }
            if (c == ' ' || c == '\t') {
                return bad("obsolete line folding");
            }
            if (c == ':') {
                return bad("empty header name");
            }
            if (limited_ && ++headers_ > limits_.max_headers) {
                return {431, "too many headers"};
            }
            state_ = state::name;
            return name(c);
        case state::name:
            if (c == ':') {
                state_ = state::value;
                return {};
            }
            return name(c);
        case state::value:
            if (c == '\r') {
                state_ = state::value_cr;
                return {};
            }
            if (c == '\n') {
                return bad("bare LF as a line end");
            }
            if (c != '\t' && is_ctl(c)) {
                return bad("control character in a header value");
            }
            return {};
        case state::message_start_cr:
            return expect_lf(c, state::message_start);
        case state::first_line_cr:
        case state::value_cr:
            return expect_lf(c, state::line_start);
        case state::end_cr:
            return expect_lf(c, state::complete);
        case state::complete:
            break;
        }
        return {};
    }

    rejection expect_lf(unsigned char c, state next) {
        if (c != '\n') {
            return bad("CR not followed by LF");
        }
        state_ = next;
        return {};
    }

    rejection first_line(unsigned char c) {
        if (c == '\r') {
            state_ = state::first_line_cr;
            return {};
        }
        if (c == '\n') {
            return bad("bare LF as a line end");
        }
        if (!request_) {
            return (c != '\t' && is_ctl(c)) ? bad("control character in the status line")
                                            : rejection{};
        }
        if (is_ctl(c)) {
            return bad("control character in the request line");
        }
        if (c == ' ') {
            if (after_space_) {
                return bad("several spaces in a row in the request line");
            }
            ++spaces_;
        } else if (spaces_ == 1 && ++target_bytes_ > limits_.max_uri_bytes) {
            return {414, "request target too long"};
        }
        after_space_ = c == ' ';
        return {};
    }

    static rejection name(unsigned char c) {
        if (c == ' ' || c == '\t') {
            return bad("whitespace before the colon of a header");
        }
        if (c == '\r' || c == '\n') {
            return bad("header line without a colon");
        }
        if (is_ctl(c)) {
            return bad("control character in a header name");
        }
        return {};
    }

    const config::limits& limits_;
    state state_ = state::message_start;
    bool request_ = true;
    bool limited_ = true;
    bool after_space_ = false;
    int spaces_ = 0;        // in the request line: the target follows the first
    std::size_t bytes_ = 0; // of the head, empty lines before it included
    std::size_t target_bytes_ = 0;
    std::size_t headers_ = 0;
};

// Why llhttp_execute() stopped with HPE_PAUSED: each pausing callback says.
enum class pause_point : std::uint8_t { none, head, last_chunk, message };

} // namespace

struct parser::impl {
    explicit impl(parser& owner) : owner(owner), scanner(owner.limits_) {
        llhttp_init(&llhttp, owner.mode_ == mode::request ? HTTP_REQUEST : HTTP_RESPONSE,
                    &settings());
        llhttp.data = this;
        scanner.start_message(owner.mode_ == mode::request);
    }

    bool request() const { return owner.mode_ == mode::request; }

    void start_message() {
        llhttp_reset(&llhttp);
        scanner.start_message(request());
        paused = pause_point::none;
        in_trailers = false;
        field_open = false;
        declared_body = 0;
        target = {};
        reason = {};
    }

    parse_result fail(int request_status, std::string_view why, std::size_t at) {
        owner.error_status_ = request() ? request_status : 502;
        owner.error_reason_ = why;
        owner.state_ = state::failed;
        return {parse_event::error, at};
    }

    // For callbacks: records the error, which llhttp then reports as a callback error.
    int reject(int request_status, std::string_view why) {
        owner.error_status_ = request() ? request_status : 502;
        owner.error_reason_ = why;
        return -1;
    }

    // llhttp_execute(), with a failed allocation in a callback thrown only once llhttp has
    // returned: an exception must not unwind through its C frames.
    llhttp_errno_t execute(const char* data, std::size_t length) {
        const auto err = llhttp_execute(&llhttp, data, length);
        if (out_of_memory) {
            throw std::bad_alloc();
        }
        return err;
    }

    parse_result fail_llhttp(llhttp_errno_t err, const char* begin) {
        const char* pos = llhttp_get_error_pos(&llhttp);
        const std::size_t at = pos != nullptr && pos >= begin ? pos - begin : 0;
        if (owner.error_status_ != 0) {
            owner.state_ = state::failed;
            return {parse_event::error, at};
        }
        if (err == HPE_PAUSED_H2_UPGRADE) {
            return fail(400, "HTTP/2 connection preface is not supported", at);
        }
        const char* why = llhttp_get_error_reason(&llhttp);
        return fail(400, why != nullptr ? why : llhttp_errno_name(err), at);
    }

    parse_result feed_head(std::string_view data) {
        const auto scan = scanner.scan(data);
        if (owner.state_ == state::idle && scanner.started()) {
            owner.state_ = state::head;
        }
        // llhttp sees the bytes up to the first problem only, so that an error it finds earlier
        // in the stream is the one reported.
        const std::size_t stop = scan.end;
        const auto err = execute(data.data(), stop);
        if (err == HPE_PAUSED && paused == pause_point::head) {
            const auto consumed =
                static_cast<std::size_t>(llhttp_get_error_pos(&llhttp) - data.data());
            llhttp_resume(&llhttp);
            owner.state_ = state::body;
            return {parse_event::head_done, consumed};
        }
        if (err != HPE_OK) {
            return fail_llhttp(err, data.data());
        }
        if (!scan.error.empty()) {
            return fail(scan.status, scan.error, stop);
        }
        if (scan.complete) {
            // The scanner saw the end of a head where llhttp did not: never let such a head
            // through.
            return fail(400, "malformed message head", stop);
        }
        return {parse_event::need_more, data.size()};
    }

    parse_result feed_body(std::string_view data) {
        std::size_t pos = 0;
        for (;;) {
            std::size_t stop = data.size();
            std::string_view pending;
            if (in_trailers) {
                const auto scan = scanner.scan(data.substr(pos));
                if (!scan.error.empty()) {
                    stop = pos + scan.end;
                    pending = scan.error;
                }
            }
            const auto err = execute(data.data() + pos, stop - pos);
            if (err == HPE_PAUSED) {
                pos = static_cast<std::size_t>(llhttp_get_error_pos(&llhttp) - data.data());
                llhttp_resume(&llhttp);
                if (paused == pause_point::message) {
                    owner.state_ = state::done;
                    return {parse_event::message_done, pos};
                }
                // The last chunk: the trailer section follows, checked like a head.
                in_trailers = true;
                scanner.start_trailers();
                continue;
            }
            if (err != HPE_OK) {
                return fail_llhttp(err, data.data());
            }
            if (!pending.empty()) {
                return fail(400, pending, stop);
            }
            return {parse_event::need_more, data.size()};
        }
    }

    void complete_head() {
        auto& head = owner.head_;
        const auto& storage = head.storage_;
        for (std::size_t i = 0; i + 1 < head.field_spans_.size(); i += 2) {
            const auto& name = head.field_spans_[i];
            const auto& value = head.field_spans_[i + 1];
            head.headers_.push_back(
                {std::string_view(storage).substr(name.offset, name.length),
                 trim(std::string_view(storage).substr(value.offset, value.length))});
        }
        head.target_ = std::string_view(storage).substr(target.offset, target.length);
        head.reason_ = std::string_view(storage).substr(reason.offset, reason.length);
        head.version_major_ = llhttp.http_major;
        head.version_minor_ = llhttp.http_minor;
        head.has_content_length_ = (llhttp.flags & F_CONTENT_LENGTH) != 0;
        head.content_length_ = head.has_content_length_ ? llhttp.content_length : 0;
        head.chunked_ = (llhttp.flags & F_CHUNKED) != 0;
    }

    int request_head_complete() {
        auto& head = owner.head_;
        head.method_ = llhttp_method_name(static_cast<llhttp_method_t>(llhttp.method));
        if (head.version_major_ != 1 || head.version_minor_ > 1) {
            return reject(400, "unsupported HTTP version");
        }
        if (llhttp.method == HTTP_CONNECT) {
            return reject(400, "CONNECT is not supported");
        }
        int hosts = 0;
        for (const auto& h : head.headers_) {
            hosts += iequals(h.name, "Host") ? 1 : 0;
        }
        if (hosts > 1) {
            return reject(400, "several Host headers");
        }
        if (hosts == 0 && !head.is_http10()) {
            return reject(400, "HTTP/1.1 request without a Host header");
        }
        if ((llhttp.flags & F_TRANSFER_ENCODING) != 0 || has_transfer_encoding(head)) {
            // RFC 9112 6.1: a 1.0 message with Transfer-Encoding has faulty framing.
            if (head.is_http10()) {
                return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
            }
            if (const char* problem = transfer_coding_problem(head)) {
                return reject(400, problem);
            }
            if (!head.chunked_) {
                return reject(400, final_coding_not_chunked);
            }
        }
        const auto max_body = owner.limits_.max_body_bytes;
        if (max_body != 0 && head.content_length_ > max_body) {
            return reject(413, "request body too large");
        }
        head.keep_alive_ = persistent(head);
        head.expect_continue_ = !head.is_http10() && iequals(head.find("Expect"), "100-continue");
        head.has_body_ = head.chunked_ || head.content_length_ > 0;
        head.upgrade_ =
            !head.is_http10() && head.connection_lists("upgrade") && !head.find("Upgrade").empty();
        // Whether the connection changes protocol is the server's answer to decide: the bytes
        // after this request are kept unparsed until then, so llhttp must not stop on its own.
        llhttp.upgrade = 0;
        return 0;
    }

    int response_head_complete() {
        auto& head = owner.head_;
        head.status_ = llhttp.status_code;
        if (head.version_major_ != 1 || head.version_minor_ > 1) {
            return reject(502, "unsupported HTTP version");
        }
        if (head.status_ < 100 || head.status_ > 599) {
            return reject(502, "invalid status code");
        }
        if (head.status_ == 101) {
            if (!expect_upgrade) {
                return reject(502,
                              "101 Switching Protocols to a request that asked for no upgrade");
            }
            // What follows is the new protocol's: the head is all this parser reads.
            head.upgrade_ = true;
            head.keep_alive_ = false;
            return 0;
        }
        // A response whose codings do not end with chunked is read to the close (RFC 9112
        // 6.3); one that fulcrum would read one way and its rewritten head say another is not
        // passed on.
        if (has_transfer_encoding(head)) {
            if (const char* problem = transfer_coding_problem(head);
                problem != nullptr && problem != final_coding_not_chunked) {
                return reject(502, problem);
            }
        }
        const bool no_body = expect_head_response || head.status_ / 100 == 1 ||
                             head.status_ == 204 || head.status_ == 304;
        if (no_body) {
            // llhttp itself skips only a HEAD response's body; 1xx, 204 and 304 never have one
            // whatever their Content-Length says (RFC 9112 6.3).
            llhttp.flags |= F_SKIPBODY;
        }
        head.close_delimited_ = !no_body && !head.chunked_ && !head.has_content_length_;
        head.has_body_ =
            !no_body && (head.chunked_ || head.content_length_ > 0 || head.close_delimited_);
        const bool faulty_framing = head.is_http10() && (llhttp.flags & F_TRANSFER_ENCODING) != 0;
        head.keep_alive_ = persistent(head) && !head.close_delimited_ && !faulty_framing;
        return 0;
    }

    static impl& self(llhttp_t* p) { return *static_cast<impl*>(p->data); }

    // Calls a callback that stores, and stops llhttp if it could not allocate: see execute().
    template <auto callback, typename... Args> static int guarded(llhttp_t* p, Args... args) {
        try {
            return callback(p, args...);
        } catch (const std::bad_alloc&) {
            self(p).out_of_memory = true;
            return -1;
        }
    }

    // Appends to the head's storage, which grows as needed up to the limits.
    static void store(impl& s, message_head::span& span, const char* at, std::size_t length) {
        auto& storage = s.owner.head_.storage_;
        if (span.length == 0) {
            span.offset = static_cast<std::uint32_t>(storage.size());
        }
        storage.append(at, length);
        span.length += static_cast<std::uint32_t>(length);
    }

    static int on_url(llhttp_t* p, const char* at, std::size_t length) {
        auto& s = self(p);
        store(s, s.target, at, length);
        return 0;
    }

    static int on_status(llhttp_t* p, const char* at, std::size_t length) {
        auto& s = self(p);
        store(s, s.reason, at, length);
        return 0;
    }

    static int on_header_field(llhttp_t* p, const char* at, std::size_t length) {
        auto& s = self(p);
        if (s.in_trailers) {
            return 0; // trailers are forwarded as body bytes, not kept
        }
        auto& spans = s.owner.head_.field_spans_;
        if (!s.field_open) {
            spans.emplace_back();
            spans.emplace_back();
            s.field_open = true;
        }
        store(s, spans[spans.size() - 2], at, length);
        return 0;
    }

    static int on_header_field_complete(llhttp_t* p) {
        self(p).field_open = false;
        return 0;
    }

    static int on_header_value(llhttp_t* p, const char* at, std::size_t length) {
        auto& s = self(p);
        if (s.in_trailers) {
            return 0;
        }
        store(s, s.owner.head_.field_spans_.back(), at, length);
        return 0;
    }

    static int on_headers_complete(llhttp_t* p) {
        auto& s = self(p);
        s.complete_head();
        const int result = s.request() ? s.request_head_complete() : s.response_head_complete();
        if (result != 0) {
            return result;
        }
        s.paused = pause_point::head;
        return HPE_PAUSED;
    }

    static int on_body(llhttp_t* p, const char* at, std::size_t length) {
        auto& owner = self(p).owner;
        owner.body_bytes_ += length;
        if (owner.kept_body_ != nullptr) {
            const std::size_t kept = owner.kept_body_->size();
            const std::size_t room = kept < owner.kept_body_max_ ? owner.kept_body_max_ - kept : 0;
            owner.kept_body_->append(at, std::min(length, room));
        }
        return 0;
    }

    static int on_chunk_header(llhttp_t* p) {
        auto& s = self(p);
        const std::uint64_t size = p->content_length;
        if (size == 0) {
            s.paused = pause_point::last_chunk;
            return HPE_PAUSED;
        }
        const auto max_body = s.owner.limits_.max_body_bytes;
        if (s.request() && max_body != 0) {
            if (size > max_body - s.declared_body) {
                return s.reject(413, "request body too large");
            }
            s.declared_body += size;
        }
        return 0;
    }

    static int on_message_complete(llhttp_t* p) {
        self(p).paused = pause_point::message;
        return HPE_PAUSED;
    }

    static const llhttp_settings_t& settings() {
        static const llhttp_settings_t built = [] {
            llhttp_settings_t s;
            llhttp_settings_init(&s);
            s.on_url = guarded<on_url>;
            s.on_status = guarded<on_status>;
            s.on_header_field = guarded<on_header_field>;
            s.on_header_field_complete = on_header_field_complete;
            s.on_header_value = guarded<on_header_value>;
            s.on_headers_complete = guarded<on_headers_complete>;
            s.on_body = guarded<on_body>;
            s.on_chunk_header = on_chunk_header;
            s.on_message_complete = on_message_complete;
            return s;
        }();
        return built;
    }

    parser& owner;
    llhttp_t llhttp{};
    head_scanner scanner;
    pause_point paused = pause_point::none;
    bool in_trailers = false;
    bool field_open = false; // llhttp may deliver a header name in several pieces
    bool expect_head_response = false;
    bool expect_upgrade = false;
    bool out_of_memory = false;
    std::uint64_t declared_body = 0; // sum of the chunk sizes announced so far
    message_head::span target;
    message_head::span reason;
};

parser::parser(mode kind, const config::limits& limits) : limits_(limits), mode_(kind) {
    impl_ = std::make_unique<impl>(*this);
    // Room for a usual head, so that most never allocate; a larger one grows the storage up to
    // the limits, and the connection's next messages reuse it. Reserving the limits whole
    // would cost every connection the largest head allowed.
    head_.storage_.reserve(std::min(limits_.max_head_bytes, usual_head_bytes));
    head_.field_spans_.reserve(2 * std::min(limits_.max_headers, usual_headers));
    head_.headers_.reserve(std::min(limits_.max_headers, usual_headers));
}

parser::~parser() = default;

void parser::next_message() {
    impl_->start_message();
    head_.clear();
    state_ = state::idle;
    error_status_ = 0;
    error_reason_ = {};
    body_bytes_ = 0;
}

void parser::keep_body(std::string* into, std::size_t max_bytes) {
    kept_body_ = into;
    kept_body_max_ = max_bytes;
}

void parser::expect_head_response(bool is_head) {
    impl_->expect_head_response = is_head;
}

void parser::expect_upgrade(bool upgrade) {
    impl_->expect_upgrade = upgrade;
}

parse_result parser::feed(std::string_view data) {
    if (state_ == state::failed) {
        return {parse_event::error, 0};
    }
    if (state_ == state::done) {
        return {parse_event::message_done, 0};
    }
    // llhttp computes data + len, undefined for a null pointer even with len 0 (UBSan), and an
    // empty string_view (finish() feeds one) may have a null data().
    if (data.data() == nullptr) {
        data = std::string_view("", 0);
    }
    if (state_ == state::body) {
        return impl_->feed_body(data);
    }
    return impl_->feed_head(data);
}

parse_result parser::finish() {
    if (state_ == state::failed) {
        return {parse_event::error, 0};
    }
    if (state_ == state::idle || state_ == state::done) {
        return {parse_event::need_more, 0};
    }
    if (state_ == state::body) {
        // A message without a body is complete although llhttp has not said so yet.
        if (const auto r = feed({}); r.event != parse_event::need_more) {
            return r;
        }
    }
    const auto err = llhttp_finish(&impl_->llhttp);
    if (err == HPE_PAUSED) {
        llhttp_resume(&impl_->llhttp);
        state_ = state::done;
        return {parse_event::message_done, 0};
    }
    return impl_->fail(400, "connection closed before the end of the message", 0);
}

} // namespace fulcrum::http
