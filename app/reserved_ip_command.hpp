#pragma once

#include "config/config.hpp"

#include <string_view>

namespace fulcrum {

// `fulcrum reserved-ip status|assign -c FILE`: the controller's DigitalOcean client for other
// engines (keepalived's notify_master, scripts). Exit codes:
//   0  status: the IP is on this droplet; assign: it is now (or already was)
//   1  status: the IP is on another droplet, or on none
//   2  usage, or a configuration without failover.reserved_ip
//   3  the API or the metadata service failed (after the client's retries)
//   4  the API refused the token (401, 403)
int run_reserved_ip_command(std::string_view action, const config::config& cfg);

} // namespace fulcrum
