#include "proxy/runtime.hpp"

#include <algorithm>
#include <cctype>

namespace fulcrum::proxy {

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

} // namespace

boost::asio::ip::tcp::endpoint to_tcp(const config::endpoint& address) {
    return {boost::asio::ip::make_address(address.host), address.port};
}

runtime::runtime(config::config c) : cfg(std::move(c)) {
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
}

route_match route_request(const config::frontend& frontend, std::string_view host,
                          std::string_view path) {
    for (std::size_t i = 0; i < frontend.routes.size(); ++i) {
        const auto& route = frontend.routes[i];
        if (!route.host.empty() && !equal_ignoring_case(route.host, host)) {
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
