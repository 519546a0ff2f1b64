// The parts of session<Stream> that only a TLS session has: the handshake and its metering,
// and the close_notify before the close (docs/tls.md). Instantiated for tls_stream only.
#include "proxy/detail/session.hpp"

#include "proxy/detail/worker.hpp"

#include "base/asio.hpp"

#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace fulcrum::proxy::detail {

namespace asio = boost::asio;

namespace {

// Why a handshake failed, as fulcrum_tls_handshake_failures_total says it.
sli::tls_failure failure_of(const error_code& ec) {
    if (ec == asio::error::timed_out) {
        return sli::tls_failure::timeout;
    }
    if (ec.category() != asio::error::get_ssl_category()) {
        return ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
                       ec == asio::error::connection_reset || ec == asio::error::broken_pipe
                   ? sli::tls_failure::closed
                   : sli::tls_failure::other;
    }
    switch (const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return sli::tls_failure::protocol_version;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        return sli::tls_failure::no_shared_cipher;
    case SSL_R_CALLBACK_FAILED: // the SNI callback, the only one that refuses
        return sli::tls_failure::unknown_sni;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
        return sli::tls_failure::plain_http;
    default:
        // Alerts the client sent are reasons SSL_AD_REASON_OFFSET + the alert's number.
        return reason > SSL_AD_REASON_OFFSET ? sli::tls_failure::client_alert
                                             : sli::tls_failure::other;
    }
}

} // namespace

// Within timeouts.http_request, as the request head that follows: a client gets that long from
// its connect to its first request, handshake included.
template <typename Stream> asio::awaitable<bool> session<Stream>::handshake() {
    client_deadline_.arm(frontend_.http_request_timeout);
    error_code ec;
    co_await client_.async_handshake(asio::ssl::stream_base::server, base::with(ec));
    client_deadline_.disarm();
    if (client_deadline_.expired()) {
        ec = asio::error::timed_out;
    }
    if (ec) {
        const auto why = failure_of(ec);
        worker_.tls_failure(frontend_index_, why);
        if (why == sli::tls_failure::plain_http) {
            // What went wrong, in words the client can read, as nginx does; not a request of
            // the SLI's (no request was understood).
            static constexpr std::string_view plain_http =
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 44\r\n"
                "Connection: close\r\n\r\nThis port speaks HTTPS: use an https:// URL\n";
            client_deadline_.arm(frontend_.client_timeout);
            co_await asio::async_write(client_.next_layer(), asio::buffer(plain_http),
                                       base::with(ec));
            client_deadline_.disarm();
        }
        co_return false;
    }
    SSL* ssl = client_.native_handle();
    worker_.tls_handshake(frontend_index_, SSL_version(ssl) == TLS1_3_VERSION,
                          SSL_session_reused(ssl) == 1);
    co_return true;
}

// A client reading a response delimited by the close needs the close_notify to tell its end
// from a cut. Sent without waiting for the client's own (as nginx does): its connection is
// closed next.
template <typename Stream> asio::awaitable<void> session<Stream>::close_notify() {
    const auto& gone = reader_.closed();
    if (!secured_ || client_left_ ||
        (gone && gone != asio::error::eof && gone != asio::ssl::error::stream_truncated &&
         gone != asio::error::operation_aborted)) {
        co_return;
    }
    // One operation at a time on the TLS stream: the watch's read is ended first.
    if (reader_.pending()) {
        error_code ignored;
        client_.lowest_layer().cancel(ignored);
        co_await reader_.settle();
    }
    SSL* ssl = client_.native_handle();
    SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
    client_deadline_.arm(frontend_.client_timeout);
    error_code ignored;
    co_await client_.async_shutdown(base::with(ignored));
    client_deadline_.disarm();
}

template asio::awaitable<bool> session<tls_stream>::handshake();
template asio::awaitable<void> session<tls_stream>::close_notify();

} // namespace fulcrum::proxy::detail
