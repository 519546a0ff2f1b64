#include "proxy/runtime.hpp"

#include "http/head.hpp"

namespace fulcrum::proxy {

boost::asio::ip::tcp::endpoint to_tcp(const config::endpoint& address) {
    return {boost::asio::ip::make_address(address.host), address.port};
}

runtime::runtime(config::config c) : cfg(std::move(c)), upstream_tls(tls::client_contexts(cfg)) {
    for (const auto& backend : cfg.backends) {
        std::vector<unsigned> weights;
        std::vector<boost::asio::ip::tcp::endpoint> addresses;
        for (const auto& server : backend.servers) {
            weights.push_back(server.weight);
            addresses.push_back(to_tcp(server.address));
        }
        balancers.push_back(std::make_unique<balancer>(weights));
        server_addresses.push_back(std::move(addresses));
    }
    for (const auto& frontend : cfg.frontends) {
        std::string line;
        if (frontend.tls && frontend.tls->hsts) {
            const auto& hsts = *frontend.tls->hsts;
            line = "Strict-Transport-Security: max-age=" + std::to_string(hsts.max_age_seconds);
            if (hsts.include_subdomains) {
                line += "; includeSubDomains";
            }
            if (hsts.preload) {
                line += "; preload";
            }
            line += "\r\n";
        }
        hsts_headers.push_back(std::move(line));
    }
}

route_match route_request(const config::frontend& frontend, std::string_view host,
                          std::string_view path) {
    for (std::size_t i = 0; i < frontend.routes.size(); ++i) {
        const auto& route = frontend.routes[i];
        if (!route.host.empty() && !http::iequals(route.host, host)) {
            continue;
        }
        if (!path.starts_with(route.path_prefix)) {
            continue;
        }
        return {route.backend, i};
    }
    return {frontend.default_backend, no_route};
}

} // namespace fulcrum::proxy
