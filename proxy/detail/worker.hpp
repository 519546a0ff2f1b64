#pragma once

#include "health/server_states.hpp"
#include "proxy/connection_limit.hpp"
#include "proxy/detail/deadline.hpp"
#include "proxy/detail/exchange.hpp"
#include "proxy/detail/session.hpp"
#include "proxy/runtime.hpp"
#include "proxy/upstream_pool.hpp"
#include "sli/meter.hpp"
#include "tls/server_contexts.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace fulcrum::proxy {

// One data-plane thread: its io_context, acceptors, sessions, upstream pool, deadlines and
// meter shard. Everything but start/drain/end_tunnels/stop/wake_acceptors runs on the
// worker's own thread.
class worker {
public:
    // `limit` is shared by all workers; `pool_idle` bounds this worker's idle server
    // connections (descriptor_plan::pool_idle_per_worker).
    // `tls`: per frontend, its TLS contexts (null without `tls`).
    worker(std::shared_ptr<const runtime> rt, sli::meter& meter, health::server_states& states,
           connection_limit& limit, std::size_t pool_idle, std::size_t index,
           std::vector<std::shared_ptr<const tls::server_contexts>> tls);
    ~worker();

    // `tls`: the connections accepted there start with a TLS handshake.
    boost::asio::ip::tcp::endpoint bind(std::size_t frontend,
                                        const boost::asio::ip::tcp::endpoint& address, bool tls);
    // From any thread: the worker takes them on its own thread, for its next handshakes.
    void replace_certificates(std::vector<std::shared_ptr<const tls::server_contexts>> tls);
    void start();
    void drain();
    // Ends every upgraded connection, so that each is metered before the worker stops.
    void end_tunnels();
    void stop();
    // A slot freed somewhere: acceptors waiting for one try again. From any thread.
    void wake_acceptors();

    // For sessions, on the worker's thread.
    const runtime& rt() const { return *runtime_; }
    const sli::meter& meter() const { return meter_; }
    // Everything the meter costs a request, the clock reads included, is behind metering(),
    // so that bench/ compares metering on and off for real.
    bool metering() const { return metering_; }
    void record(std::size_t frontend, std::size_t target, std::size_t service, int status,
                std::chrono::steady_clock::time_point started) {
        if (metering_) {
            record(frontend, target, service, status, std::chrono::steady_clock::now() - started);
        }
    }
    void record(std::size_t frontend, std::size_t target, std::size_t service, int status,
                std::chrono::steady_clock::duration latency) {
        if (metering_) {
            shard_.record(frontend, target, service, status, latency);
        }
    }
    void record_aborted(std::size_t service) {
        if (metering_) {
            shard_.record_aborted(service);
        }
    }
    void tunnel_opened(std::size_t frontend) {
        if (metering_) {
            shard_.record_tunnel_opened(frontend);
        }
    }
    void tunnel_closed(std::size_t frontend) {
        if (metering_) {
            shard_.record_tunnel_closed(frontend);
        }
    }
    void tls_handshake(std::size_t frontend, bool tls13, bool resumed) {
        if (metering_) {
            shard_.record_tls_handshake(frontend, tls13, resumed);
        }
    }
    void tls_failure(std::size_t frontend, sli::tls_failure reason) {
        if (metering_) {
            shard_.record_tls_failure(frontend, reason);
        }
    }
    upstream_pool& pool() { return pool_; }
    health::server_states& states() { return states_; }
    detail::deadline_queues& deadlines() { return deadlines_; }
    bool draining() const { return draining_; }
    std::unique_ptr<detail::exchange> acquire_exchange(std::size_t frontend);
    void release_exchange(std::size_t frontend, std::unique_ptr<detail::exchange> x);
    void session_closed(detail::session_base& s, std::size_t frontend);

private:
    struct acceptor {
        std::size_t frontend;
        bool tls;
        boost::asio::ip::tcp::acceptor socket;
        // Waited on while the acceptor is paused at the connection limit; cancelled to wake it.
        boost::asio::steady_timer resume;
    };

    boost::asio::awaitable<void> accept_loop(acceptor& a);
    // Paused at the connection limit until a slot frees; false when the worker drains.
    boost::asio::awaitable<bool> wait_for_slot(acceptor& a);
    boost::asio::awaitable<void> accept_failed(acceptor& a, const boost::system::error_code& ec);
    void spawn_session(const acceptor& a, boost::asio::ip::tcp::socket socket,
                       const boost::asio::ip::tcp::endpoint& peer);
    boost::asio::awaitable<void> housekeeping();
    void release_surplus_memory();
    void begin_drain();

    std::shared_ptr<const runtime> runtime_;
    // Per frontend; a session holds its frontend's for as long as it lives.
    std::vector<std::shared_ptr<const tls::server_contexts>> tls_;
    sli::meter& meter_;
    sli::meter::shard& shard_;
    health::server_states& states_;
    connection_limit& limit_;
    // Only this worker's thread does I/O on its sockets, so the reactor needs no per-socket lock;
    // posts from other threads (drain) stay safe.
    boost::asio::io_context context_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    // Declared after the context, so gone before it: the queues let go of the sessions'
    // deadlines, and the sessions go with the context's handlers.
    detail::deadline_queues deadlines_{context_};
    upstream_pool pool_;
    std::vector<std::unique_ptr<acceptor>> acceptors_;
    // Exchanges given back, per frontend; `low_water` is the fewest on the shelf since the last
    // release_surplus_memory(): that many went unused and are freed.
    struct exchange_shelf {
        std::vector<std::unique_ptr<detail::exchange>> free;
        std::size_t low_water = 0;
    };
    std::vector<exchange_shelf> free_exchanges_;
    boost::intrusive::list<detail::session_base, boost::intrusive::constant_time_size<false>>
        sessions_;
    boost::asio::steady_timer housekeeping_timer_{context_};
    bool draining_ = false;
    const bool metering_;
    std::thread thread_;
};

} // namespace fulcrum::proxy
