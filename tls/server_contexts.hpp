#pragma once

#include "config/config.hpp"
#include "tls/certificate.hpp"
#include "tls/ticket_keys.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

namespace fulcrum::tls {

// The TLS side of one frontend, built from its `tls` settings: one OpenSSL context per group of
// certificates for the same names (an RSA and an ECDSA certificate for example.com share one,
// and the client's signature algorithms choose between them), the first group's being the
// default. Every handshake starts on the default context; the client's SNI moves it to the
// group that names it. Immutable once built and shared by the workers (SSL_new from a shared
// SSL_CTX is thread-safe); a reload builds a new one, and the connections of the old one keep
// it alive through OpenSSL's reference counts.
class server_contexts {
public:
    struct installed {
        std::string name; // the certificate's primary name
        key_type key;
        certificate::time_point not_before;
        certificate::time_point not_after;
        config::origin origin; // of its setting
    };

    // Loads every certificate. Throws setting_error naming the setting (its origin) and
    // what is wrong: a certificate that cannot be loaded, a second certificate of the same key
    // type for the same names, a cipher list OpenSSL does not take.
    explicit server_contexts(const config::frontend_tls& settings);

    // Where every handshake starts. Keep this object alive until the handshake is over: the
    // SNI callback refers to it.
    boost::asio::ssl::context& initial() const { return *groups_.front().context; }
    const std::vector<installed>& certificates() const { return installed_; }
    // A new session ticket key (ticket_keys.hpp); from the control thread while workers
    // handshake.
    void rotate_ticket_keys() const { tickets_->rotate(); }

private:
    struct group {
        std::vector<std::string> names;
        std::vector<key_type> keys;
        std::unique_ptr<boost::asio::ssl::context> context;
    };

    static int on_server_name(SSL* ssl, int* alert, void* self);
    static int on_ticket(SSL* ssl, unsigned char name[16], unsigned char* iv,
                         EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt);
    void configure(SSL_CTX* context, const config::frontend_tls& settings) const;

    // Behind a pointer so that rotation, which changes only the keys, is a const call.
    std::unique_ptr<ticket_keys> tickets_ = std::make_unique<ticket_keys>();
    std::vector<group> groups_;
    std::vector<installed> installed_;
    bool refuse_unknown_;
};

} // namespace fulcrum::tls
