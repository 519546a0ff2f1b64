#include "http/client.hpp"

#include "base/asio.hpp"
#include "http/head.hpp"
#include "http/response_reader.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <charconv>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace fulcrum::http {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using base::with;
using boost::system::error_code;

std::string url::authority() const {
    const bool v6 = host.find(':') != std::string::npos;
    std::string out = v6 ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) {
        out += ":" + std::to_string(port);
    }
    return out;
}

std::optional<url> parse_url(std::string_view text) {
    for (const char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#') {
            return std::nullopt;
        }
    }
    url out;
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view scheme = text.substr(0, scheme_end);
    if (http::iequals(scheme, "https")) {
        out.tls = true;
    } else if (!http::iequals(scheme, "http")) {
        return std::nullopt;
    }
    text.remove_prefix(scheme_end + 3);
    const auto authority_end = text.find_first_of("/?");
    std::string_view authority = text.substr(0, authority_end);
    const std::string_view rest =
        authority_end == std::string_view::npos ? std::string_view() : text.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = authority.substr(1, close - 1);
        error_code ec;
        asio::ip::make_address_v6(out.host, ec);
        if (ec) {
            return std::nullopt;
        }
        authority.remove_prefix(close + 1);
        if (!authority.empty() && !authority.starts_with(':')) {
            return std::nullopt;
        }
        port = authority.empty() ? std::string_view() : authority.substr(1);
    } else {
        const auto colon = authority.find(':');
        out.host = authority.substr(0, colon);
        port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
        for (const char c : out.host) {
            const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                 (c >= '0' && c <= '9') || c == '-' || c == '.';
            if (!allowed) {
                return std::nullopt;
            }
        }
    }
    if (out.host.empty()) {
        return std::nullopt;
    }
    out.port = out.tls ? 443 : 80;
    if (!port.empty()) {
        unsigned number = 0;
        const auto parsed = std::from_chars(port.data(), port.data() + port.size(), number);
        if (parsed.ec != std::errc{} || parsed.ptr != port.data() + port.size() || number == 0 ||
            number > 65535) {
            return std::nullopt;
        }
        out.port = static_cast<std::uint16_t>(number);
    }
    out.target = rest.starts_with('/') ? std::string(rest) : "/" + std::string(rest);
    return out;
}

namespace {

// The connection of one exchange, shared with its watchdog, whose handler may run after the
// exchange has ended.
struct connection {
    connection(const asio::any_io_executor& executor, ssl::context& tls)
        : resolver(executor), stream(tcp::socket(executor), tls) {}

    // One timeout bounds the whole exchange (lookup, connect, handshake, request, response),
    // not each step: when it passes it closes the socket (and cancels a name lookup), and
    // whatever the exchange was waiting for fails.
    void abort() {
        timed_out = true;
        resolver.cancel();
        error_code ignored;
        stream.lowest_layer().close(ignored);
    }

