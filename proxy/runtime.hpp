#pragma once

#include "config/config.hpp"
#include "proxy/balancer.hpp"
#include "tls/client_context.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrum::proxy {

// Everything a worker needs to serve requests, built once from a validated config and then
// only read: addresses already parsed, one balancer per backend, the TLS contexts of the
// backends with `tls`.
struct runtime {
    // Throws tls::setting_error when a backend's CA or client certificate cannot be loaded
    // (tls::check, run first, reports it located).
    explicit runtime(config::config cfg);

    config::config cfg;
    std::vector<std::unique_ptr<balancer>> balancers;                          // per backend
    std::vector<std::vector<boost::asio::ip::tcp::endpoint>> server_addresses; // per backend
    // Per frontend: its Strict-Transport-Security header line (CRLF included) for responses
    // over TLS; empty without tls.hsts.
    std::vector<std::string> hsts_headers;
    // Per backend; null for plain TCP to its servers.
    std::vector<std::shared_ptr<const tls::client_context>> upstream_tls;
};

struct route_match {
    std::size_t backend;
    std::size_t route; // index into frontend.routes, or no_route for the default backend
};
inline constexpr std::size_t no_route = static_cast<std::size_t>(-1);

// The first route whose host (case-insensitive, without port) and path prefix both match;
// otherwise the frontend's default backend.
route_match route_request(const config::frontend& frontend, std::string_view host,
                          std::string_view path);

boost::asio::ip::tcp::endpoint to_tcp(const config::endpoint& address);

} // namespace fulcrum::proxy
