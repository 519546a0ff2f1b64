#include "tls/server_contexts.hpp"

#include "tls/profile.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <stdexcept>

namespace fulcrum::tls {

namespace ssl = boost::asio::ssl;

namespace {

[[noreturn]] void fail(const config::origin& where, const std::string& message) {
    throw setting_error(where, message);
}

int select_http11(SSL*, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* offered, unsigned int offered_length, void*) {
    static constexpr unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, out_length, http11, sizeof http11, offered,
                              offered_length) != OPENSSL_NPN_NEGOTIATED) {
        // A client that offers only h2 goes on without ALPN, as with HAProxy's `alpn http/1.1`.
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

// Where a context finds its server_contexts in the ticket callback, which has no argument.
int owner_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

} // namespace

server_contexts::server_contexts(const config::frontend_tls& settings)
    : refuse_unknown_(settings.on_unknown_sni == config::frontend_tls::unknown_sni::refuse) {
    if (settings.certificates.empty()) {
        fail(settings.origin, "no certificate");
    }
    for (const auto& files : settings.certificates) {
        certificate loaded = [&] {
            try {
                return certificate::load(files);
            } catch (const std::runtime_error& e) {
                fail(files.origin, e.what());
            }
        }();
        auto names = loaded.names();
        std::sort(names.begin(), names.end());
        auto same_names = std::find_if(groups_.begin(), groups_.end(),
                                       [&](const group& g) { return g.names == names; });
        if (same_names != groups_.end() &&
            std::find(same_names->keys.begin(), same_names->keys.end(), loaded.key()) !=
                same_names->keys.end()) {
            fail(files.origin, "a second " + std::string(name_of(loaded.key())) +
                                   " certificate for the same names as an earlier one (" +
                                   loaded.primary_name() + "): only one of them could be served");
        }
        if (same_names == groups_.end()) {
            auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
            configure(context->native_handle(), settings);
            groups_.push_back(group{std::move(names), {}, std::move(context)});
            same_names = groups_.end() - 1;
        }
        try {
            loaded.use_in(same_names->context->native_handle());
        } catch (const std::runtime_error& e) {
            fail(files.origin, e.what());
        }
        same_names->keys.push_back(loaded.key());
        installed_.push_back({loaded.primary_name(), loaded.key(), loaded.not_before(),
                              loaded.not_after(), files.origin});
    }
}

void server_contexts::configure(SSL_CTX* context, const config::frontend_tls& settings) const {
    const int min_version =
        settings.min_version == config::tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(context, min_version);
    SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION);
    // Renegotiation started by a client costs the server a handshake for nothing it needs.
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                     (settings.session_tickets ? 0 : SSL_OP_NO_TICKET));
    // OpenSSL keeps its 2 x 17 KiB record buffers only while a record is in flight, so that an
    // idle keep-alive connection does not hold them.
    SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
    // A record in one read(): without read-ahead OpenSSL reads its 5-byte header, then the rest.
    SSL_CTX_set_read_ahead(context, 1);
    const std::string ciphers = settings.ciphers.empty() ? profile::ciphers : settings.ciphers;
    if (SSL_CTX_set_cipher_list(context, ciphers.c_str()) != 1) {
        ERR_clear_error();
        fail(settings.origin, "ciphers: OpenSSL accepts none of '" + ciphers + "'");
    }
    const std::string suites =
        settings.ciphersuites.empty() ? profile::ciphersuites : settings.ciphersuites;
    if (SSL_CTX_set_ciphersuites(context, suites.c_str()) != 1) {
        ERR_clear_error();
        fail(settings.origin, "ciphersuites: OpenSSL accepts none of '" + suites + "'");
    }
    SSL_CTX_set1_groups_list(context, profile::groups);
    // Resumption: TLS 1.3 and 1.2 tickets, and OpenSSL's session cache for 1.2 clients
    // without tickets. One ticket per full handshake: a client resumes one connection at a
    // time (OpenSSL sends two by default, each an encryption).
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(
        context,
        static_cast<long>(
            std::chrono::duration_cast<std::chrono::seconds>(settings.session_timeout).count()));
    SSL_CTX_set_num_tickets(context, settings.session_tickets ? 1 : 0);
    static constexpr unsigned char session_context[] = "fulcrum";
    SSL_CTX_set_session_id_context(context, session_context, sizeof session_context - 1);
    SSL_CTX_set_alpn_select_cb(context, select_http11, nullptr);
    SSL_CTX_set_tlsext_servername_callback(context, &server_contexts::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(context, const_cast<server_contexts*>(this));
    SSL_CTX_set_ex_data(context, owner_index(), const_cast<server_contexts*>(this));
    SSL_CTX_set_tlsext_ticket_key_evp_cb(context, &server_contexts::on_ticket);
}

// Every group's context of a frontend leads to the same keys.
int server_contexts::on_ticket(SSL* ssl, unsigned char name[16], unsigned char* iv,
                               EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
    const auto* self = static_cast<const server_contexts*>(
        SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index()));
    return self->tickets_->on_ticket(name, iv, cipher, mac, encrypt);
}

// Called once per handshake, with or without SNI (OpenSSL 1.1.1 and later).
int server_contexts::on_server_name(SSL* ssl, int* alert, void* self) {
    const auto& contexts = *static_cast<const server_contexts*>(self);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name != nullptr) {
        for (const auto& g : contexts.groups_) {
            if (covers(g.names, name)) {
                if (&g != &contexts.groups_.front()) {
                    SSL_set_SSL_CTX(ssl, g.context->native_handle());
                }
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    if (contexts.refuse_unknown_) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

} // namespace fulcrum::tls
