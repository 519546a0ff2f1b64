#include "http/head.hpp"

#include "http/detail/text.hpp"

#include <array>
#include <charconv>

namespace fulcrum::http {

namespace {

using detail::trim;

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether the comma-separated list `list` holds `token`.
bool list_contains(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    return false;
}

// "http://user@host:port/path?q" -> "user@host:port"; empty for any other form of target.
std::string_view absolute_form_authority(std::string_view target) {
    if (target.empty() || target.front() == '/') {
        return {};
    }
    const auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) {
        return {};
    }
    target.remove_prefix(scheme_end + 3);
    return target.substr(0, target.find_first_of("/?#"));
}

bool is_hop_by_hop(std::string_view name) {
    static constexpr std::array<std::string_view, 6> names = {
        "Connection", "Keep-Alive", "TE", "Trailer", "Proxy-Connection", "Upgrade"};
    for (const auto candidate : names) {
        if (iequals(name, candidate)) {
            return true;
        }
    }
    return false;
}

// Headers that the Connection header may not remove: a client that lists Content-Length or
// Transfer-Encoding there must not make us forward a body without its framing (smuggling), and
// Host is needed by the server to route.
bool is_protected(std::string_view name) {
    return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
           iequals(name, "Host");
}

bool is_removed(const message_head& head, std::string_view name) {
    // An upgrade goes on to the next hop: its Upgrade header with it (RFC 9110 7.8).
    if (head.upgrade() && iequals(name, "Upgrade")) {
        return false;
    }
    return is_hop_by_hop(name) || (!is_protected(name) && head.connection_lists(name));
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

void append_status(std::string& out, int status) {
    std::array<char, 16> digits{};
    const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), status);
    out.append(digits.data(), result.ptr);
}

} // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

void message_head::clear() {
    storage_.clear();
    field_spans_.clear();
    headers_.clear();
    method_ = {};
    target_ = {};
    reason_ = {};
    status_ = 0;
    version_major_ = 1;
    version_minor_ = 1;
    keep_alive_ = true;
    chunked_ = false;
    has_content_length_ = false;
    content_length_ = 0;
    expect_continue_ = false;
    upgrade_ = false;
    close_delimited_ = false;
    has_body_ = false;
}

bool message_head::is_idempotent() const {
    return method_ == "GET" || method_ == "HEAD" || method_ == "OPTIONS" || method_ == "TRACE" ||
           method_ == "PUT" || method_ == "DELETE";
}

std::string_view message_head::path() const {
    std::string_view path = target_;
    if (!path.empty() && path.front() != '/') {
        if (const auto scheme_end = path.find("://"); scheme_end != std::string_view::npos) {
            const auto start = path.find_first_of("/?#", scheme_end + 3);
            if (start == std::string_view::npos || path[start] != '/') {
                return "/";
            }
            path.remove_prefix(start);
        }
    }
    return path.substr(0, path.find_first_of("?#"));
}

std::string_view message_head::host() const {
    std::string_view host = absolute_form_authority(target_);
    if (host.empty()) {
        host = find("Host");
    } else if (const auto at = host.rfind('@'); at != std::string_view::npos) {
        host.remove_prefix(at + 1);
    }
    if (!host.empty() && host.front() == '[') {
        return host.substr(0, host.find(']') + 1);
    }
    return host.substr(0, host.find(':'));
}

std::string_view message_head::find(std::string_view name) const {
    for (const auto& h : headers_) {
        if (iequals(h.name, name)) {
            return h.value;
        }
    }
    return {};
}

bool message_head::connection_lists(std::string_view name) const {
    for (const auto& h : headers_) {
        if (iequals(h.name, "Connection") && list_contains(h.value, name)) {
            return true;
        }
    }
    return false;
}

