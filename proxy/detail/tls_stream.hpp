#pragma once

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace fulcrum::proxy::detail {

// A client's TLS connection, OpenSSL reading and writing the non-blocking TCP socket itself
// (SSL_set_fd); Asio only waits for the socket to be readable or writable. Asio's
// ssl::stream instead runs every byte through a BIO pair and two 17 KiB buffers of its own per
// connection: a copy more each way, and 70 KiB held by every idle connection (bench/run's
// tls_idle measured it). Here an idle connection holds OpenSSL's state only: its record buffers
// are released when empty (SSL_MODE_RELEASE_BUFFERS, tls/server_contexts.cpp).
//
// The interface is the part of ssl::stream the session uses, with the same errors: eof for a
// close_notify, ssl::error::stream_truncated for a close without one, the ssl category for
// OpenSSL's errors. One read and one write may be in flight at once, as with ssl::stream: they
// never call OpenSSL at the same time (one thread), and renegotiation, the one case where a
// write would need a read, is off.
class tls_stream {
public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;
    using error_code = boost::system::error_code;

    tls_stream(socket_type socket, boost::asio::ssl::context& context)
        : socket_(std::move(socket)), ssl_(SSL_new(context.native_handle())) {
        error_code ignored;
        socket_.non_blocking(true, ignored);
        if (ssl_ == nullptr) {
            throw std::bad_alloc();
        }
        SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
        SSL_set_accept_state(ssl_);
        // A write is one record at most (write_some), and its retry gathers the same bytes
        // into the same thread's space, which may have moved on meanwhile.
        SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
    tls_stream(tls_stream&& other) noexcept
        : socket_(std::move(other.socket_)), ssl_(std::exchange(other.ssl_, nullptr)) {}
    tls_stream& operator=(tls_stream&&) = delete;
    ~tls_stream() { SSL_free(ssl_); }

    executor_type get_executor() { return socket_.get_executor(); }
    socket_type& lowest_layer() { return socket_; }
    socket_type& next_layer() { return socket_; }
    SSL* native_handle() { return ssl_; }

    template <typename Token>
    auto async_handshake(boost::asio::ssl::stream_base::handshake_type, Token&& token) {
        return run(
            [](SSL* ssl, std::size_t& done) {
                done = 0;
                return SSL_do_handshake(ssl);
            },
            std::forward<Token>(token));
    }

    template <typename Buffers, typename Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        const auto into = first_buffer(buffers);
        return run(
            [into](SSL* ssl, std::size_t& done) {
                return into.size() == 0 ? 1 : SSL_read_ex(ssl, into.data(), into.size(), &done);
            },
            std::forward<Token>(token), true);
    }

    // Writes up to one record: the buffers are gathered first, so that a head and the body
    // after it leave in one record and one send.
    template <typename Buffers, typename Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return run(
            [buffers](SSL* ssl, std::size_t& done) {
                auto& scratch = gather_space();
                const std::size_t n =
                    boost::asio::buffer_copy(boost::asio::buffer(scratch), buffers);
                return n == 0 ? 1 : SSL_write_ex(ssl, scratch.data(), n, &done);
            },
            std::forward<Token>(token));
    }

    // Sends a close_notify and completes: the caller sets SSL_RECEIVED_SHUTDOWN when it does
    // not wait for the client's.
    template <typename Token> auto async_shutdown(Token&& token) {
        return run(
            [](SSL* ssl, std::size_t& done) {
                done = 0;
                return SSL_shutdown(ssl) >= 0 ? 1 : -1;
            },
            std::forward<Token>(token));
    }

private:
    // One OpenSSL call, repeated when the socket is ready for what it wants. Every completion
    // goes through the executor, as Asio's own socket operations do, never from inside the
    // initiating call.
    template <typename Call> struct operation {
        tls_stream& stream;
        Call call;
        // A read with nothing buffered in OpenSSL waits for the socket first. Trying it first,
        // as a plain socket read does, costs a read() that finds nothing whenever the client has
        // not sent yet (the usual case between requests), and the wait after it costs Asio an
        // epoll_ctl all the same (a readiness wait re-arms the descriptor).
        bool wait_first;
        bool started = false;

        template <typename Self> void operator()(Self& self, error_code ec = {}) {
            const bool first = !started;
            started = true;
            if (first && wait_first && SSL_has_pending(stream.ssl_) == 0) {
                stream.socket_.async_wait(socket_type::wait_read, std::move(self));
                return;
            }
            std::size_t done = 0;
            if (!ec) {
                ERR_clear_error();
                errno = 0; // a socket error is told by errno alone (SSL_ERROR_SYSCALL)
                const int result = call(stream.ssl_, done);
                if (result <= 0) {
                    const int why = SSL_get_error(stream.ssl_, result);
                    if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) {
                        stream.socket_.async_wait(why == SSL_ERROR_WANT_READ
                                                      ? socket_type::wait_read
                                                      : socket_type::wait_write,
                                                  std::move(self));
                        return;
                    }
                    ec = error_of(why);
                    done = 0;
                }
            }
            if (first) {
                boost::asio::post(
                    stream.socket_.get_executor(),
                    [self = std::move(self), ec, done]() mutable { self.complete(ec, done); });
                return;
            }
            self.complete(ec, done);
        }
    };

    template <typename Call, typename Token>
    auto run(Call call, Token&& token, bool wait_first = false) {
        return boost::asio::async_compose<Token, void(error_code, std::size_t)>(
            operation<Call>{*this, std::move(call), wait_first}, token, socket_);
    }

    static error_code error_of(int why) {
        namespace error = boost::asio::error;
        if (why == SSL_ERROR_ZERO_RETURN) {
            return error::eof;
        }
        if (why == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            return errno != 0 ? error_code(errno, boost::system::system_category())
                              : error_code(boost::asio::ssl::error::stream_truncated);
        }
        const unsigned long e = ERR_get_error();
        ERR_clear_error();
        if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            return boost::asio::ssl::error::stream_truncated;
        }
        return {static_cast<int>(e), error::get_ssl_category()};
    }

    template <typename Buffers> static boost::asio::mutable_buffer first_buffer(const Buffers& b) {
        for (auto it = boost::asio::buffer_sequence_begin(b);
             it != boost::asio::buffer_sequence_end(b); ++it) {
            if (it->size() > 0) {
                return *it;
            }
        }
        return {};
    }

    // One TLS record's worth, per worker thread. A write that must wait keeps no pointer into
    // it: OpenSSL holds the encrypted record, and the retry gathers the same bytes again
    // (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
    static std::array<char, 16384>& gather_space() {
        thread_local std::array<char, 16384> space;
        return space;
    }

    socket_type socket_;
    SSL* ssl_;
};

} // namespace fulcrum::proxy::detail
