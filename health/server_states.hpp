#pragma once

#include "config/config.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace fulcrum::health {

// What an operator set: READY takes traffic; DRAIN takes no new requests (in-flight ones
// finish, kept-alive connections close after their current response); MAINT is out of
// rotation while its checks keep running.
enum class admin_state : std::uint8_t { ready = 0, drain = 1, maint = 2 };
std::string_view to_string(admin_state s); // "ready", "drain", "maint"
std::optional<admin_state> parse_admin_state(std::string_view text);

// What passive observation saw, for the log line of the DOWN it caused. The gateway errors
// (passive.gateway_errors) say which one came last.
enum class transition_cause : std::uint8_t {
    passive_connect,
    passive_5xx,
    passive_closed,   // the connection closed or reset before a complete response
    passive_invalid,  // a response the parser refused
    passive_timed_out // the server quiet past timeouts.server
};

// The state of every server, published lock-free to the workers. Written by the control
// thread (checks, admin API) and, for passive observation, by workers; read by workers for
// every request. Indexed by (backend, server) as in the config.
class server_states {
public:
    explicit server_states(const config::config& cfg);

    bool up(std::size_t backend, std::size_t server) const;
    admin_state admin(std::size_t backend, std::size_t server) const;
    // UP and READY: the balancer may send it a new request.
    bool available(std::size_t backend, std::size_t server) const;

    void set_up(std::size_t backend, std::size_t server, bool up);
    void set_admin(std::size_t backend, std::size_t server, admin_state state);

    // Passive observation, from any worker. Each returns true when this observation crossed
    // the backend's threshold (config::passive_health) and marked the server DOWN; the caller
    // then logs it. A success resets the consecutive count.
    bool observe_connect(std::size_t backend, std::size_t server, bool ok);
    // A complete, valid response (or a 101): resets the gateway errors, and counts towards
    // server_errors when `status` is 500 or more.
    bool observe_response(std::size_t backend, std::size_t server, int status);
    // An exchange that failed on the server's side after the connect (docs/health-checks.md,
    // "Passive observation"); never one the client or fulcrum itself ended.
    bool observe_gateway_error(std::size_t backend, std::size_t server);

    // Set by observe_* when it marks a server DOWN, taken (and cleared) by the checker so that
    // its rise/fall tracker learns of it.
    bool take_passive_down(std::size_t backend, std::size_t server);
    // How many times passive observation has marked the server DOWN, for
    // fulcrum_server_transitions_total: counted where it happens, on whichever worker saw it.
    std::uint64_t passive_downs(std::size_t backend, std::size_t server) const;

private:
    struct slot {
        std::atomic<bool> up{true};
        std::atomic<std::uint8_t> admin{0};
        std::atomic<std::uint32_t> connect_failures{0};
        std::atomic<std::uint32_t> server_errors{0};
        std::atomic<std::uint32_t> gateway_errors{0};
        std::atomic<bool> passive_down{false};
        std::atomic<std::uint64_t> passive_downs{0};
    };
    // One more consecutive failure; true when it crossed `threshold` and turned UP into DOWN.
    static bool count_failure(slot& s, std::atomic<std::uint32_t>& count, unsigned threshold);
    std::size_t index(std::size_t backend, std::size_t server) const {
        return first_[backend] + server;
    }

    std::vector<std::size_t> first_;              // per backend: index of its first server
    std::vector<config::passive_health> passive_; // per backend
    std::unique_ptr<slot[]> slots_;
};

} // namespace fulcrum::health
