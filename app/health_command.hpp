#pragma once

#include "config/config.hpp"

#include <string>

namespace fulcrum {

// The exit codes of `fulcrum health`, a contract with keepalived's track_script and the OCF
// agent's monitor (deploy/).
enum health_exit : int {
    health_ok = 0,          // running and healthy
    health_unhealthy = 1,   // running, and says it is unhealthy or draining
    health_usage_error = 2, // bad arguments, or a configuration that does not load
    health_unreachable = 3, // nothing answers on the admin listener: not running, or hung
};

struct health_verdict {
    health_exit code = health_unreachable;
    std::string line; // "healthy: frontend http has 2 servers up", "not running: ..."
};

// Asks the admin listener of the fulcrum that runs `cfg` (admin.bind; a wildcard address is
// asked on loopback) for GET /healthz, giving up after `timeout`. Only fulcrum's own report
// (node_health's JSON, with 200 or 503) is a verdict; anything else counts as no answer.
health_verdict check_node_health(const config::config& cfg, config::duration timeout);

} // namespace fulcrum
