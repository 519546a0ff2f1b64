#pragma once

#include "config/config.hpp"

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// TLS for fulcrum: certificates, the frontends' server contexts, the backends' client contexts
// (docs/tls.md). No sockets: proxy/ and health/ put these contexts on their streams.
namespace fulcrum::tls {

// A TLS setting that cannot be used, and where it was written.
class setting_error : public std::runtime_error {
public:
    setting_error(config::origin where, const std::string& message)
        : std::runtime_error(message), where_(std::move(where)) {}
    config::diagnostic diagnostic() const {
        return {where_.file, where_.line, where_.column, where_.path, what()};
    }

private:
    config::origin where_;
};

enum class key_type { rsa, ecdsa, other };
const char* name_of(key_type key); // "rsa", "ecdsa", "other"

struct x509_free {
    void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

// A certificate chain and its private key, read from PEM files and checked against each other.
class certificate {
public:
    using time_point = std::chrono::system_clock::time_point;

    // Throws std::runtime_error saying which file is wrong and how: unreadable, a key file
    // readable by group or others, no certificate in it, a chain or key that does not parse,
    // a key that does not match the certificate. Never shows the key's bytes.
    static certificate load(const config::certificate_files& files);

    // Lower-case DNS names from subjectAltName, else the subject's CN; "*.example.com" kept.
    const std::vector<std::string>& names() const { return names_; }
    // The first name, for logs and metric labels; the subject's text when it has none.
    const std::string& primary_name() const { return primary_name_; }
    key_type key() const { return key_type_; }
    time_point not_before() const { return not_before_; }
    time_point not_after() const { return not_after_; }

    // Installs the chain and key as one of the context's certificates (one per key type).
    // Throws std::runtime_error when OpenSSL refuses them.
    void use_in(SSL_CTX* context) const;

private:
    x509_ptr leaf_;
    std::vector<x509_ptr> chain_; // the intermediates after the leaf, in file order
    pkey_ptr key_;
    std::vector<std::string> names_;
    std::string primary_name_;
    key_type key_type_ = key_type::other;
    time_point not_before_;
    time_point not_after_;
};

// Whether `name` (from SNI, any case) is one of `names` (lower-case), "*.example.com" matching
// exactly one label in front of example.com, as RFC 6125 allows.
bool covers(const std::vector<std::string>& names, std::string_view name);

// "2027-03-01 12:00:00 UTC"
std::string utc_text(certificate::time_point when);

// The text of OpenSSL's last errors on this thread, for messages; clears them.
std::string openssl_errors();

} // namespace fulcrum::tls
