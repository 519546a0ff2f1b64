#pragma once

#include "health/server_states.hpp"
#include "proxy/detail/deadline.hpp"
#include "proxy/detail/ends.hpp"
#include "proxy/detail/exchange.hpp"
#include "proxy/detail/phases.hpp"
#include "proxy/detail/upstream_stream.hpp"

#include "proxy/detail/tls_stream.hpp"
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list_hook.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace fulcrum::tls {
class server_contexts;
}

namespace fulcrum::proxy {
class worker;
}

namespace fulcrum::proxy::detail {

// What the worker sees of a session: its place in the worker's list, and the calls made to
// it at shutdown (on the worker's thread).
class session_base : public boost::intrusive::list_base_hook<
                         boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    virtual ~session_base() = default;
    // Closes the connection if it is idle between requests; a busy one closes after its
    // response.
    virtual void drain() = 0;
    // Ends an upgraded connection now: the shutdown grace is over.
    virtual void end_tunnel() = 0;
    // Drops a coroutine that waits on the session itself, when the worker stops without
    // running it to its end.
    virtual void abandon() = 0;
};

// A client connection of a frontend's tls.bind is a tls_stream (tls_stream.hpp).
template <typename Stream> inline constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

// One client connection, from accept to close, on one worker, over a client stream of type
// `Stream` (a TCP socket; a TLS stream plugs in here). Its requests go through the phases of
// phases.hpp in the order exchange() reads from top to bottom; the session adds what the
// phases leave out: routing, choosing and connecting a server, the answers fulfilled by fulcrum
// itself, metering, and what a client leaving means (docs/sli.md, "aborted").
template <typename Stream>
class session final : public session_base, public std::enable_shared_from_this<session<Stream>> {
public:
    using clock = std::chrono::steady_clock;

    // `peer`: the client's address, as accept() reported it.
    session(worker& owner, Stream client, const boost::asio::ip::tcp::endpoint& peer,
            std::size_t frontend);

    // `certificates`: for a TLS session, what its handshake starts from, held as long as the
    // connection since OpenSSL's callbacks (SNI, session tickets) refer to it; null for a
    // plain one.
    boost::asio::awaitable<void> run(std::shared_ptr<const tls::server_contexts> certificates);
    void drain() override;
    void end_tunnel() override;
    void abandon() override;

private:
    enum class outcome { keep_alive, close };
    struct upstream {
        upstream_stream stream;
        std::size_t server;
        bool reused;
    };

    // TLS sessions (tls.cpp): the handshake, metered; the close_notify before the close.
    boost::asio::awaitable<bool> handshake();
    boost::asio::awaitable<void> close_notify();
    boost::asio::awaitable<void> serve_requests(std::unique_ptr<exchange>& x);
    // A serve_requests() that threw: see session.cpp.
    void failed(const std::exception& e);
    boost::asio::awaitable<outcome> serve(exchange& x);
    boost::asio::awaitable<outcome> exchange_with(exchange& x, std::size_t backend);
    // Leaves a connection to a server of the backend in upstream_, trying the next servers
    // when a connect is refused or times out; false when none could be reached.
    boost::asio::awaitable<bool> connect(std::size_t backend, bool allow_pooled);
    // A new connection to the server in upstream_: TCP, then the TLS handshake for a backend
    // with `tls`. The error, if any, and whether it came from the handshake.
    boost::asio::awaitable<error_code> open(std::size_t backend, std::size_t server,
                                            bool& in_handshake);
    void connect_failed(std::size_t backend, std::size_t server, const error_code& ec,
                        bool in_handshake);
    boost::asio::awaitable<pump_result> send_request(exchange& x, std::size_t backend);
    boost::asio::awaitable<outcome> request_failed(const pump_result& sent, exchange& x,
                                                   std::size_t backend, std::size_t server);
    boost::asio::awaitable<outcome> response_failed(response_head_result got, exchange& x,
                                                    std::size_t backend, std::size_t server);
    boost::asio::awaitable<outcome> relay_response(exchange& x, std::size_t backend);
    boost::asio::awaitable<outcome> relay_tunnel(exchange& x, std::size_t backend);
    // Sends one of fulcrum's own answers; the connection is closed after it.
    boost::asio::awaitable<outcome> answer(int status, std::size_t target);
    // A plain-HTTP request on a frontend or route with `redirect`: its https:// Location.
    boost::asio::awaitable<outcome> redirect(exchange& x, const config::redirect& to,
                                             std::size_t backend);
    boost::asio::awaitable<void> linger(byte_buffer& scratch);

    client_end<Stream> client_side();
    server_end<upstream_stream> server_side(std::size_t backend);
    // The client went away before its response was complete: counted as aborted.
    outcome client_gone();
    // Passive observation of the server's part in the exchange; log a DOWN they cause.
    void observe_response(std::size_t backend, std::size_t server, int status);
    void observe_gateway_error(std::size_t backend, std::size_t server,
                               health::transition_cause why);
    // Counts the response to the request being served, with its latency so far.
    void record(std::size_t target, int status);
    void close_upstream();

    // Called by the client reader when the client closes while the server works.
    static void on_client_closed(void* self, const error_code& ec);
    static void on_client_deadline(void* self);
    static void on_server_deadline(void* self);

    worker& worker_;
    const config::frontend& frontend_;
    std::size_t frontend_index_;
    std::size_t service_ = 0;         // the SLI service of the request being served
    clock::time_point request_start_; // its first byte was seen then
    Stream client_;
    std::string client_address_;
    client_reader<Stream> reader_;
    deadline client_deadline_;
    deadline server_deadline_;
    std::optional<upstream> upstream_;
    exchange* current_ = nullptr; // the exchange of the request being served
    // What a client's FIN means depends on its current request: see on_client_closed().
    bool request_keep_alive_ = true;
    bool client_left_ = false; // the client closed or reset while the server worked
    bool half_closed_ = false; // the client closed its sending side but may still read
    bool idle_ = false;        // between requests: a drain may close the connection
    bool busy_ = false;        // a request has arrived and is not answered yet
    bool linger_ = false;      // an own answer was sent: drain the client's bytes before closing
    bool in_tunnel_ = false;
    bool secured_ = false; // a TLS session whose handshake succeeded
};

extern template class session<boost::asio::ip::tcp::socket>;
extern template class session<tls_stream>;

} // namespace fulcrum::proxy::detail
