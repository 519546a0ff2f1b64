#pragma once

#include "app/node_health.hpp"
#include "config/config.hpp"
#include "health/checker.hpp"
#include "health/server_states.hpp"
#include "sli/service_windows.hpp"

#include <prometheus/collectable.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrum {

struct admin_reply {
    int status = 200;
    std::string content_type = "text/plain";
    std::string body;
};

// What the admin listener answers, apart from the HTTP transport:
//   GET  /healthz                                   this node's health as JSON (node_health):
//                                                   200 when healthy, 503 otherwise
//   GET  /metrics                                   Prometheus text format
//   GET  /sli                                       the direct SLI of every service, as JSON
//   GET  /admin/servers                             every server's state, as JSON
//   POST /admin/backends/{b}/servers/{s}/state      {"state": "ready|drain|maint"}, with
//                                                   Authorization: Bearer <admin token>
class admin_api {
public:
    // An empty `token` disables the mutating calls (403).
    admin_api(const config::config& cfg, health::server_states& states,
              const health::checker& checker, const sli::meter& meter,
              const sli::service_windows& windows, std::string token,
              std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

    admin_reply handle(std::string_view method, std::string_view path,
                       std::string_view authorization, std::string_view body) const;
    void set_draining() { draining_ = true; }
    bool draining() const { return draining_; }
    // Where this node stands in its failover pair, for /healthz.
    void report_failover(std::function<failover_status()> status) {
        failover_status_ = std::move(status);
    }

private:
    admin_reply servers() const;
    admin_reply set_state(std::string_view path, std::string_view authorization,
                          std::string_view body) const;
    admin_reply metrics() const;
    admin_reply sli() const;

    const config::config& cfg_;
    health::server_states& states_;
    const health::checker& checker_;
    const sli::meter& meter_;
    const sli::service_windows& windows_;
    std::string token_;
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
    bool draining_ = false;
    std::function<failover_status()> failover_status_;
};

// The admin token from `path`: refused (std::runtime_error saying why) when the file cannot
// be read, is empty, or can be read by group or others.
std::string read_admin_token(const std::string& path);

} // namespace fulcrum
