#include "app/health_command.hpp"

#include "app/node_health.hpp"
#include "http/parser.hpp"

// Asio 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace fulcrum {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// /healthz is a line per frontend; more than this is not fulcrum answering.
constexpr std::size_t max_body = 64 * 1024;

struct http_answer {
    int status = 0;
    std::string body;
    std::string error; // why there is no answer; empty when there is one
    bool connect_failed = false;
};

std::string describe(const tcp::endpoint& to) {
    return config::endpoint{to.address().to_string(), to.port()}.to_string();
}

// One GET on a fresh connection, its response read with the proxy's strict parser. The body
// is kept in its wire framing, which for the admin listener (Content-Length) is the body.
asio::awaitable<void> get(tcp::socket& socket, tcp::endpoint to, std::string target,
                          http_answer& out) {
    const std::string where = describe(to);
    error_code ec;
    co_await socket.async_connect(to, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.error = "cannot connect to " + where + ": " + ec.message();
        out.connect_failed = true;
        co_return;
    }
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + where +
                                "\r\nUser-Agent: fulcrum-health\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(request),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.error = "writing to " + where + " failed: " + ec.message();
        co_return;
    }
    http::parser parser(http::parser::mode::response, config::limits{});
    std::array<char, 4096> buffer;
    bool in_body = false;
    for (;;) {
        const std::size_t n = co_await socket.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::eof) {
            // Completes a body that ends with the connection; anything else is cut short.
            if (parser.finish().event == http::parse_event::message_done) {
                out.status = parser.head().status();
            } else {
                out.error = where + " closed the connection before a complete response";
            }
            co_return;
        }
        if (ec) {
            out.error = "reading from " + where + " failed: " + ec.message();
            co_return;
        }
        std::string_view data(buffer.data(), n);
        http::parse_result r;
        do {
            r = parser.feed(data);
            if (r.event == http::parse_event::error) {
                out.error = where + " sent no valid HTTP response (" +
                            std::string(parser.error_reason()) + ")";
                co_return;
            }
            if (in_body) {
                out.body.append(data.substr(0, r.consumed));
            }
            if (out.body.size() > max_body) {
                out.error = where + " sent more than 64 KiB";
                co_return;
            }
            if (r.event == http::parse_event::message_done) {
                out.status = parser.head().status();
                co_return;
            }
            in_body = in_body || r.event == http::parse_event::head_done;
            data.remove_prefix(r.consumed);
        } while (r.event != http::parse_event::need_more);
    }
}

http_answer fetch(const tcp::endpoint& to, const std::string& target, config::duration timeout) {
    asio::io_context context(1);
    tcp::socket socket(context);
    http_answer answer;
    asio::co_spawn(context, get(socket, to, target, answer), asio::detached);
    // Whatever is still pending when the time is up is abandoned with the context.
    context.run_for(timeout);
    if (answer.status == 0 && answer.error.empty()) {
        answer.error =
            describe(to) + " did not answer within " + std::to_string(timeout.count()) + " ms";
    }
    return answer;
}

} // namespace

health_verdict check_node_health(const config::config& cfg, config::duration timeout) {
    const auto& bind = cfg.admin.bind;
    if (bind.port == 0) {
        return {health_usage_error,
                "admin.bind " + bind.to_string() + " has no fixed port: there is nothing to ask"};
    }
    error_code ec;
    auto address = asio::ip::make_address(bind.host, ec);
    if (ec) {
        return {health_usage_error, "admin.bind " + bind.to_string() + ": " + ec.message()};
    }
    if (address.is_unspecified()) {
        address = address.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                                  : asio::ip::address(asio::ip::address_v6::loopback());
    }
    const tcp::endpoint to{address, bind.port};
    const auto answer = fetch(to, "/healthz", timeout);
    if (!answer.error.empty()) {
        return {health_unreachable,
                (answer.connect_failed ? "not running: " : "not answering: ") + answer.error};
    }
    const auto health = answer.status == 200 || answer.status == 503
                            ? parse_node_health(answer.body)
                            : std::nullopt;
    if (!health) {
        return {health_unreachable, "not answering: " + describe(to) + " answered " +
                                        std::to_string(answer.status) +
                                        " to GET /healthz, without fulcrum's health report (is "
                                        "it fulcrum's admin listener?)"};
    }
    return {health->healthy() ? health_ok : health_unhealthy, summary(*health)};
}

} // namespace fulcrum
