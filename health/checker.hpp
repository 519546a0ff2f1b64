#pragma once

#include "config/config.hpp"
#include "health/server_states.hpp"
#include "sli/windows.hpp"

#include <boost/asio/io_context.hpp>
#include <prometheus/collectable.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace fulcrum::health {

namespace detail {
struct checker_state;
}

// The delay before a server's first check, given its check interval; must be in
// [0, interval). Spreading first checks keeps a large pool from being checked in lock-step.
using jitter_source = std::function<config::duration(config::duration interval)>;
// Uniform over [0, interval) in whole milliseconds.
jitter_source uniform_jitter(std::uint64_t seed);

// Active health checks (TCP connect, or an HTTP request) of every server with checks enabled,
// the rise/fall rule, the data-plane SLI (UP server-seconds over server-seconds, per backend)
// and their metrics. Everything runs on the control io_context's single thread, including
// server_report() and the metrics' Collect(), so none of it takes a lock.
//
// The checker copies what it needs from the config; `states` must outlive it and its metrics.
class checker {
public:
    struct report {
        bool checks_enabled = false; // false for `check: false`
        bool up = true;
        // The latest check's result in words: "passed in 2ms", "connect refused after 2ms",
        // "timed out after 1000ms", "status 503", "body does not contain 'ok'", ...;
        // "not checked yet" before the first, "checks disabled" with `check: false`.
        std::string last_check;
        // When the server last went UP or DOWN (checks or passive); the checker's start before.
        std::chrono::system_clock::time_point last_change;
    };

    checker(boost::asio::io_context& control, const config::config& cfg, server_states& states);
    checker(boost::asio::io_context& control, const config::config& cfg, server_states& states,
            jitter_source jitter);
    ~checker();
    checker(const checker&) = delete;
    checker& operator=(const checker&) = delete;

    // Starts the checks (each after its jitter) and the 1 s tick. Once.
    void start();
    // Cancels the checks in flight and the timers; no result is recorded after it.
    void stop();

    report server_report(std::size_t backend, std::size_t server) const;

    // A backend's data-plane availability windows (UP server-seconds over server-seconds),
    // for persistence (sli::state_file). On the control thread only.
    sli::window_counter& availability(std::size_t backend);

    // fulcrum_server_up, fulcrum_server_admin_state, fulcrum_server_check_duration_seconds,
    // fulcrum_server_check_failures_total, fulcrum_server_transitions_total,
    // fulcrum_sli_backend_availability_ratio. Collect() on the control thread only.
    std::shared_ptr<prometheus::Collectable> metrics() const;

private:
    // Shared with the check coroutines, which may outlive the checker until the io_context
    // runs their cancellation.
    std::shared_ptr<detail::checker_state> state_;
    std::shared_ptr<prometheus::Collectable> metrics_;
};

// Logs a passive DOWN on one line. Called by the worker whose server_states::observe_* call
// returned true, with the threshold that was crossed:
//   fulcrum: server app_pool/app-1 DOWN: 3 consecutive connect failures (passive)
//   fulcrum: server app_pool/app-1 DOWN: 5 consecutive 5xx responses (passive)
//   fulcrum: server app_pool/app-1 DOWN: 5 consecutive gateway errors, the last a response
//   timeout (passive)
// The transition itself is counted by server_states (passive_downs), for the metrics.
void log_passive_down(const config::config& cfg, std::size_t backend, std::size_t server,
                      transition_cause cause, unsigned count);

} // namespace fulcrum::health
