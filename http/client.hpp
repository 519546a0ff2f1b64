#pragma once

#include "config/config.hpp"
#include "http/response_reader.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fulcrum::http {

// An http:// or https:// URL, split for a request.
struct url {
    bool tls = false;
    std::string host;       // a DNS name or an IP literal (IPv6 without brackets)
    std::uint16_t port = 0; // 80 or 443 when the URL names none
    std::string target;     // path and query; "/" at least

    // For the Host header: "api.digitalocean.com", "127.0.0.1:8443", "[::1]:8443".
    std::string authority() const;
};

// Nothing for anything but http:// or https:// with a host: no user info, no fragment, no
// whitespace or control characters, a port in 1..65535.
std::optional<url> parse_url(std::string_view text);

struct http_request {
    std::string method = "GET";
    std::string url;
    // Sent as given, after Host; the client adds Content-Length (when there is a body or the
    // method is POST or PUT) and Connection: close.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // The whole exchange: name resolution, connect, TLS handshake, request and response.
    config::duration timeout{10000};
};

struct http_result {
    // Why no complete response arrived, in words ("connect to 192.0.2.1:443 failed:
    // Connection refused", "TLS: the certificate of api.example.com was not accepted:
    // hostname mismatch", "timed out after 10000ms waiting for the response"); empty when one
    // did, whatever its status.
    std::string error;
    http_response response;
    // Nothing listens there: the connection was refused (a stopped process, not a hung one).
    bool refused = false;

    bool ok() const { return error.empty(); }
};

struct http_client_settings {
    // PEM file of the CAs trusted for https://; empty: the system's default trust store.
    std::string ca_file;
    // A longer response body is an error rather than a memory cost.
    std::size_t max_body_bytes = 1024 * 1024;
};

// A small HTTP/1.1 client for the control plane (the cloud API, the metadata service, a
// peer's admin listener): one request per connection (Connection: close), names resolved
// with the system resolver, responses read with fulcrum's strict parser.
//
// https:// verifies the server: its chain up to a trusted CA, and its certificate against the
// host of the URL (DNS name or IP address, as OpenSSL's X509_check_host and X509_check_ip
// do); the host name goes in SNI. TLS 1.2 or later.
//
// send() runs on the executor it is awaited on; one client may serve several exchanges at
// once on that executor, and must outlive them.
class http_client {
public:
    // Throws std::runtime_error when the CA file cannot be loaded.
    explicit http_client(const http_client_settings& settings);

    boost::asio::awaitable<http_result> send(http_request request);

private:
    boost::asio::ssl::context tls_;
    std::size_t max_body_bytes_;
};

} // namespace fulcrum::http
