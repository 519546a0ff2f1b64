#pragma once

#include "config/config.hpp"
#include "health/server_states.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrum {

struct frontend_health {
    std::string name;
    bool listening = false;
    // Servers UP and READY among the backends the frontend routes to (its default_backend and
    // its routes' backends), each server counted once.
    std::size_t servers_up = 0;
};

// Whether this node can serve: what GET /healthz reports, what `fulcrum health` reads back,
// and what keepalived, Pacemaker and the failover controller act on.
// Where this node stands in its failover pair (config `failover`).
struct failover_status {
    std::string node;
    std::string role; // "ACTIVE", "PASSIVE" or "FAULT"
    unsigned priority = 0;
};

struct node_health {
    bool draining = false;
    std::vector<frontend_health> frontends;
    std::optional<failover_status> failover; // none without a failover section

    // Serving (not draining), and every frontend listens with at least one server to send to.
    bool healthy() const;
    std::string_view status() const; // "ok", "draining" or "unhealthy"
};

// This node's health now. Frontends listen from start-up (fulcrum exits when one cannot
// bind, before the admin listener opens) until a drain closes them, so `draining` decides
// `listening`.
node_health assess_health(const config::config& cfg, const health::server_states& states,
                          bool draining);

// {"status": "ok", "healthy": true, "frontends": [{"name": "http", "listening": true,
// "servers_up": 2}]}, one line; with failover also "node", "role" and "priority".
std::string to_json(const node_health& health);
// The same read back; nothing when `text` is not such an object.
std::optional<node_health> parse_node_health(std::string_view text);

// One line for a person or a log: "healthy: frontend http has 2 servers up", "unhealthy:
// frontend web has no server up", "draining: not accepting connections".
std::string summary(const node_health& health);

} // namespace fulcrum
