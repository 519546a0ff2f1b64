#include "app/admin.hpp"

#include "base/asio.hpp"
#include "http/head.hpp"
#include "http/parser.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <string>

namespace fulcrum {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// Admin request bodies are a line of JSON; anything larger is refused.
constexpr std::size_t max_body = 4096;

std::string_view reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    default:
        return "Service Unavailable";
    }
}

std::string serialise(const admin_reply& reply, bool head_only, bool keep_alive) {
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                      std::string(reason(reply.status)) + "\r\n";
    out += "Content-Type: " + reply.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    out += "Cache-Control: no-cache\r\n";
    if (reply.status == 401) {
        out += "WWW-Authenticate: Bearer\r\n";
    }
    out += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
    if (!head_only) {
        out += reply.body;
    }
    return out;
}

} // namespace

admin_server::admin_server(asio::io_context& context, const tcp::endpoint& bind,
                           const admin_api& api)
    : context_(context), acceptor_(context, bind), api_(api) {}

void admin_server::start() {
    asio::co_spawn(context_, accept_loop(), asio::detached);
}

void admin_server::stop() {
    error_code ignored;
    acceptor_.close(ignored);
}

asio::awaitable<void> admin_server::accept_loop() {
    for (;;) {
        error_code ec;
        auto socket = co_await acceptor_.async_accept(base::with(ec));
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
    std::string body;
    for (;;) {
        parser.next_message();
        body.clear();
        int refusal = 0;
        bool head_seen = false;
        http::parse_result r;
        while (r.event != http::parse_event::message_done) {
            if (r.event == http::parse_event::need_more && begin == end) {
                error_code ec;
                begin = 0;
                end = co_await socket.async_read_some(asio::buffer(buffer), base::with(ec));
                if (ec) {
                    co_return;
                }
            }
            r = parser.feed({buffer.data() + begin, end - begin});
            if (r.event == http::parse_event::error) {
                const auto reply = http::error_response(parser.error_status(), true);
                error_code ec;
                co_await asio::async_write(socket, asio::buffer(reply), base::with(ec));
                co_return;
            }
            if (head_seen) {
                body.append(buffer.data() + begin, r.consumed);
            }
            begin += r.consumed;
            if (r.event == http::parse_event::head_done) {
                head_seen = true;
                // Bodies here are a line of JSON sent with Content-Length.
                if (parser.head().chunked()) {
                    refusal = 400;
                    break;
                }
                if (parser.head().content_length() > max_body) {
                    refusal = 413;
                    break;
                }
            }
        }
        if (refusal != 0) {
            const auto reply = http::error_response(refusal, true);
            error_code ec;
            co_await asio::async_write(socket, asio::buffer(reply), base::with(ec));
            co_return;
        }
        const auto& head = parser.head();
        const auto reply =
            api_.handle(head.method(), head.path(), head.find("Authorization"), body);
        const bool keep_alive = head.keep_alive();
        const auto out = serialise(reply, head.is_head_method(), keep_alive);
        error_code ec;
        co_await asio::async_write(socket, asio::buffer(out), base::with(ec));
        if (ec || !keep_alive) {
            co_return;
        }
    }
}

} // namespace fulcrum
