#include "app/health_command.hpp"

#include "app/node_health.hpp"
#include "http/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

namespace fulcrum {

namespace {

namespace asio = boost::asio;

// /healthz is a line per frontend; more than this is not fulcrum answering.
constexpr std::size_t max_body = 64 * 1024;

http::http_result fetch(const std::string& url, config::duration timeout) {
    asio::io_context context(1);
    http::http_client client({.ca_file = {}, .max_body_bytes = max_body});
    http::http_result result;
    asio::co_spawn(
        context,
        [&]() -> asio::awaitable<void> {
            http::http_request request;
            request.url = url;
            request.timeout = timeout;
            result = co_await client.send(std::move(request));
        },
        asio::detached);
    context.run();
    return result;
}

} // namespace

health_verdict check_node_health(const config::config& cfg, config::duration timeout) {
    const auto& bind = cfg.admin.bind;
    if (bind.port == 0) {
        return {health_usage_error,
                "admin.bind " + bind.to_string() + " has no fixed port: there is nothing to ask"};
    }
    boost::system::error_code ec;
    auto address = asio::ip::make_address(bind.host, ec);
    if (ec) {
        return {health_usage_error, "admin.bind " + bind.to_string() + ": " + ec.message()};
    }
    if (address.is_unspecified()) {
        address = address.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                                  : asio::ip::address(asio::ip::address_v6::loopback());
    }
    const auto where = config::endpoint{address.to_string(), bind.port}.to_string();
    const auto answer = fetch("http://" + where + "/healthz", timeout);
    if (!answer.ok()) {
        return {health_unreachable,
                (answer.refused ? "not running: " : "not answering: ") + answer.error};
    }
    const int status = answer.response.status;
    const auto health =
        status == 200 || status == 503 ? parse_node_health(answer.response.body) : std::nullopt;
    if (!health) {
        return {health_unreachable, "not answering: " + where + " answered " +
                                        std::to_string(status) +
                                        " to GET /healthz, without fulcrum's health report (is "
                                        "it fulcrum's admin listener?)"};
    }
    return {health->healthy() ? health_ok : health_unhealthy, summary(*health)};
}

} // namespace fulcrum
