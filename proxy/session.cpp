#include "proxy/detail/session.hpp"

#include "proxy/detail/worker.hpp"

#include "health/checker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstdio>

namespace fulcrum::proxy::detail {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";
// How long, and how much, a refused request is read and discarded before the close.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 1024 * 1024;

auto with(error_code& ec) {
    return asio::redirect_error(asio::use_awaitable, ec);
}

std::string client_address_of(const tcp::socket& socket) {
    error_code ec;
    auto address = socket.remote_endpoint(ec).address();
    if (ec) {
        return {};
    }
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    return address.to_string();
}

} // namespace

session::session(worker& owner, tcp::socket client, std::size_t frontend)
    : worker_(owner), frontend_(owner.rt().cfg.frontends[frontend]), frontend_index_(frontend),
      client_(std::move(client)), client_address_(client_address_of(client_)),
      watchdog_timer_(client_.get_executor()) {
    error_code ignored;
    client_.set_option(tcp::no_delay(true), ignored);
}

void session::drain() {
    if (idle_) {
        error_code ignored;
        client_.cancel(ignored);
    }
}

void session::set_client_deadline(clock::duration timeout) {
    client_timed_out_ = false;
    client_deadline_ = clock::now() + timeout;
    if (client_deadline_ < watchdog_timer_.expiry()) {
        watchdog_timer_.cancel();
    }
}

void session::set_server_deadline(clock::duration timeout) {
    server_timed_out_ = false;
    server_deadline_ = clock::now() + timeout;
    if (server_deadline_ < watchdog_timer_.expiry()) {
        watchdog_timer_.cancel();
    }
}

session::outcome session::client_gone() {
    close_upstream();
    worker_.record_aborted(service_);
    return outcome::close;
}

void session::record(std::size_t target, int status) {
    worker_.record(frontend_index_, target, service_, status, request_start_);
}

void session::close_upstream() {
    if (upstream_) {
        error_code ignored;
        upstream_->socket.close(ignored);
        upstream_.reset();
    }
}

asio::awaitable<void> session::watchdog() {
    auto self = shared_from_this();
    while (!closed_) {
        watchdog_timer_.expires_at(std::min(client_deadline_, server_deadline_));
        error_code ec;
        co_await watchdog_timer_.async_wait(with(ec));
        if (closed_) {
            break;
        }
        const auto now = clock::now();
        if (client_deadline_ <= now) {
            clear_client_deadline();
            client_timed_out_ = true;
            error_code ignored;
            client_.cancel(ignored);
        }
        if (server_deadline_ <= now) {
            clear_server_deadline();
            server_timed_out_ = true;
            if (upstream_) {
                error_code ignored;
                upstream_->socket.cancel(ignored);
            }
        }
    }
}

asio::awaitable<void> session::run() {
    auto self = shared_from_this();
    asio::co_spawn(client_.get_executor(), watchdog(), asio::detached);

    // A new connection usually has its request on the way: read it at once. Between requests
    // the connection holds only a small buffer for the start of the next request: a read, not
    // a readiness wait, because Asio re-arms epoll (one epoll_ctl) for every wait but not for
    // a read on a socket it already knows to be drained.
    auto x = worker_.acquire_exchange(frontend_index_);
    while (!worker_.draining() || x) {
        if (!x) {
            idle_ = true;
            set_client_deadline(frontend_.keepalive_timeout);
            error_code ec;
            const auto n = co_await client_.async_read_some(asio::buffer(first_bytes_), with(ec));
            idle_ = false;
            if (ec || worker_.draining()) {
                break;
            }
            x = worker_.acquire_exchange(frontend_index_);
            x->from_client.append({first_bytes_.data(), n});
        }
        if (co_await serve_one(*x) == outcome::close) {
            break;
        }
        if (x->from_client.empty()) {
            worker_.release_exchange(frontend_index_, std::move(x));
        }
    }
    if (x) {
        worker_.release_exchange(frontend_index_, std::move(x));
    }
    close_upstream();
    if (linger_) {
        co_await linger();
    }
    closed_ = true;
    error_code ignored;
    client_.close(ignored);
    watchdog_timer_.cancel();
    worker_.session_closed(*this);
}

