#include "app/reserved_ip_command.hpp"

#include "base/log.hpp"
#include "failover/reserved_ip.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <exception>

namespace fulcrum {

namespace {

namespace asio = boost::asio;
using failover::api_result;

int failure_code(const api_result& r) {
    return r.result == api_result::outcome::unauthorized ? 4 : 3;
}

int fail(const api_result& r) {
    std::printf("failed: %s\n", r.reason.c_str());
    return failure_code(r);
}

asio::awaitable<int> act(std::string_view action, failover::reserved_ip_client& client,
                         const std::string& ip) {
    const auto self = co_await client.this_droplet();
    if (!self.ok()) {
        co_return fail(self);
    }
    const std::string droplet = std::to_string(self.droplet_id);
    if (action == "assign") {
        const auto assigned = co_await client.assign(ip, self.droplet_id);
        if (!assigned.ok()) {
            co_return fail(assigned);
        }
        std::printf("%s %s droplet %s (this droplet)\n", ip.c_str(),
                    assigned.moved ? "assigned to" : "already on", droplet.c_str());
        co_return 0;
    }
    const auto held = co_await client.holder(ip);
    if (!held.ok()) {
        co_return fail(held);
    }
    if (!held.droplet_id) {
        std::printf("%s is assigned to no droplet (this droplet is %s)\n", ip.c_str(),
                    droplet.c_str());
        co_return 1;
    }
    const bool here = *held.droplet_id == self.droplet_id;
    std::printf("%s is on droplet %lld (%s)\n", ip.c_str(),
                static_cast<long long>(*held.droplet_id),
                here ? "this droplet" : ("not this droplet, which is " + droplet).c_str());
    co_return here ? 0 : 1;
}

} // namespace

int run_reserved_ip_command(std::string_view action, const config::config& cfg) {
    if (!cfg.failover || !cfg.failover->reserved_ip) {
        base::log("reserved-ip: the configuration has no failover.reserved_ip section");
        return 2;
    }
    const auto& configured = *cfg.failover->reserved_ip;
    std::unique_ptr<failover::reserved_ip_client> client;
    try {
        client = std::make_unique<failover::reserved_ip_client>(failover::settings_from(configured),
                                                                base::log);
    } catch (const std::exception& e) {
        base::log(e.what());
        return 2;
    }
    asio::io_context context(1);
    int code = 3;
    asio::co_spawn(
        context,
        [&]() -> asio::awaitable<void> {
            code = co_await act(action, *client, configured.address);
        },
        asio::detached);
    context.run();
    return code;
}

} // namespace fulcrum
