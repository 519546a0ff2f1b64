#pragma once

#include "config/config.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

namespace fulcrum::tls {

struct ssl_free {
    void operator()(SSL* s) const { SSL_free(s); }
};
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

// A backend's side of TLS to its servers (docs/tls.md, "TLS to servers"): one SSL_CTX built at
// start from `backends[].tls` and then only read, by every worker and by the health checks
// (OpenSSL makes SSL objects from one SSL_CTX on many threads at once).
class client_context {
public:
    // Throws setting_error (certificate.hpp), at the `tls` key or its `client_certificate`,
    // when the CA file (or the system's trust store) or the client certificate cannot be
    // loaded.
    explicit client_context(const config::backend_tls& settings);
    client_context(const client_context&) = delete;
    client_context& operator=(const client_context&) = delete;

    // A new connection to the server at `address`, set up to send server_name as SNI and to
    // check it (or, without a server_name, the address) in the server's certificate, for an
    // Asio ssl::stream to take over; empty when OpenSSL is out of memory.
    ssl_ptr new_connection(const boost::asio::ip::address& address) const;

private:
    // Mutable for SSL_new, which takes a non-const SSL_CTX but only counts a reference to it.
    mutable boost::asio::ssl::context context_;
    std::string server_name_;
    bool verify_;
};

// Why a handshake made with new_connection() failed, for the log and the checks' reports:
// "certificate verify failed: unable to get local issuer certificate", "certificate verify
// failed: hostname mismatch", "wrong version number (SSL routines)".
std::string handshake_failure(SSL* connection, const boost::system::error_code& ec);

// One per backend, in the config's order; nullptr for a backend without `tls`. Throws as the
// constructor does.
std::vector<std::shared_ptr<const client_context>> client_contexts(const config::config& cfg);

} // namespace fulcrum::tls
