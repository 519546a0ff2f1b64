#pragma once

#include "config/config.hpp"
#include "proxy/detail/upstream_stream.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace fulcrum::proxy {

// One worker's idle keep-alive connections to servers, plain or TLS alike. Only its own worker
// touches it.
class upstream_pool {
public:
    using clock = std::chrono::steady_clock;

    // `max_idle` bounds the idle connections over all servers: the pool's share of the
    // descriptors (descriptor_plan::pool_idle_per_worker).
    upstream_pool(const config::config& cfg, std::size_t max_idle);

    // An idle connection to the server that is still open, or nothing. Connections past their
    // idle timeout, or that the server has closed or written to, are dropped on the way.
    std::optional<detail::upstream_stream> acquire(std::size_t backend, std::size_t server);
    // Keeps the connection for reuse unless the server already has max_idle_per_server or the
    // pool max_idle in all.
    void release(std::size_t backend, std::size_t server, detail::upstream_stream connection);
    // Closes connections idle for longer than their backend's idle_timeout.
    void expire(clock::time_point now);
    void clear();

private:
    struct idle_connection {
        detail::upstream_stream connection;
        clock::time_point idle_since;
    };
    struct per_backend {
        config::pool limits;
        std::vector<std::vector<idle_connection>> servers;
    };
    std::vector<per_backend> backends_;
    std::size_t max_idle_;
    std::size_t idle_ = 0;
};

} // namespace fulcrum::proxy
