#include "health/probe.hpp"

#include "base/asio.hpp"
#include "base/exhaustion.hpp"
#include "http/response_reader.hpp"
#include "tls/client_context.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

namespace fulcrum::health::detail {

namespace asio = boost::asio;
using base::with;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

namespace {

// Enough of a body to find a marker in a status page; a check must not download a file.
constexpr std::size_t max_body_bytes = 64 * 1024;

// A check that failed for want of fulcrum's own descriptors or memory has no verdict on the
// server (docs/operations.md, "Limits and exhaustion").
std::optional<outcome> own_failure(const error_code& ec, const probe_target& s) {
    const auto own = base::own_exhaustion(ec);
    if (!own) {
        return std::nullopt;
    }
    base::note_exhaustion(*own, base::exhausted_at::check, s.label);
    return outcome{failure::own, "not checked: fulcrum is out of resources (" + ec.message() + ")"};
}

// Reads the response to an HTTP check up to what decides it: the status, and the body when
// expect_body is set.
template <typename Stream>
asio::awaitable<outcome> read_response(const probe_target& s, Stream& stream) {
    const std::string& expect_body = s.check.expect_body;
    http::read_options options;
    options.head_request = s.check.method == "HEAD";
    options.max_body = max_body_bytes;
    options.truncate_body = true;
    options.want_body = [&](int status) { return s.expected(status) && !expect_body.empty(); };
    const auto r = co_await http::read_response(stream, std::move(options));
    if (r.failure == http::read_failure::io) {
        if (auto own = own_failure(r.io_error, s)) {
            co_return std::move(*own);
        }
    }
    if (r.failure == http::read_failure::closed_early) {
        co_return outcome{failure::protocol, "connection closed before a complete response"};
    }
    if (r.failure == http::read_failure::io) {
        co_return outcome{failure::protocol, "connection failed (" + r.io_error.message() + ")"};
    }
    if (r.failure == http::read_failure::bad_response) {
        co_return outcome{failure::protocol, "bad response: " + r.reason};
    }
    // With truncate_body, a long body is no failure: its first max_body_bytes are searched.
    if (!s.expected(r.response.status)) {
        co_return outcome{failure::status, "status " + std::to_string(r.response.status)};
    }
    if (expect_body.empty() || r.response.body.find(expect_body) != std::string::npos) {
        co_return outcome{};
    }
    co_return outcome{failure::body, "body does not contain '" + expect_body + "'" +
                                         (r.truncated ? " in its first 64 KiB" : "")};
}

// The request of an HTTP check and its response.
template <typename Stream>
asio::awaitable<outcome> exchange(const probe_target& s, Stream& stream) {
    error_code ec;
    co_await asio::async_write(stream, asio::buffer(s.request), with(ec));
    // Not a conditional expression: GCC 12 destroys a co_await inside one twice.
    if (auto own = own_failure(ec, s)) {
        co_return std::move(*own);
    }
    if (ec) {
        co_return outcome{failure::protocol, "connection failed (" + ec.message() + ")"};
    }
    co_return co_await read_response(s, stream);
}

// After the TCP connect: the TLS handshake, with the data plane's verification; a refused one
// is a failed connect, `detail` saying why.
asio::awaitable<outcome> over_tls(const probe_target& s, connection& c, std::string& detail) {
    auto handle = s.tls->new_connection(s.target.address());
    if (!handle) {
        co_return *own_failure(asio::error::no_memory, s);
    }
    c.tls.emplace(c.socket, handle.get());
    handle.release(); // the stream's now
    error_code ec;
    co_await c.tls->async_handshake(asio::ssl::stream_base::client, with(ec));
    if (auto own = own_failure(ec, s)) {
        co_return std::move(*own);
    }
    if (ec) {
        detail = tls::handshake_failure(c.tls->native_handle(), ec);
        co_return outcome{failure::connect, "TLS handshake failed"};
    }
    if (s.check.type == config::health_check::kind::http) {
        co_return co_await exchange(s, *c.tls);
    }
    co_return outcome{};
}

} // namespace

probe_target::probe_target(const config::backend& backend, const config::server& server,
                           std::shared_ptr<const tls::client_context> tls_context)
    : label(backend.name + "/" + server.name), check(server.check),
      target(asio::ip::make_address(server.address.host),
             check.port != 0 ? check.port : server.address.port),
      tls(std::move(tls_context)) {
    const std::string host = !check.host.empty()
                                 ? check.host
                                 : config::endpoint{server.address.host, target.port()}.to_string();
    request = check.method + " " + check.path + " HTTP/1.1\r\nHost: " + host +
              "\r\nUser-Agent: fulcrum-health-check\r\nConnection: close\r\n\r\n";
}

bool probe_target::expected(int status) const {
    return std::any_of(
        check.expect_status.begin(), check.expect_status.end(),
        [&](const config::status_range& r) { return status >= r.low && status <= r.high; });
}

void connection::abort() {
    error_code ignored;
    socket.close(ignored);
}

std::string milliseconds(steady::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

asio::awaitable<outcome> probe(const probe_target& s, std::shared_ptr<connection>& in_flight) {
    const auto executor = co_await asio::this_coro::executor;
    auto c = std::make_shared<connection>(executor);
    in_flight = c;
    // One timeout bounds the whole check (connect, handshake, request, response), not each
    // step: when it passes it closes the socket, and whatever the check was waiting for fails.
    asio::steady_timer watchdog(executor);
    watchdog.expires_after(s.check.timeout);
    watchdog.async_wait([c](error_code ec) {
        if (!ec) {
            c->timed_out = true;
            c->abort();
        }
    });
    const auto started = steady::now();

    outcome result;
    std::string detail; // of a failed connect, after its time
    error_code ec;
    co_await c->socket.async_connect(s.target, with(ec));
    if (auto own = own_failure(ec, s)) {
        result = std::move(*own);
    } else if (ec) {
        const bool refused = ec == asio::error::connection_refused;
        result = {failure::connect, refused ? "connect refused" : "connect failed"};
        detail = refused ? "" : ec.message();
    } else if (s.tls) {
        result = co_await over_tls(s, *c, detail);
    } else if (s.check.type == config::health_check::kind::http) {
        result = co_await exchange(s, c->socket);
    }
    watchdog.cancel();
    in_flight.reset();

    result.elapsed = steady::now() - started;
    // A status or body already read decides the check even if the time ran out after it.
    if (c->timed_out && (result.reason == failure::connect || result.reason == failure::protocol)) {
        result = {failure::timeout, "timed out after " + milliseconds(s.check.timeout),
                  result.elapsed};
    } else if (result.ok()) {
        result.text = "passed in " + milliseconds(result.elapsed);
    } else if (result.reason == failure::connect) {
        result.text += " after " + milliseconds(result.elapsed);
        if (!detail.empty()) {
            result.text += " (" + detail + ")";
        }
    }
    co_return result;
}

} // namespace fulcrum::health::detail
