#include "proxy/connection_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <stdexcept>

namespace fulcrum::proxy {

namespace {

// The reserve, in descriptors: what fulcrum needs besides client connections and their
// servers. docs/operations.md lists the same terms.
constexpr std::size_t process_fixed = 16; // stdio, the control thread's reactor, signals,
                                          // the admin listener, a state save
constexpr std::size_t control_calls = 8;  // failover: the peer, the cloud API, the metadata
                                          // service, TLS trust store, a hook's pipe and pidfd
constexpr std::size_t per_worker = 3;     // its reactor: epoll, eventfd, timerfd
// Per worker and frontend address: the listening socket, and one connection accepted but
// waiting for a slot.
constexpr std::size_t per_address = 2;

// Nineteen twentieths of the budget go to connections, two descriptors each; idle pooled
// server connections get the last twentieth. A larger pool share would cost maxconn, and an
// idle connection dropped for want of room only costs the next request a connect.
constexpr std::uint64_t connection_share = 19;
constexpr std::uint64_t shares = 20;

bool take(std::atomic<std::size_t>& count, std::size_t max) {
    // Sequentially consistent, as wait_begin() and release() are: see wait_begin().
    auto n = count.load();
    do {
        if (n >= max) {
            return false;
        }
    } while (!count.compare_exchange_weak(n, n + 1));
    return true;
}

} // namespace

descriptor_plan plan_descriptors(const config::config& cfg, std::size_t workers,
                                 std::uint64_t limit) {
    std::size_t addresses = 0;
    for (const auto& f : cfg.frontends) {
        addresses += f.bind.size();
    }
    std::size_t checked = 0;
    for (const auto& b : cfg.backends) {
        for (const auto& s : b.servers) {
            checked += s.check.enabled ? 1 : 0;
        }
    }
    descriptor_plan plan;
    plan.limit = limit;
    plan.reserve = process_fixed + config::admin::max_connections + control_calls +
                   workers * (per_worker + per_address * addresses) + checked;
    // Linux caps descriptors at fs.nr_open (at most 2^30); the cap keeps the product below in
    // range whatever getrlimit says.
    const std::uint64_t usable = std::min<std::uint64_t>(limit, std::uint64_t{1} << 31);
    const std::uint64_t budget = usable > plan.reserve ? usable - plan.reserve : 0;
    const auto derived = static_cast<std::size_t>(budget * connection_share / (2 * shares));
    if (cfg.global.maxconn == 0 && derived == 0) {
        throw std::runtime_error("the descriptor limit (" + std::to_string(limit) +
                                 ") leaves no room for a connection: fulcrum reserves " +
                                 std::to_string(plan.reserve) +
                                 " for itself; raise it (LimitNOFILE= in the unit, ulimit -n)");
    }
    plan.derived = cfg.global.maxconn == 0;
    plan.maxconn = plan.derived ? derived : cfg.global.maxconn;
    if (!plan.derived && 2 * plan.maxconn > budget) {
        plan.warnings.push_back(
            "global.maxconn " + std::to_string(plan.maxconn) + " needs " +
            std::to_string(2 * plan.maxconn + plan.reserve) + " descriptors, the limit is " +
            std::to_string(limit) + ": past about " + std::to_string(budget / 2) +
            " connections, accepts and connects will fail for want of descriptors (raise "
            "LimitNOFILE= or lower maxconn; without maxconn fulcrum derives " +
            std::to_string(derived) + ")");
    }
    const std::uint64_t pool = budget > 2 * plan.maxconn ? budget - 2 * plan.maxconn : 0;
    plan.pool_idle_per_worker = static_cast<std::size_t>(pool / workers);
    for (const auto& f : cfg.frontends) {
        if (f.maxconn > plan.maxconn) {
            plan.warnings.push_back("frontend " + f.name + ": maxconn " +
                                    std::to_string(f.maxconn) + " is above the global " +
                                    std::to_string(plan.maxconn) + ", which applies");
        }
        plan.frontend_maxconn.push_back(f.maxconn == 0 ? plan.maxconn
                                                       : std::min(f.maxconn, plan.maxconn));
    }
    return plan;
}

std::uint64_t raise_descriptor_limit() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            limit = raised;
        }
    }
    return limit.rlim_cur;
}

connection_limit::connection_limit(std::size_t maxconn,
                                   const std::vector<std::size_t>& frontend_maxconn)
    : max_(maxconn), frontends_(std::make_unique<per_frontend[]>(frontend_maxconn.size())) {
    for (std::size_t f = 0; f < frontend_maxconn.size(); ++f) {
        frontends_[f].max = frontend_maxconn[f];
    }
}

bool connection_limit::try_take(std::size_t frontend) {
    if (!take(open_, max_)) {
        return false;
    }
    auto& f = frontends_[frontend];
    if (!take(f.open, f.max)) {
        // Another acceptor may have found the process full meanwhile: it must hear of this.
        give_back(open_);
        return false;
    }
    return true;
}

void connection_limit::release(std::size_t frontend) {
    frontends_[frontend].open.fetch_sub(1);
    give_back(open_);
}

void connection_limit::give_back(std::atomic<std::size_t>& count) {
    count.fetch_sub(1);
    if (waiting_.load() != 0) {
        for (const auto& wake : wakers_) {
            wake();
        }
    }
}

// A waiting acceptor increments waiting_ then tries again; a release decrements its counter
// then reads waiting_. All four are sequentially consistent, so either the try sees the freed
// slot or the release sees the waiter and wakes it.
void connection_limit::wait_begin() {
    waiting_.fetch_add(1);
}

void connection_limit::wait_end() {
    waiting_.fetch_sub(1);
}

void connection_limit::add_waker(std::function<void()> wake) {
    wakers_.push_back(std::move(wake));
}

bool connection_limit::paused(std::size_t frontend) {
    auto& f = frontends_[frontend];
    f.pauses.fetch_add(1, std::memory_order_relaxed);
    return f.pause_episode.begins();
}

} // namespace fulcrum::proxy
