#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <cstddef>
#include <memory>
#include <variant>

namespace fulcrum::proxy::detail {

// A connection to a server: plain TCP, or TLS over TCP for a backend with `tls`, decided at
// run time per backend. The phases, the tunnel and the pool see one stream type either way.
// The TLS stream sits behind a pointer, so that a plain connection costs a session no more
// than its socket, and moving a connection in and out of the pool moves a pointer.
class upstream_stream {
public:
    using executor_type = boost::asio::any_io_executor;
    using tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
    using lowest_layer_type = boost::asio::ip::tcp::socket;

    explicit upstream_stream(boost::asio::ip::tcp::socket plain) : stream_(std::move(plain)) {}
    explicit upstream_stream(std::unique_ptr<tls_stream> tls) : stream_(std::move(tls)) {
        // Asio sets SSL_MODE_RELEASE_BUFFERS, with which OpenSSL frees its record buffers
        // whenever they are empty and allocates them again for the next record: three
        // allocations per proxied request. A connection keeps its buffers instead (about
        // 35 KiB; docs/tls.md, "TLS to servers").
        SSL_clear_mode(std::get<std::unique_ptr<tls_stream>>(stream_)->native_handle(),
                       SSL_MODE_RELEASE_BUFFERS);
    }

    executor_type get_executor() { return lowest_layer().get_executor(); }

    lowest_layer_type& lowest_layer() {
        if (auto* tls = std::get_if<std::unique_ptr<tls_stream>>(&stream_)) {
            return (*tls)->next_layer();
        }
        return std::get<boost::asio::ip::tcp::socket>(stream_);
    }

    // The TLS stream, or nullptr for a plain connection.
    tls_stream* tls() {
        auto* tls = std::get_if<std::unique_ptr<tls_stream>>(&stream_);
        return tls != nullptr ? tls->get() : nullptr;
    }

    template <typename Buffers, typename Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                if (auto* s = tls()) {
                    s->async_read_some(b, std::move(handler));
                } else {
                    lowest_layer().async_read_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

    template <typename Buffers, typename Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                if (auto* s = tls()) {
                    s->async_write_some(b, std::move(handler));
                } else {
                    lowest_layer().async_write_some(b, std::move(handler));
                }
            },
            token, buffers);
    }

    // Closes the TCP connection at once (no close_notify: see docs/tls.md, "TLS to servers");
    // whatever waits on the connection ends.
    void close() {
        boost::system::error_code ignored;
        lowest_layer().close(ignored);
    }

private:
    std::variant<boost::asio::ip::tcp::socket, std::unique_ptr<tls_stream>> stream_;
};

} // namespace fulcrum::proxy::detail
