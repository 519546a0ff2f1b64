#pragma once

// Asio 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "proxy/detail/exchange.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list_hook.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace fulcrum::proxy {
class worker;
}

namespace fulcrum::proxy::detail {

// One client connection, from accept to close, on one worker.
//
// Timeouts: Asio 1.74 has no awaitable operators, so a watchdog coroutine sleeps until the
// earliest of two deadlines (client side, server side) and, when one passes, cancels the
// client's pending operation or closes the server connection; the request coroutine then
// sees the error and answers 408 or 504 where that is still possible.
class session : public std::enable_shared_from_this<session>,
                public boost::intrusive::list_base_hook<
                    boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    using clock = std::chrono::steady_clock;

    session(worker& owner, boost::asio::ip::tcp::socket client, std::size_t frontend);

    boost::asio::awaitable<void> run();
    // Called on the worker's thread when fulcrum is shutting down.
    void drain();

private:
    enum class outcome { keep_alive, close };
    struct upstream {
        boost::asio::ip::tcp::socket socket;
        std::size_t server;
        bool reused;
    };

    boost::asio::awaitable<void> watchdog();
    boost::asio::awaitable<outcome> serve_one(exchange& x);
    boost::asio::awaitable<bool> read_request_head(exchange& x);
    // Leaves a connection to a server of the backend in upstream_, trying the next servers
    // when a connect is refused or times out; false when none could be reached.
    boost::asio::awaitable<bool> connect(std::size_t backend, bool allow_pooled);
    boost::asio::awaitable<outcome> forward(exchange& x, std::size_t backend);
    // Sends one of fulcrum's own answers; the connection is closed after it.
    boost::asio::awaitable<outcome> answer(int status, std::size_t target);
    boost::asio::awaitable<void> linger();

    void set_client_deadline(clock::duration timeout);
    void set_server_deadline(clock::duration timeout);
    void clear_client_deadline() { client_deadline_ = clock::time_point::max(); }
    void clear_server_deadline() { server_deadline_ = clock::time_point::max(); }
    void close_upstream();
    // The client went away before its response was complete: counted as aborted.
    outcome client_gone();
    // Counts the response to the request being served, with its latency so far.
    void record(std::size_t target, int status);

    worker& worker_;
    const config::frontend& frontend_;
    std::size_t frontend_index_;
    std::size_t service_ = 0;         // the SLI service of the request being served
    clock::time_point request_start_; // its first byte was seen then
    boost::asio::ip::tcp::socket client_;
    std::string client_address_;
    std::optional<upstream> upstream_;
    std::array<char, 512> first_bytes_;
    boost::asio::steady_timer watchdog_timer_;
    clock::time_point client_deadline_ = clock::time_point::max();
    clock::time_point server_deadline_ = clock::time_point::max();
    bool client_timed_out_ = false;
    bool server_timed_out_ = false;
    bool idle_ = false;
    bool closed_ = false;
    bool linger_ = false;
};

} // namespace fulcrum::proxy::detail