void write_request_head(const message_head& request, const forward_options& options,
                        std::string& out) {
    out.clear();
    out.append(request.method());
    out.push_back(' ');
    out.append(request.target());
    out.append(request.is_http10() ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");

    for (const auto& h : request.headers()) {
        if (is_removed(request, h.name) || iequals(h.name, "X-Forwarded-Proto") ||
            (options.forwardfor && iequals(h.name, "X-Forwarded-For"))) {
            continue;
        }
        append_header(out, h.name, h.value);
    }

    if (options.forwardfor) {
        out.append("X-Forwarded-For: ");
        for (const auto& h : request.headers()) {
            if (iequals(h.name, "X-Forwarded-For") && !h.value.empty()) {
                out.append(h.value);
                out.append(", ");
            }
        }
        out.append(options.client_address);
        out.append("\r\n");
    }
    append_header(out, "X-Forwarded-Proto", options.proto);
    if (request.upgrade()) {
        out.append("Connection: upgrade\r\n");
    } else if (request.is_http10()) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

// Always "HTTP/1.1", also to a 1.0 client: the version names what the sender supports, and the
// framing has been chosen for the client already (RFC 9110 6.2).
void write_response_head(const message_head& response, bool client_is_http10, bool keep_alive,
                         std::string& out, std::string_view added) {
    out.clear();
    out.append("HTTP/1.1 ");
    append_status(out, response.status());
    out.push_back(' ');
    out.append(response.reason());
    out.append("\r\n");

    for (const auto& h : response.headers()) {
        if (!is_removed(response, h.name)) {
            append_header(out, h.name, h.value);
        }
    }
    out.append(added);
    if (response.upgrade()) {
        out.append("Connection: upgrade\r\n");
    } else if (!keep_alive) {
        out.append("Connection: close\r\n");
    } else if (client_is_http10) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

void write_redirect(int code, std::string_view scheme, std::string_view host, std::uint16_t port,
                    std::string_view target, bool client_is_http10, bool keep_alive,
                    std::string& out) {
    if (!target.starts_with('/')) {
        const auto authority = target.find("://");
        const auto path = authority == std::string_view::npos ? std::string_view::npos
                                                              : target.find('/', authority + 3);
        target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
    }
    const std::string_view reason = code == 301   ? "Moved Permanently"
                                    : code == 302 ? "Found"
                                    : code == 303 ? "See Other"
                                    : code == 307 ? "Temporary Redirect"
                                                  : "Permanent Redirect";
    out.clear();
    out.append("HTTP/1.1 ");
    append_status(out, code);
    out.push_back(' ');
    out.append(reason);
    out.append("\r\nLocation: ");
    out.append(scheme);
    out.append("://");
    out.append(host);
    if (port != 0) {
        out.push_back(':');
        out.append(std::to_string(port));
    }
    out.append(target);
    out.append("\r\nContent-Length: 0\r\n");
    if (!keep_alive) {
        out.append("Connection: close\r\n");
    } else if (client_is_http10) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

std::string_view error_response(int status, bool close) {
    struct page {
        int status;
        std::string_view reason;
        std::string_view explanation;
    };
    static constexpr std::array<page, 9> pages = {{
        {500, "Internal Server Error", "the proxy failed to handle this request"},
        {400, "Bad Request", "the request is malformed or not supported"},
        {408, "Request Timeout", "the request was not received in time"},
        {413, "Content Too Large", "the request body is larger than allowed"},
        {414, "URI Too Long", "the request target is longer than allowed"},
        {431, "Request Header Fields Too Large", "the request head is larger than allowed"},
        {502, "Bad Gateway", "the server sent an invalid or incomplete response"},
        {503, "Service Unavailable", "no server is available to handle this request"},
        {504, "Gateway Timeout", "the server did not respond in time"},
    }};
    // Built once: [2 * page + close].
    static const std::array<std::string, 2 * pages.size()> responses = [] {
        std::array<std::string, 2 * pages.size()> built;
        for (std::size_t i = 0; i < pages.size(); ++i) {
            std::string body;
            append_status(body, pages[i].status);
            body.append(" ");
            body.append(pages[i].reason);
            body.append(": ");
            body.append(pages[i].explanation);
            body.append("\n");
            for (const bool with_close : {false, true}) {
                std::string& r = built[2 * i + (with_close ? 1 : 0)];
                r.append("HTTP/1.1 ");
                append_status(r, pages[i].status);
                r.append(" ");
                r.append(pages[i].reason);
                r.append("\r\nContent-Type: text/plain\r\nContent-Length: ");
                r.append(std::to_string(body.size()));
                r.append("\r\nCache-Control: no-cache\r\n");
                if (with_close) {
                    r.append("Connection: close\r\n");
                }
                r.append("\r\n");
                r.append(body);
            }
        }
        return built;
    }();

    std::size_t index = 0; // unknown statuses answer as 500
    for (std::size_t i = 0; i < pages.size(); ++i) {
        if (pages[i].status == status) {
            index = i;
        }
    }
    return responses[2 * index + (close ? 1 : 0)];
}

} // namespace fulcrum::http
