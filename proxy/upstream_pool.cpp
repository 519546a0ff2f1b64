#include "proxy/upstream_pool.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace fulcrum::proxy {

namespace {

// A pooled connection is reusable only if the server has neither closed it nor sent anything
// unasked (over TLS, a close_notify); a non-blocking peek tells without consuming.
bool still_open(detail::upstream_stream& connection) {
    char byte;
    const auto n =
        ::recv(connection.lowest_layer().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

} // namespace

upstream_pool::upstream_pool(const config::config& cfg, std::size_t max_idle)
    : max_idle_(max_idle) {
    for (const auto& backend : cfg.backends) {
        per_backend b{backend.pool, {}};
        b.servers.resize(backend.servers.size());
        for (auto& idle : b.servers) {
            idle.reserve(backend.pool.max_idle_per_server);
        }
        backends_.push_back(std::move(b));
    }
}

std::optional<detail::upstream_stream> upstream_pool::acquire(std::size_t backend,
                                                              std::size_t server) {
    auto& b = backends_[backend];
    auto& idle = b.servers[server];
    const auto now = clock::now();
    while (!idle.empty()) {
        idle_connection candidate = std::move(idle.back());
        idle.pop_back();
        --idle_;
        // A connection back in the pool for less than a second is not probed (a syscall per
        // request): no server's keep-alive timeout is that short, and a request that still
        // meets a closed connection is retried once when it is safe to.
        const bool recently_used = now < candidate.idle_since + std::chrono::seconds(1);
        if (now < candidate.idle_since + b.limits.idle_timeout &&
            (recently_used || still_open(candidate.connection))) {
            return std::move(candidate.connection);
        }
        candidate.connection.close();
    }
    return std::nullopt;
}

void upstream_pool::release(std::size_t backend, std::size_t server,
                            detail::upstream_stream connection) {
    auto& b = backends_[backend];
    auto& idle = b.servers[server];
    if (idle.size() >= b.limits.max_idle_per_server || idle_ >= max_idle_) {
        connection.close();
        return;
    }
    idle.push_back({std::move(connection), clock::now()});
    ++idle_;
}

void upstream_pool::expire(clock::time_point now) {
    for (auto& b : backends_) {
        for (auto& idle : b.servers) {
            std::erase_if(idle, [&](idle_connection& c) {
                if (now < c.idle_since + b.limits.idle_timeout) {
                    return false;
                }
                c.connection.close();
                --idle_;
                return true;
            });
        }
    }
}

void upstream_pool::clear() {
    expire(clock::time_point::max());
}

} // namespace fulcrum::proxy