asio::awaitable<session::outcome> session::serve_one(exchange& x) {
    if (!co_await read_request_head(x)) {
        co_return outcome::close;
    }
    const auto& head = x.request.head();
    const auto match = route_request(frontend_, head.host(), head.path());
    const auto& meter = worker_.meter();
    service_ = match.route == no_route ? meter.service_of_backend(match.backend)
                                       : meter.service_of_route(frontend_index_, match.route);
    co_return co_await forward(x, match.backend);
}

asio::awaitable<bool> session::read_request_head(exchange& x) {
    auto& parser = x.request;
    parser.next_message();
    const auto unrouted = worker_.meter().target_of_backend(frontend_.default_backend);
    service_ = worker_.meter().service_of_backend(frontend_.default_backend);
    bool deadline_set = false;
    for (;;) {
        if (!x.from_client.empty()) {
            if (parser.idle() && worker_.metering()) {
                request_start_ = clock::now();
            }
            const auto r = parser.feed(x.from_client.readable());
            if (r.event == http::parse_event::error) {
                co_await answer(parser.error_status(), unrouted);
                co_return false;
            }
            x.from_client.consume(r.consumed);
            if (r.event == http::parse_event::head_done) {
                clear_client_deadline();
                co_return true;
            }
        }
        if (!deadline_set) {
            set_client_deadline(frontend_.http_request_timeout);
            deadline_set = true;
        }
        error_code ec;
        // Before the first byte of a request the connection is idle: a drain may close it.
        idle_ = parser.idle();
        const auto n = co_await client_.async_read_some(x.from_client.writable(), with(ec));
        idle_ = false;
        if (ec) {
            // A client that goes quiet mid-head is told so; one that never started a request,
            // or hung up, is not.
            if (client_timed_out_ && !parser.idle()) {
                co_await answer(408, unrouted);
            }
            co_return false;
        }
        x.from_client.commit(n);
    }
}

asio::awaitable<bool> session::connect(std::size_t backend, bool allow_pooled) {
    const auto& rt = worker_.rt();
    const auto& config = rt.cfg.backends[backend];
    auto& states = worker_.states();
    const auto available = [&](std::size_t s) { return states.available(backend, s); };
    // With no server UP and READY the answer is 503 at once, without a connect attempt.
    const auto first = rt.balancers[backend]->next(available);
    if (!first) {
        co_return false;
    }
    const std::size_t servers = config.servers.size();
    std::size_t attempts = 0;
    for (std::size_t k = 0; k < servers && attempts <= config.retries; ++k) {
        const std::size_t server = (*first + k) % servers;
        if (k > 0 && !available(server)) {
            continue;
        }
        ++attempts;
        if (allow_pooled) {
            if (auto pooled = worker_.pool().acquire(backend, server)) {
                upstream_.emplace(upstream{std::move(*pooled), server, true});
                co_return true;
            }
        }
        upstream_.emplace(upstream{tcp::socket(client_.get_executor()), server, false});
        set_server_deadline(config.connect_timeout);
        error_code ec;
        co_await upstream_->socket.async_connect(rt.server_addresses[backend][server], with(ec));
        const bool timed_out = server_timed_out_;
        clear_server_deadline();
        if (!ec) {
            states.observe_connect(backend, server, true);
            upstream_->socket.set_option(tcp::no_delay(true), ec);
            co_return true;
        }
        std::fprintf(stderr, "fulcrum: server %s/%s: connect failed: %s\n", config.name.c_str(),
                     config.servers[server].name.c_str(),
                     timed_out ? "timed out" : ec.message().c_str());
        if (states.observe_connect(backend, server, false)) {
            health::log_passive_down(rt.cfg, backend, server,
                                     health::transition_cause::passive_connect,
                                     config.passive.connect_failures);
        }
        close_upstream();
    }
    co_return false;
}

asio::awaitable<session::outcome> session::answer(int status, std::size_t target) {
    const auto response = http::error_response(status, true);
    set_client_deadline(frontend_.client_timeout);
    error_code ec;
    co_await asio::async_write(client_, asio::buffer(response), with(ec));
    clear_client_deadline();
    if (!ec) {
        record(target, status);
        linger_ = true;
    } else {
        worker_.record_aborted(service_);
    }
    co_return outcome::close;
}

