#pragma once

#include "base/exhaustion.hpp"
#include "config/config.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fulcrum::proxy {

// How the process's descriptors are shared out; the formula is in docs/operations.md
// ("Limits and exhaustion"). Every proxied connection needs two (client and server); idle
// pooled server connections get a share of their own; the reserve keeps the rest (health
// checks, the admin listener, state saves, hooks, the failover controller's calls) working
// when the data plane is at its limit.
struct descriptor_plan {
    std::uint64_t limit = 0; // RLIMIT_NOFILE in force
    std::size_t reserve = 0; // descriptors not for client connections and their servers
    std::size_t maxconn = 0; // client connections at once, over all frontends
    bool derived = true;     // maxconn came from the formula, not from global.maxconn
    std::vector<std::size_t> frontend_maxconn; // each at most maxconn
    std::size_t pool_idle_per_worker = 0;      // idle server connections a worker may keep
    // An explicit maxconn the limit cannot give, a frontend's above the global: logged at
    // start, fulcrum runs anyway (as HAProxy does).
    std::vector<std::string> warnings;
};

// Throws std::runtime_error when `limit` leaves no descriptor for a single connection.
descriptor_plan plan_descriptors(const config::config& cfg, std::size_t workers,
                                 std::uint64_t limit);

// Raises the soft RLIMIT_NOFILE to the hard one (as HAProxy and Go programs do: the soft
// limit of 1024 is for programs that use select()), and returns the soft limit now in force.
std::uint64_t raise_descriptor_limit();

// The maxconn of the process and of each frontend, shared by every worker. A connection takes
// a slot when it is accepted and gives it back when it closes: one atomic exchange of each
// counter per connection, none per request. An acceptor that finds no slot stops accepting
// (connections wait in the kernel's listen backlog) until a slot frees, in any worker.
class connection_limit {
public:
    connection_limit(std::size_t maxconn, const std::vector<std::size_t>& frontend_maxconn);

    // False, with nothing taken, when the process or the frontend is at its limit.
    bool try_take(std::size_t frontend);
    void release(std::size_t frontend);

    // An acceptor that waits for a slot: between wait_begin and wait_end every release wakes
    // the waiting acceptors through the wakers. wait_begin comes before the acceptor's last
    // try_take, so that a slot freed between that try and its wait is not missed.
    void wait_begin();
    void wait_end();
    // One per worker, added before the workers start; called on the releasing thread.
    void add_waker(std::function<void()> wake);

    // An acceptor of the frontend paused: counted; true when this begins an episode (to log).
    bool paused(std::size_t frontend);

    std::size_t maxconn() const { return max_; }
    std::size_t maxconn(std::size_t frontend) const { return frontends_[frontend].max; }
    std::size_t open() const { return open_.load(std::memory_order_relaxed); }
    std::size_t open(std::size_t frontend) const {
        return frontends_[frontend].open.load(std::memory_order_relaxed);
    }
    std::uint64_t pauses(std::size_t frontend) const {
        return frontends_[frontend].pauses.load(std::memory_order_relaxed);
    }

private:
    struct per_frontend {
        std::size_t max = 0;
        std::atomic<std::size_t> open{0};
        std::atomic<std::uint64_t> pauses{0};
        base::episode pause_episode;
    };
    void give_back(std::atomic<std::size_t>& count);

    const std::size_t max_;
    std::atomic<std::size_t> open_{0};
    std::unique_ptr<per_frontend[]> frontends_;
    std::atomic<unsigned> waiting_{0};
    std::vector<std::function<void()>> wakers_;
};

} // namespace fulcrum::proxy