    tcp::resolver resolver;
    ssl::stream<tcp::socket> stream;
    bool timed_out = false;
    const char* phase = "resolving the host name"; // for the timeout's message
};

bool has_line_break(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string request_head(const http_request& request, const url& u) {
    std::string out = request.method + " " + u.target + " HTTP/1.1\r\nHost: " + u.authority() +
                      "\r\nUser-Agent: fulcrum\r\n";
    for (const auto& [name, value] : request.headers) {
        out += name + ": " + value + "\r\n";
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
        out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
    }
    out += "Connection: close\r\n\r\n";
    return out;
}

// The words for a response that could not be read, or "" when it was.
std::string read_failure_text(const read_result& r, std::size_t max_body) {
    if (r.ok()) {
        return "";
    }
    if (r.failure == read_failure::closed_early) {
        return "the connection closed before the response was complete";
    }
    if (r.failure == read_failure::io) {
        return "reading the response failed: " + r.io_error.message();
    }
    if (r.failure == read_failure::bad_response) {
        return "bad response: " + r.reason;
    }
    return "the response body is larger than " + std::to_string(max_body) + " bytes";
}

// The words for a failed handshake: OpenSSL's verdict on the certificate when it was refused.
std::string handshake_failure(ssl::stream<tcp::socket>& stream, const url& u,
                              const error_code& ec) {
    const long verdict = SSL_get_verify_result(stream.native_handle());
    if (verdict != X509_V_OK) {
        return "TLS: the certificate of " + u.host +
               " was not accepted: " + X509_verify_cert_error_string(verdict);
    }
    return "TLS handshake with " + u.authority() + " failed: " + ec.message();
}

// Sets up verification of the server's certificate against `host` and SNI. OpenSSL's own
// host check (X509_VERIFY_PARAM) rather than asio's host_name_verification callback: the same
// X509_check_host and X509_check_ip_asc underneath, and the verify result then says
// "hostname mismatch" instead of a bare "certificate verify failed".
bool expect_host(ssl::stream<tcp::socket>& stream, const std::string& host) {
    SSL* handle = stream.native_handle();
    error_code not_an_address;
    asio::ip::make_address(host, not_an_address);
    X509_VERIFY_PARAM* param = SSL_get0_param(handle);
    if (!not_an_address) {
        // RFC 6066 3: no IP literals in SNI.
        return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(handle, host.c_str()) == 1 &&
           SSL_set_tlsext_host_name(handle, host.c_str()) == 1;
}

} // namespace

http_client::http_client(const http_client_settings& settings)
    : tls_(ssl::context::tls_client), max_body_bytes_(settings.max_body_bytes) {
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls_.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (settings.ca_file.empty()) {
        tls_.set_default_verify_paths(ec);
    } else {
        tls_.load_verify_file(settings.ca_file, ec);
    }
    if (ec) {
        throw std::runtime_error((settings.ca_file.empty() ? "the system's CA certificates"
                                                           : "CA file " + settings.ca_file) +
                                 " cannot be loaded: " + ec.message());
    }
}

asio::awaitable<http_result> http_client::send(http_request request) {
    http_result result;
    const auto u = parse_url(request.url);
    if (!u) {
        result.error = "not an http:// or https:// URL";
        co_return result;
    }
    if (has_line_break(request.method) || request.method.empty()) {
        result.error = "bad method";
        co_return result;
    }
    for (const auto& [name, value] : request.headers) {
        if (has_line_break(name) || has_line_break(value) || name.empty()) {
            // The value is not shown: it may be a secret.
            result.error = "header " + name + " contains a line break";
            co_return result;
        }
    }

    const auto executor = co_await asio::this_coro::executor;
    auto conn = std::make_shared<connection>(executor, tls_);
    asio::steady_timer watchdog(executor);
    watchdog.expires_after(request.timeout);
    watchdog.async_wait([conn](error_code ec) {
        if (!ec) {
            conn->abort();
        }
    });

    const auto exchange = [&]() -> asio::awaitable<std::string> {
        error_code ec;
        const auto endpoints = co_await conn->resolver.async_resolve(
            u->host, std::to_string(u->port), tcp::resolver::numeric_service, with(ec));
        if (ec) {
            co_return "cannot resolve " + u->host + ": " + ec.message();
        }
        conn->phase = "connecting";
        const auto peer =
            co_await asio::async_connect(conn->stream.lowest_layer(), endpoints, with(ec));
        if (ec) {
            result.refused = ec == asio::error::connection_refused;
            co_return "connect to " + u->authority() + " failed: " + ec.message();
        }
        const std::string head = request_head(request, *u);
        const std::array<asio::const_buffer, 2> message{asio::buffer(head),
                                                        asio::buffer(request.body)};
        if (u->tls) {
            conn->phase = "in the TLS handshake";
            if (!expect_host(conn->stream, u->host)) {
                co_return "TLS: cannot set up the host check for " + u->host;
            }
            co_await conn->stream.async_handshake(ssl::stream_base::client, with(ec));
            if (ec) {
                co_return handshake_failure(conn->stream, *u, ec);
            }
            conn->phase = "sending the request";
            co_await asio::async_write(conn->stream, message, with(ec));
        } else {
            conn->phase = "sending the request";
            co_await asio::async_write(conn->stream.next_layer(), message, with(ec));
        }
        if (ec) {
            co_return "sending the request to " + peer.address().to_string() +
                " failed: " + ec.message();
        }
        conn->phase = "waiting for the response";
        read_options options;
        options.head_request = request.method == "HEAD";
        options.max_body = max_body_bytes_;
        read_result read;
        if (u->tls) {
            read = co_await read_response(conn->stream, std::move(options));
        } else {
            read = co_await read_response(conn->stream.next_layer(), std::move(options));
        }
        result.response = std::move(read.response);
        co_return read_failure_text(read, max_body_bytes_);
    };
    result.error = co_await exchange();
    watchdog.cancel();
    if (!result.error.empty() && conn->timed_out) {
        result.error =
            "timed out after " + std::to_string(request.timeout.count()) + "ms " + conn->phase;
    }
    co_return result;
}

} // namespace fulcrum::http
