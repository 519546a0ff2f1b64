#pragma once

#include "app/node_health.hpp"
#include "config/config.hpp"
#include "failover/controller.hpp"
#include "failover/reserved_ip.hpp"
#include "http/client.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <prometheus/collectable.h>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>

namespace fulcrum {

// The built-in failover controller at work, on the control thread (docs/failover.md): once per
// `failover.interval` it judges this node's health, asks the peer's /healthz, and feeds both to
// failover::controller; the actions it returns (hooks, assigning and checking the reserved IP) run
// one after another, in order, and report back.
//
// Metrics: fulcrum_failover_role{role}, fulcrum_failover_transitions_total{from,to},
// fulcrum_failover_peer_up, fulcrum_failover_hook_runs_total{hook,result} and, with
// reserved_ip, fulcrum_reserved_ip_holder_is_self (once the holder is known).
class failover_agent {
public:
    // `self` says how this node is now. Throws std::runtime_error at start-up for a token file
    // that cannot be used.
    failover_agent(boost::asio::io_context& control, const config::failover& settings,
                   std::function<node_health()> self);

    void start();
    void stop();

    failover_status status() const;
    std::shared_ptr<prometheus::Collectable> metrics() const;

private:
    class collectable;

    boost::asio::awaitable<void> watch();
    boost::asio::awaitable<void> work();
    boost::asio::awaitable<failover::observation> observe();
    boost::asio::awaitable<failover::output> run(const failover::action& a);
    boost::asio::awaitable<std::optional<std::int64_t>> this_droplet();
    void handle(failover::output out);

    boost::asio::io_context& control_;
    const config::failover& settings_;
    std::function<node_health()> self_;
    failover::controller controller_;
    http::http_client peer_client_;
    std::unique_ptr<failover::reserved_ip_client> reserved_ip_;
    std::optional<std::int64_t> droplet_id_;
    std::deque<failover::action> queue_;
    std::optional<failover::action> running_;
    boost::asio::steady_timer tick_timer_;
    boost::asio::steady_timer queue_signal_;
    bool stopped_ = false;

    // For the metrics, written and read on the control thread only.
    std::map<std::pair<failover::role, failover::role>, std::uint64_t> transitions_;
    std::map<std::pair<failover::hook, bool>, std::uint64_t> hook_runs_;
    std::optional<bool> holder_is_self_;
    std::shared_ptr<prometheus::Collectable> metrics_;
};

} // namespace fulcrum
