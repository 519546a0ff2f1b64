#include "app/admin.hpp"

#include "http/head.hpp"
#include "http/parser.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <prometheus/text_serializer.h>

#include <array>
#include <string>

namespace fulcrum {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string response(int status, std::string_view reason, std::string_view content_type,
                     std::string_view body, bool keep_alive) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
    out += "Content-Type: " + std::string(content_type) + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "Cache-Control: no-cache\r\n";
    out += keep_alive ? "" : "Connection: close\r\n";
    out += "\r\n";
    out += body;
    return out;
}

} // namespace

admin_server::admin_server(asio::io_context& context, const tcp::endpoint& bind,
                           std::vector<std::shared_ptr<prometheus::Collectable>> collectables)
    : context_(context), acceptor_(context, bind), collectables_(std::move(collectables)) {}

void admin_server::start() { asio::co_spawn(context_, accept_loop(), asio::detached); }

void admin_server::stop() {
    error_code ignored;
    acceptor_.close(ignored);
}

asio::awaitable<void> admin_server::accept_loop() {
    for (;;) {
        error_code ec;
        auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (!acceptor_.is_open()) {
            co_return;
        }
        if (!ec) {
            asio::co_spawn(context_, serve(std::move(socket)), asio::detached);
        }
    }
}

asio::awaitable<void> admin_server::serve(tcp::socket socket) {
    http::parser parser(http::parser::mode::request, config::limits{});
    std::array<char, 4096> buffer;
    std::size_t begin = 0;
    std::size_t end = 0;
    for (;;) {
        parser.next_message();
        bool complete = false;
        while (!complete) {
            if (begin == end) {
                error_code ec;
                begin = 0;
                end = co_await socket.async_read_some(
                    asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
                if (ec) {
                    co_return;
                }
            }
            const auto r = parser.feed({buffer.data() + begin, end - begin});
            begin += r.consumed;
            if (r.event == http::parse_event::error) {
                const auto reply = http::error_response(parser.error_status(), true);
                error_code ec;
                co_await asio::async_write(socket, asio::buffer(reply),
                                           asio::redirect_error(asio::use_awaitable, ec));
                co_return;
            }
            // Admin requests carry no body worth reading; a head is a whole request here.
            complete = r.event == http::parse_event::head_done ||
                       r.event == http::parse_event::message_done;
        }
        const auto& head = parser.head();
        const bool keep_alive = head.keep_alive() && !head.has_body();
        std::string reply;
        if (head.method() != "GET" && head.method() != "HEAD") {
            reply = response(405, "Method Not Allowed", "text/plain", "only GET is served here\n",
                             keep_alive);
        } else if (head.path() == "/healthz") {
            reply = draining_ ? response(503, "Service Unavailable", "text/plain", "draining\n",
                                         keep_alive)
                              : response(200, "OK", "text/plain", "ok\n", keep_alive);
        } else if (head.path() == "/metrics") {
            std::vector<prometheus::MetricFamily> families;
            for (const auto& c : collectables_) {
                auto more = c->Collect();
                families.insert(families.end(), std::make_move_iterator(more.begin()),
                                std::make_move_iterator(more.end()));
            }
            reply = response(200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                             prometheus::TextSerializer().Serialize(families), keep_alive);
        } else {
            reply = response(404, "Not Found", "text/plain",
                             "not found; try /healthz or /metrics\n", keep_alive);
        }
        if (head.is_head_method()) {
            reply.resize(reply.find("\r\n\r\n") + 4);
        }
        error_code ec;
        co_await asio::async_write(socket, asio::buffer(reply),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !keep_alive) {
            co_return;
        }
    }
}

} // namespace fulcrum