asio::awaitable<void> session::linger() {
    // The client may still be sending the request we refused. Closing with unread bytes would
    // reset the connection and could destroy our answer before the client read it, so stop
    // sending, then read and discard for a moment, as nginx's lingering close does.
    error_code ec;
    client_.shutdown(tcp::socket::shutdown_send, ec);
    set_client_deadline(linger_time);
    std::size_t discarded = 0;
    while (!ec && discarded < linger_bytes) {
        discarded += co_await client_.async_read_some(asio::buffer(first_bytes_), with(ec));
    }
    clear_client_deadline();
}

asio::awaitable<session::outcome> session::forward(exchange& x, std::size_t backend) {
    const auto& config = worker_.rt().cfg.backends[backend];
    auto& meter = worker_.meter();
    const auto unserved = meter.target_of_backend(backend);
    auto& request = x.request;
    const auto& head = request.head();
    http::write_request_head(
        head, {.forwardfor = frontend_.forwardfor, .client_address = client_address_}, x.head_out);

    // Body bytes that arrived with the head are validated now so that they can leave with it.
    bool body_done = !head.has_body();
    std::size_t early_body = 0;
    if (!body_done && !x.from_client.empty()) {
        const auto r = request.feed(x.from_client.readable());
        if (r.event == http::parse_event::error) {
            co_return co_await answer(request.error_status(), unserved);
        }
        early_body = r.consumed;
        body_done = r.event == http::parse_event::message_done;
    }

    auto& response = x.response;
    error_code ec;
    // A kept-alive server connection may have been closed just as we reused it. Such a failure,
    // before any response byte and before any body byte, is retried once on a new connection.
    for (int attempt = 0;; ++attempt) {
        if (!upstream_ && !co_await connect(backend, attempt == 0)) {
            co_return co_await answer(503, unserved);
        }
        const bool replayable = upstream_->reused && attempt == 0 && early_body == 0 && body_done;

        set_server_deadline(config.server_timeout);
        const std::array<asio::const_buffer, 2> head_and_body{
            asio::buffer(x.head_out), asio::buffer(x.from_client.readable().data(), early_body)};
        co_await asio::async_write(upstream_->socket, head_and_body, with(ec));
        if (ec) {
            close_upstream();
            if (replayable) {
                continue;
            }
            co_return co_await answer(server_timed_out_ ? 504 : 502, unserved);
        }
        x.from_client.consume(early_body);

        if (!body_done && head.expect_continue() && early_body == 0 && !head.is_http10()) {
            set_client_deadline(frontend_.client_timeout);
            co_await asio::async_write(client_, asio::buffer(continue_100), with(ec));
            if (ec) {
                co_return client_gone();
            }
        }
        while (!body_done) {
            set_client_deadline(frontend_.client_timeout);
            const auto n = co_await client_.async_read_some(x.from_client.writable(), with(ec));
            if (ec) {
                close_upstream();
                if (client_timed_out_) {
                    co_return co_await answer(408, unserved);
                }
                co_return client_gone();
            }
            x.from_client.commit(n);
            const auto r = request.feed(x.from_client.readable());
            if (r.event == http::parse_event::error) {
                close_upstream();
                co_return co_await answer(request.error_status(), unserved);
            }
            set_server_deadline(config.server_timeout);
            co_await asio::async_write(upstream_->socket,
                                       asio::buffer(x.from_client.readable().data(), r.consumed),
                                       with(ec));
            if (ec) {
                close_upstream();
                co_return co_await answer(server_timed_out_ ? 504 : 502, unserved);
            }
            x.from_client.consume(r.consumed);
            body_done = r.event == http::parse_event::message_done;
        }
        clear_client_deadline();

        // The response head. Interim (1xx) responses are dropped: fulcrum has answered
        // 100-continue itself, and other interim responses are optional to forward.
        x.from_server.clear();
        response.next_message();
        response.expect_head_response(head.is_head_method());
        set_server_deadline(config.server_timeout);
        bool head_received = false;
        bool retry = false;
        while (!head_received) {
            if (!x.from_server.empty()) {
                const auto r = response.feed(x.from_server.readable());
                if (r.event == http::parse_event::error) {
                    std::fprintf(stderr, "fulcrum: server %s/%s: bad response: %.*s\n",
                                 config.name.c_str(),
                                 config.servers[upstream_->server].name.c_str(),
                                 static_cast<int>(response.error_reason().size()),
                                 response.error_reason().data());
                    close_upstream();
                    co_return co_await answer(502, unserved);
                }
                x.from_server.consume(r.consumed);
                if (r.event == http::parse_event::head_done) {
                    if (response.head().status() >= 200) {
                        head_received = true;
                        break;
                    }
                    response.next_message();
                    response.expect_head_response(head.is_head_method());
                }
                continue;
            }
            const auto n =
                co_await upstream_->socket.async_read_some(x.from_server.writable(), with(ec));
            if (ec) {
                const bool timed_out = server_timed_out_;
                close_upstream();
                if (!timed_out && replayable && response.idle()) {
                    retry = true;
                    break;
                }
                co_return co_await answer(timed_out ? 504 : 502, unserved);
            }
            x.from_server.commit(n);
        }
        if (retry) {
            continue;
        }
        break;
    }

    // The response: head rewritten, body streamed in its own framing.
    const auto& reply = response.head();
    const int status = reply.status();
    const std::size_t server = upstream_->server;
    const std::size_t target = meter.target_of_server(backend, server);
    auto& states = worker_.states();
    if (states.observe_status(backend, server, status)) {
        health::log_passive_down(worker_.rt().cfg, backend, server,
                                 health::transition_cause::passive_5xx,
                                 config.passive.server_errors);
    }
    const bool keep_client = head.keep_alive() && !reply.close_delimited() && !worker_.draining();
    http::write_response_head(reply, head.is_http10(), keep_client, x.head_out);

    bool response_done = !reply.has_body();
    std::size_t early_reply = 0;
    if (!response_done && !x.from_server.empty()) {
        const auto r = response.feed(x.from_server.readable());
        if (r.event == http::parse_event::error) {
            close_upstream();
            co_return co_await answer(502, unserved);
        }
        early_reply = r.consumed;
        response_done = r.event == http::parse_event::message_done;
    }
    set_client_deadline(frontend_.client_timeout);
    const std::array<asio::const_buffer, 2> reply_head_and_body{
        asio::buffer(x.head_out), asio::buffer(x.from_server.readable().data(), early_reply)};
    co_await asio::async_write(client_, reply_head_and_body, with(ec));
    if (ec) {
        co_return client_gone();
    }
    x.from_server.consume(early_reply);

    while (!response_done) {
        set_server_deadline(config.server_timeout);
        const auto n =
            co_await upstream_->socket.async_read_some(x.from_server.writable(), with(ec));
        if (ec == asio::error::eof && response.finish().event == http::parse_event::message_done) {
            break;
        }
        // A response cut short (the server closed, reset or went quiet, or sent a broken
        // body) reaches the client only as a closed connection. Its status line said
        // otherwise, but the client got no response: metered as the 502 or 504 fulcrum would
        // have answered before the head, so the SLI sees the failure.
        if (ec) {
            close_upstream();
            record(target, server_timed_out_ ? 504 : 502);
            co_return outcome::close;
        }
        x.from_server.commit(n);
        const auto r = response.feed(x.from_server.readable());
        if (r.event == http::parse_event::error) {
            close_upstream();
            record(target, 502);
            co_return outcome::close;
        }
        set_client_deadline(frontend_.client_timeout);
        co_await asio::async_write(
            client_, asio::buffer(x.from_server.readable().data(), r.consumed), with(ec));
        if (ec) {
            co_return client_gone();
        }
        x.from_server.consume(r.consumed);
        response_done = r.event == http::parse_event::message_done;
    }
    clear_client_deadline();
    clear_server_deadline();

    // A server being drained or taken out of rotation keeps no idle connection of ours.
    if (reply.keep_alive() && !reply.close_delimited() && x.from_server.empty() &&
        !worker_.draining() && states.available(backend, server)) {
        worker_.pool().release(backend, server, std::move(upstream_->socket));
        upstream_.reset();
    } else {
        close_upstream();
    }
    record(target, status);
    co_return keep_client ? outcome::keep_alive : outcome::close;
}

} // namespace fulcrum::proxy::detail
