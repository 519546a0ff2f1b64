#include "tls/client_context.hpp"

#include "tls/certificate.hpp"

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <string>

namespace fulcrum::tls {

namespace ssl = boost::asio::ssl;

namespace {

int protocol_of(config::tls_version version) {
    return version == config::tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

} // namespace

client_context::client_context(const config::backend_tls& settings)
    : context_(ssl::context::tls_client), server_name_(settings.server_name),
      verify_(settings.verify) {
    SSL_CTX* native = context_.native_handle();
    SSL_CTX_set_min_proto_version(native, protocol_of(settings.min_version));
    // A server that closes without a close_notify ends a close-delimited body as a plain TCP
    // close does, as nginx's proxy_ssl treats it; bodies with a length or chunks still detect
    // a cut.
    SSL_CTX_set_options(native, SSL_OP_IGNORE_UNEXPECTED_EOF);
    boost::system::error_code ec;
    if (settings.ca.empty()) {
        context_.set_default_verify_paths(ec);
    } else {
        context_.load_verify_file(settings.ca, ec);
    }
    if (ec) {
        throw setting_error(settings.origin,
                            (settings.ca.empty() ? std::string("the system's CA certificates")
                                                 : "CA file " + settings.ca) +
                                " cannot be loaded: " + ec.message());
    }
    context_.set_verify_mode(settings.verify ? ssl::verify_peer : ssl::verify_none);
    if (settings.client_certificate) {
        const auto& files = *settings.client_certificate;
        try {
            certificate::load(files).use_in(native);
        } catch (const std::runtime_error& e) {
            throw setting_error(files.origin, std::string("client certificate: ") + e.what());
        }
    }
}

ssl_ptr client_context::new_connection(const boost::asio::ip::address& address) const {
    ssl_ptr connection(SSL_new(context_.native_handle()));
    if (!connection) {
        return nullptr;
    }
    bool ok = true;
    if (!server_name_.empty()) {
        ok = SSL_set_tlsext_host_name(connection.get(), server_name_.c_str()) == 1;
    }
    if (verify_ && ok) {
        // OpenSSL's own name check rather than a verify callback: its verdict then says
        // "hostname mismatch" or "IP address mismatch" instead of a bare failure.
        X509_VERIFY_PARAM* param = SSL_get0_param(connection.get());
        if (!server_name_.empty()) {
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(connection.get(), server_name_.c_str()) == 1;
        } else if (address.is_v4()) {
            const auto bytes = address.to_v4().to_bytes();
            ok = X509_VERIFY_PARAM_set1_ip(param, bytes.data(), bytes.size()) == 1;
        } else {
            const auto bytes = address.to_v6().to_bytes();
            ok = X509_VERIFY_PARAM_set1_ip(param, bytes.data(), bytes.size()) == 1;
        }
    }
    return ok ? std::move(connection) : nullptr;
}

std::string handshake_failure(SSL* connection, const boost::system::error_code& ec) {
    const long verdict = SSL_get_verify_result(connection);
    if (verdict != X509_V_OK) {
        return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verdict);
    }
    return ec.message();
}

std::vector<std::shared_ptr<const client_context>> client_contexts(const config::config& cfg) {
    std::vector<std::shared_ptr<const client_context>> out;
    for (const auto& backend : cfg.backends) {
        out.push_back(backend.tls ? std::make_shared<const client_context>(*backend.tls) : nullptr);
    }
    return out;
}

} // namespace fulcrum::tls
